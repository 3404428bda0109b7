// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw companies sync | list | show
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/desired.h"
#include "nft/reconcile.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

namespace {

constexpr const char* kCompaniesState = "companies.json";

struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string set_name(bool v6) { return ruleset::names::list_set(ruleset::names::companies, v6); }

net::RangeList ranges_of(const ruleset::Set& s) {
    net::RangeList out;
    for (const auto& e : s.elements) out.push_back(ruleset::element_range(e));
    return net::normalize(out);
}

/// Live intervals that lose at least one address (a split counts, a merge does not).
size_t intervals_losing(const net::RangeList& live, const net::RangeList& want) {
    auto gone = net::subtract(live, want);
    size_t n = 0, j = 0;
    for (const auto& r : live) {
        while (j < gone.size() && gone[j].hi < r.lo) ++j;
        if (j < gone.size() && gone[j].lo <= r.hi) ++n;
    }
    return n;
}

// A half-empty source (truncated export, wrong database) must not strip most customers'
// exemptions at once.
void remove_guard(const policy::Companies& c, const ruleset::Table& want, const ruleset::Table& live) {
    size_t total = 0, removed = 0;
    for (bool v6 : {false, true}) {
        auto l = live.sets.find(set_name(v6));
        if (l == live.sets.end()) continue;
        auto have = ranges_of(l->second);
        total += have.size();
        removed += intervals_losing(have, ranges_of(want.sets.at(set_name(v6))));
    }
    if (total > 0 && removed * 100 > size_t(c.max_remove_percent) * total)
        throw Refused(fmt::format("companies sync would remove {} of the {} ranges in the kernel ({}%, more than "
                                  "companies.max_remove_percent {}%); refusing, nothing was changed. "
                                  "Use --force if this is right.",
                                  removed, total, removed * 100 / total, c.max_remove_percent));
}

std::pair<size_t, size_t> added_removed(const plan::Plan& p) {
    size_t add = 0, del = 0;
    for (const auto& op : p.ops) {
        if (op.verb == plan::Op::add_elements) add += op.elements.size();
        if (op.verb == plan::Op::delete_elements) del += op.elements.size();
    }
    return {add, del};
}

nlohmann::json companies_json(const companies::Loaded& l) {
    auto out = nlohmann::json::object();
    for (const auto& [id, c] : l.companies)
        out[std::to_string(id)] = {{"name", c.name}, {"ip_filter", c.ip_filter}, {"ranges", c.raw}};
    return out;
}

// What status shows: when the kernel sets were last brought in line, from what.
void record_sync(const Options& o, const Desired& d, std::pair<size_t, size_t> delta) {
    const auto& l = *d.companies;
    auto all = l.all();
    try {
        o.state.write_json(kCompaniesState,
                           {{"time", now_iso()}, {"source", l.source}, {"companies", l.companies.size()},
                            {"ranges", l.range_count()}, {"intervals_v4", all.v4.size()},
                            {"intervals_v6", all.v6.size()}, {"added", delta.first}, {"removed", delta.second},
                            {"warnings", l.warnings}, {"per_company", companies_json(l)}});
    } catch (const std::exception& e) {
        std::cerr << "warning: " << e.what() << "\n";
    }
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int cmd_companies_sync(const Options& o) {
    auto t0 = std::chrono::steady_clock::now();
    auto d = build_desired(o, OnSourceError::fail, Needs{false, true});
    if (!d.policy.companies) throw std::runtime_error(o.policy + ": the policy has no companies section");
    double read_ms = ms_since(t0);
    const auto& l = *d.companies;
    fmt::print("{}: {} companies, {} ranges ({} bad rows skipped), read in {:.1f} ms\n", l.source,
               l.companies.size(), l.range_count(), l.warnings.size(), read_ms);
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.scope = plan::Scope{std::set<std::string>{set_name(false), set_name(true)}};
    opt.before_commit = [&](const std::optional<ruleset::Table>& live, const plan::Plan&) {
        if (live && !o.force) remove_guard(*d.policy.companies, d.table, *live);
    };
    auto t1 = std::chrono::steady_clock::now();
    auto out = nft::reconcile(nl, d.table, opt);
    auto delta = added_removed(out.plan);
    if (out.plan.empty())
        fmt::print("company sets already up to date: +0 -0 elements, nothing sent\n");
    else
        fmt::print("company sets updated in one transaction: +{} -{} elements ({} messages, {} bytes, {:.1f} ms)\n",
                   delta.first, delta.second, out.stats.messages, out.stats.bytes, ms_since(t1));
    record_sync(o, d, delta);
    return exit_status(d, out);
}

namespace {

struct Listing {
    companies::Loaded loaded;
    std::optional<net::AddressSet> kernel;   // nullopt: table or sets not loaded
};

Listing read_listing(const Options& o) {
    auto p = load_policy(o);
    std::string source = o.source;
    if (source.empty() && p.companies) source = p.companies->source;
    if (source.empty()) throw std::runtime_error(o.policy + ": the policy has no companies section (or use --source)");
    Listing out{companies::load(source), std::nullopt};
    for (const auto& w : out.loaded.warnings) std::cerr << "warning: " << w << "\n";
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    uint32_t genid = 0;
    auto live = nl.read_table(p.table, &genid);
    if (!live || !live->sets.count(set_name(false)) || !live->sets.count(set_name(true))) return out;
    out.kernel = net::AddressSet{ranges_of(live->sets.at(set_name(false))), ranges_of(live->sets.at(set_name(true)))};
    return out;
}

bool in_kernel(const std::optional<net::AddressSet>& k, const std::string& raw) {
    auto p = net::parse_prefix(raw, nullptr);
    if (!k || !p) return false;
    const auto& have = p->addr.family == net::Family::v4 ? k->v4 : k->v6;
    return net::subtract({p->range()}, have).empty();
}

nlohmann::json company_json(const companies::Company& c, const Listing& l) {
    auto ranges = nlohmann::json::array();
    for (const auto& r : c.raw) ranges.push_back({{"range", r}, {"in_kernel", in_kernel(l.kernel, r)}});
    return {{"id", c.id}, {"name", c.name}, {"ip_filter", c.ip_filter}, {"ranges", ranges}};
}

void print_company(const companies::Company& c, const Listing& l) {
    size_t loaded = 0;
    for (const auto& r : c.raw) loaded += in_kernel(l.kernel, r);
    fmt::print("company {}{}{}: {} ranges, {} in the kernel\n", c.id, c.name.empty() ? "" : " " + c.name,
               c.ip_filter ? "" : " (ip_filter off: not loaded)", c.raw.size(), loaded);
    for (const auto& r : c.raw) fmt::print("  {:<43} {}\n", r, in_kernel(l.kernel, r) ? "in kernel" : "NOT in kernel");
}

int listing_status(const Listing& l) {
    if (!l.kernel) std::cerr << "note: the company sets are not loaded in the kernel (run `ivozfw apply`)\n";
    return l.loaded.warnings.empty() ? 0 : kExitWarnings;
}

}  // namespace

int cmd_companies_list(const Options& o) {
    auto l = read_listing(o);
    if (o.json) {
        auto arr = nlohmann::json::array();
        for (const auto& [id, c] : l.loaded.companies) arr.push_back(company_json(c, l));
        nlohmann::json j{{"source", l.loaded.source}, {"kernel_loaded", l.kernel.has_value()}, {"companies", arr},
                         {"warnings", l.loaded.warnings}};
        std::cout << j.dump(2) << "\n";
    } else {
        for (const auto& [id, c] : l.loaded.companies) print_company(c, l);
    }
    return listing_status(l);
}

int cmd_companies_show(const Options& o) {
    auto l = read_listing(o);
    auto it = l.loaded.companies.find(o.company_id);
    if (it == l.loaded.companies.end())
        throw std::runtime_error(fmt::format("company {} is not in {}", o.company_id, l.loaded.source));
    if (o.json) std::cout << company_json(it->second, l).dump(2) << "\n";
    else print_company(it->second, l);
    return listing_status(l);
}

}  // namespace ivozfw::cli
