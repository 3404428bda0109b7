// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/desired.h"
#include "platform/platform.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <ctime>
#include <iostream>
#include <set>

#include "nft/netlink.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

std::string now_iso() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::unique_ptr<nft::Kernel> open_kernel(const Options& o) {
    if (o.open_kernel) return o.open_kernel();
    return std::make_unique<nft::Netlink>();
}

nft::ReconcileOptions reconcile_options(const Options& o) {
    nft::ReconcileOptions opt;
    opt.lock_holder = o.command.empty() ? "ivozfw" : o.command;
    opt.deadline = std::chrono::milliseconds(o.retry_deadline_ms);
    try {
        o.state.ensure();
        opt.cache_path = o.state.file("elements.cache");
        opt.lock_path = o.state.file(kWriterLock);
        if (watch_running(o)) opt.cache_catch_up = std::chrono::milliseconds(1000);
    } catch (const std::exception& e) {
        // No writable state directory: every read dumps the elements, and there is no lock
        // to share with other ivozfw writers (the generation id still guards every commit).
        // A command that only reads needs neither; one that writes is told.
        static const std::set<std::string> readers = {"check", "diff", "export", "bans", "status", "explain",
                                                      "geoip lookup", "companies list", "companies show"};
        if (!readers.count(o.command))
            std::cerr << "ivozfw: warning: " << e.what()
                      << ": without the state directory there is no writers' lock (other ivozfw commands are not "
                         "kept out; each commit is still guarded by the ruleset generation) and no element cache\n";
    }
    return opt;
}

std::function<plan::Plan(const std::optional<ruleset::Table>&)> plan_as_apply(Desired& d) {
    return [&d](const std::optional<ruleset::Table>& live) {
        if (live) guard_removals(d, *live);
        return plan_keeping(d, live);
    };
}

int exit_status(const Desired& d, const nft::Outcome& out) {
    return d.warnings.empty() && out.warnings.empty() ? 0 : kExitWarnings;
}

void warn(Desired& d, const std::string& msg) {
    std::cerr << "warning: " << msg << "\n";
    d.warnings.push_back(msg);
}

policy::Policy load_policy(const Options& o) {
    std::vector<policy::Diagnostic> warnings;
    auto p = policy::load_file(o.policy, &warnings);
    for (const auto& w : warnings) std::cerr << w.str() << "\n";
    return p;
}

namespace {

void merge(net::AddressSet& into, const net::AddressSet& more) {
    into.v4.insert(into.v4.end(), more.v4.begin(), more.v4.end());
    into.v6.insert(into.v6.end(), more.v6.begin(), more.v6.end());
    into.normalize();
}

void keep(Desired& d, const std::string& base) { d.keep_live.insert(base); }

// The last good copy of a list a database or company source fills: what the source gave the
// last time it was read whole (and no removal guard held it), fsynced in the state directory.
// When the source cannot be read, apply (at boot too, with an empty kernel) loads it.
std::string last_good_file(const std::string& list) { return "last-good-" + list + ".json"; }

void save_last_good(const Options& o, const std::string& list, const std::string& source, const net::AddressSet& a) {
    auto ranges = [](net::Family f, const net::RangeList& l) {
        auto out = nlohmann::json::array();
        for (const auto& r : l) out.push_back(net::format_range(f, r));
        return out;
    };
    o.state.write_json(last_good_file(list), {{"list", list}, {"source", source}, {"time", now_iso()},
                                             {"v4", ranges(net::Family::v4, a.v4)},
                                             {"v6", ranges(net::Family::v6, a.v6)}});
}

// Merged into `into`, and said on stderr; a missing or unreadable copy is a warning (false).
bool load_last_good(const Options& o, Desired& d, const std::string& list, net::AddressSet& into) {
    std::string file = o.state.file(last_good_file(list));
    try {
        auto j = o.state.read_json(last_good_file(list));
        if (!j) {
            warn(d, fmt::format("no last good copy of {} ({}): it keeps what the kernel has", list, file));
            return false;
        }
        net::AddressSet a;
        for (const char* fam : {"v4", "v6"})
            for (const auto& r : j->at(fam)) {
                auto range = net::parse_range(r.get<std::string>());
                if (!range) throw std::runtime_error("not a range: " + r.dump());
                a.add(range->first, range->second);
            }
        a.normalize();
        std::cerr << fmt::format("note: loaded the last good copy of {} ({} ranges from {} at {}) from {}\n", list,
                                 a.v4.size() + a.v6.size(), j->value("source", "?"), j->value("time", "?"), file);
        merge(into, a);
        return true;
    } catch (const std::exception& e) {
        warn(d, fmt::format("the last good copy of {} ({}) is unreadable: {}", list, file, e.what()));
        return false;
    }
}

void load_last_good_companies(const Options& o, Desired& d) {
    net::AddressSet copy;
    if (!load_last_good(o, d, ruleset::names::companies, copy)) return;
    if (d.sources.companies) merge(*d.sources.companies, copy);
    else d.sources.companies = std::move(copy);
}


// Company ranges: the platform database's part or the companies source.
void load_companies(const Options& o, Desired& d, OnSourceError on_error) {
    std::string source = o.source.empty() ? d.policy.companies->source : o.source;
    try {
        d.companies = platform::load_companies(source);
        for (const auto& w : d.companies->warnings) warn(d, w);
        d.sources.companies = d.companies->all();
    } catch (const companies::SourceError& e) {
        if (on_error == OnSourceError::fail) throw;
        warn(d, std::string(e.what()) + "; the company ranges keep what the kernel has and their last good copy");
        keep(d, ruleset::names::companies);
        load_last_good_companies(o, d);
    }
}

// The platform database: company ranges and/or the lists, in one snapshot. Its lists are
// merged into the policy's, so every use of a list (exempt set, `from`, explain) sees them.
void load_platform(const Options& o, Desired& d, OnSourceError on_error, Needs needs) {
    bool companies = needs.companies && o.source.empty();
    if (needs.companies && !companies) load_companies(o, d, on_error);   // --source overrides
    if (!companies && !needs.platform_lists) return;
    try {
        d.platform = platform::load(d.policy.platform->database, platform::Parts{companies, needs.platform_lists});
    } catch (const companies::SourceError& e) {
        if (on_error == OnSourceError::fail) throw;
        std::vector<std::string> kept;
        if (companies) keep(d, ruleset::names::companies), kept.push_back("company ranges");
        if (needs.platform_lists)
            for (const char* l : {platform::kApplicationServers, platform::kCarriers}) keep(d, l), kept.push_back(l);
        warn(d, fmt::format("{}; the {} keep what the kernel has and their last good copy", e.what(),
                            fmt::join(kept, ", ")));
        if (companies) load_last_good_companies(o, d);
        if (needs.platform_lists)
            for (const char* l : {platform::kApplicationServers, platform::kCarriers})
                load_last_good(o, d, l, d.policy.lists[l]);
        return;
    }
    if (companies) {
        d.companies = std::move(d.platform->companies);
        d.platform->companies = {};
        for (const auto& w : d.companies->warnings) warn(d, w);
        d.sources.companies = d.companies->all();
    }
    for (const auto& w : d.platform->warnings) warn(d, w);
    if (needs.notes)
        for (const auto& n : d.platform->notes) std::cerr << "note: " << n << "\n";
    if (needs.platform_lists)
        for (const char* l : {platform::kApplicationServers, platform::kCarriers})
            merge(d.policy.lists[l], platform::addresses(d.platform->list(l)));
}

}  // namespace

Desired build_desired(const Options& o, OnSourceError on_error, Needs needs) {
    Desired d;
    d.policy = load_policy(o);
    auto& src = d.sources;
    if (d.policy.geoip && !needs.geoip) src.geoip_drop = net::AddressSet{};
    if (d.policy.geoip && needs.geoip && needs.geoip_if_changed && geoip_unchanged(o, *d.policy.geoip)) {
        needs.geoip = false;
        src.geoip_drop = net::AddressSet{};
        keep(d, ruleset::names::geoip);
        d.geoip_as_loaded = true;
    }
    if (d.policy.geoip && needs.geoip) {
        try {
            d.geoip = geoip::resolve(*d.policy.geoip);
            src.geoip_drop = d.geoip->drop;
        } catch (const geoip::Error& e) {
            if (on_error == OnSourceError::fail) throw;
            warn(d, std::string(e.what()) + "; the GeoIP sets keep what the kernel has");
            src.geoip_drop = net::AddressSet{};
            keep(d, ruleset::names::geoip);
        }
    }
    if (d.policy.platform) load_platform(o, d, on_error, needs);
    else if (d.policy.companies && needs.companies) load_companies(o, d, on_error);
    d.table = ruleset::compile(d.policy, src);
    nft::annotate(d.table);
    return d;
}

namespace {

// What the kernel holds for a list (its two interval sets), nullopt when not loaded.
std::optional<net::AddressSet> live_list(const ruleset::Table& live, const std::string& base) {
    net::AddressSet out;
    for (bool v6 : {false, true}) {
        auto it = live.sets.find(ruleset::names::list_set(base, v6));
        if (it == live.sets.end() || !it->second.interval || it->second.key.size() != 1) return std::nullopt;
        auto& to = v6 ? out.v6 : out.v4;
        for (const auto& e : it->second.elements) to.push_back(ruleset::element_range(e));
    }
    out.normalize();
    return out;
}

net::AddressSet wanted_list(const Desired& d, const std::string& base) {
    if (base == ruleset::names::companies) return d.sources.companies.value_or(net::AddressSet{});
    auto it = d.policy.lists.find(base);
    return it == d.policy.lists.end() ? net::AddressSet{} : it->second;
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

struct Guarded {
    std::string list, knob;
    unsigned percent;
};

std::vector<Guarded> guarded(const Desired& d) {
    std::vector<Guarded> out;
    if (d.companies && d.policy.companies)
        out.push_back({ruleset::names::companies, d.policy.platform ? "platform.max_remove_percent"
                                                                    : "companies.max_remove_percent",
                       d.policy.companies->max_remove_percent});
    if (d.platform && d.platform->parts.lists && d.policy.platform)
        for (const char* l : {platform::kApplicationServers, platform::kCarriers})
            out.push_back({l, "platform.max_remove_percent", d.policy.platform->max_remove_percent});
    return out;
}

}  // namespace

void guard_removals(Desired& d, const ruleset::Table& live) {
    for (const auto& g : guarded(d)) {
        if (d.keep_live.count(g.list)) continue;
        auto have = live_list(live, g.list);
        if (!have) continue;
        auto want = wanted_list(d, g.list);
        size_t total = have->v4.size() + have->v6.size();
        size_t removed = intervals_losing(have->v4, want.v4) + intervals_losing(have->v6, want.v6);
        if (total == 0 || removed * 100 <= size_t(g.percent) * total) continue;
        keep(d, g.list);
        warn(d, fmt::format("{} list {}: the source would remove {} of the {} intervals the kernel holds ({}%, more "
                            "than {} {}%); kept what the kernel has (new entries are still added). If the source "
                            "is right, sync with --force",
                            d.policy.platform ? "platform" : "company", g.list, removed, total,
                            removed * 100 / total, g.knob, g.percent));
    }
}

void record_sources(const Options& o, Desired& d) {
    try {
        // Last good copies: only of a list read whole whose removals no guard held.
        if (d.companies && d.sources.companies && !d.keep_live.count(ruleset::names::companies))
            save_last_good(o, ruleset::names::companies, d.companies->source, *d.sources.companies);
        if (d.platform && d.platform->parts.lists)
            for (const char* l : {platform::kApplicationServers, platform::kCarriers})
                if (!d.keep_live.count(l)) save_last_good(o, l, d.platform->source, platform::addresses(d.platform->list(l)));
        if (d.companies) {
            const auto& l = *d.companies;
            auto per = nlohmann::json::object();
            for (const auto& [id, c] : l.companies)
                per[std::to_string(id)] = {{"name", c.name}, {"ip_filter", c.ip_filter}, {"trusted", c.trusted},
                                           {"ranges", c.raw}};
            auto all = l.all();
            o.state.write_json("companies.json",
                               {{"time", now_iso()}, {"source", l.source}, {"companies", l.companies.size()},
                                {"ranges", l.range_count()}, {"intervals_v4", all.v4.size()},
                                {"intervals_v6", all.v6.size()}, {"skipped", l.skipped}, {"warnings", l.warnings},
                                {"per_company", per}});
        }
        if (d.platform && d.platform->parts.lists) {
            auto rows = [](const std::vector<platform::Row>& v) {
                auto a = nlohmann::json::array();
                for (const auto& r : v)
                    a.push_back({{"address", net::format_range(r.prefix.addr.family, r.prefix.range())},
                                 {"origin", r.origin}});
                return a;
            };
            o.state.write_json("platform.json",
                               {{"time", now_iso()}, {"source", d.platform->source},
                                {"application_servers", rows(d.platform->application_servers)},
                                {"carriers", rows(d.platform->carriers)}, {"skipped", d.platform->bad_rows},
                                {"warnings", d.platform->warnings}, {"notes", d.platform->notes}});
        }
    } catch (const std::exception& e) {
        warn(d, std::string("the source rows were not recorded for status: ") + e.what());
    }
}

std::set<std::string> source_sets(const Desired& d, bool companies, bool lists) {
    std::set<std::string> out;
    auto add = [&](const std::string& base) {
        for (bool v6 : {false, true}) out.insert(ruleset::names::list_set(base, v6));
    };
    if (companies && d.policy.companies) add(ruleset::names::companies);
    if (lists && d.policy.platform) {
        add(platform::kApplicationServers);
        add(platform::kCarriers);
        add(ruleset::names::exempt);   // holds the application servers
    }
    return out;
}

plan::Plan plan_keeping(const Desired& d, const std::optional<ruleset::Table>& live, const plan::Scope& scope) {
    if (d.keep_live.empty() || !live) return plan::plan(d.table, live, scope);
    // Recompiled with every kept list widened by the kernel's: a list the exempt set unions
    // (application servers) keeps its addresses there too.
    policy::Policy p = d.policy;
    ruleset::Sources src = d.sources;
    // A kept GeoIP or company source that adds nothing of its own (GeoIP unchanged, as
    // status sees it) is the kernel's sets exactly: their elements are copied after compile
    // rather than turned into ranges and compiled back (a GeoIP set holds ~10^5 intervals).
    std::vector<std::string> as_live;
    auto copyable = [&](const std::string& name) {
        auto it = live->sets.find(name);
        return it != live->sets.end() && it->second.interval && it->second.key.size() == 1;
    };
    for (const auto& base : d.keep_live) {
        std::optional<net::AddressSet>* into = base == ruleset::names::geoip       ? &src.geoip_drop
                                                : base == ruleset::names::companies ? &src.companies
                                                                                    : nullptr;
        if (into && (!*into || (*into)->empty()) && copyable(ruleset::names::list_set(base, false)) &&
            copyable(ruleset::names::list_set(base, true))) {
            into->emplace();
            as_live.push_back(base);
            continue;
        }
        auto have = live_list(*live, base);
        if (!have) continue;
        if (!into) merge(p.lists[base], *have);
        else merge(*into ? **into : into->emplace(), *have);
    }
    auto t = ruleset::compile(p, src);
    for (const auto& base : as_live)
        for (bool v6 : {false, true}) {
            auto name = ruleset::names::list_set(base, v6);
            auto it = t.sets.find(name);
            if (it != t.sets.end()) it->second.elements = live->sets.at(name).elements;
        }
    nft::annotate(t);
    auto out = plan::plan(t, live, scope);
    out.own();   // t ends here
    return out;
}

}  // namespace ivozfw::cli
