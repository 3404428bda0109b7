// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw companies list | show (sync: sync_commands.cc)
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/desired.h"
#include "platform/platform.h"
#include "nft/reconcile.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

namespace {

std::string set_name(bool v6) { return ruleset::names::list_set(ruleset::names::companies, v6); }


}  // namespace

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
    Listing out{platform::load_companies(source), std::nullopt};
    for (const auto& w : out.loaded.warnings) std::cerr << "warning: " << w << "\n";
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    uint32_t genid = 0;
    auto live = nl.read_table(p.table, &genid);
    if (!live || !live->sets.count(set_name(false)) || !live->sets.count(set_name(true))) return out;
    out.kernel = net::AddressSet{ruleset::ranges_of(live->sets.at(set_name(false))), ruleset::ranges_of(live->sets.at(set_name(true)))};
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
    return {{"id", c.id}, {"name", c.name}, {"ip_filter", c.ip_filter}, {"trusted", c.trusted}, {"ranges", ranges}};
}

void print_company(const companies::Company& c, const Listing& l) {
    size_t loaded = 0;
    for (const auto& r : c.raw) loaded += in_kernel(l.kernel, r);
    fmt::print("company {}{}{}: {} ranges, {} in the kernel\n", c.id, c.name.empty() ? "" : " " + c.name,
               c.ip_filter ? "" : c.trusted ? " (ip_filter off: its kam_trusted addresses only)" : " (ip_filter off: not loaded)",
               c.raw.size(), loaded);
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
