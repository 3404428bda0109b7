// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw geoip refresh | lookup
#include <fmt/format.h>
#include <sys/stat.h>

#include <iostream>

#include "cli/desired.h"
#include "cli/explain_context.h"
#include "explain/explain.h"
#include "geoip/mmdb.h"
#include "input/quote.h"
#include "nft/reconcile.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

namespace {

constexpr const char* kGeoipState = "geoip.json";



// A truncated or wrong download must not open the door: refuse a set that covers much less
// than what is loaded now, per family.
void shrink_guard(const policy::GeoIP& g, const ruleset::Table& want, const ruleset::Table& live) {
    for (bool v6 : {false, true}) {
        auto name = ruleset::names::list_set(ruleset::names::geoip, v6);
        auto l = live.sets.find(name);
        if (l == live.sets.end()) continue;
        long double before = (long double)net::coverage(ruleset::ranges_of(l->second));
        long double after = (long double)net::coverage(ruleset::ranges_of(want.sets.at(name)));
        if (before > 0 && after < before * (100 - g.max_shrink_percent) / 100)
            throw Refused(fmt::format("{}: the new database would shrink {} from {:.4g} to {:.4g} addresses "
                                      "(more than max_shrink_percent {}%); refusing. Use --force if this is right.",
                                      g.database, name, (double)before, (double)after, g.max_shrink_percent));
    }
}

void age_guard(const Options& o, const geoip::Resolved& g) {
    auto prev = o.state.read_json(kGeoipState);
    if (!prev) return;
    uint64_t loaded = prev->value("build_epoch", uint64_t{0});
    if (g.walk.info.build_epoch < loaded)
        throw Refused(fmt::format("{}: built {} but the loaded database was built {}; refusing an older "
                                  "database. Use --force if this is right.",
                                  g.walk.info.path, g.walk.info.build_epoch, loaded));
}

}  // namespace

bool geoip_unchanged(const Options& o, const policy::GeoIP& g) {
    try {
        auto j = o.state.read_json(kGeoipState);
        std::string f = j ? j->value("file", "") : "";
        return !f.empty() && j->value("database", "") == g.database && f == geoip::file_identity(g.database);
    } catch (const std::exception&) {
        return false;
    }
}

// Throws: the callers run it after their commit and report it as such (exit 3).
void record_geoip(const Options& o, const geoip::Resolved& g) {
    const auto& f = g.identity;   // taken before the walk
    o.state.write_json(kGeoipState, {{"time", now_iso()}, {"database", g.walk.info.path}, {"file", f},
                                     {"type", g.walk.info.type}, {"build_epoch", g.walk.info.build_epoch},
                                     {"schema", g.walk.info.schema}, {"networks_v4", g.walk.networks_v4},
                                     {"networks_v6", g.walk.networks_v6}, {"intervals_v4", g.drop.v4.size()},
                                     {"intervals_v6", g.drop.v6.size()}});
}

int cmd_geoip_refresh(const Options& o) {
    auto d = build_desired(o, OnSourceError::fail, Needs{true, false, false});
    if (!d.policy.geoip) throw std::runtime_error(o.policy + ": the policy has no geoip section");
    if (!o.force) age_guard(o, *d.geoip);
    plan::Scope scope{std::set<std::string>{ruleset::names::list_set(ruleset::names::geoip, false),
                                            ruleset::names::list_set(ruleset::names::geoip, true)}};
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.scope = scope;
    opt.read_only = *scope.sets_only;   // the company and ban sets are not dumped
    opt.before_commit = [&](const std::optional<ruleset::Table>& live, const plan::Plan&) {
        if (live && !o.force) shrink_guard(*d.policy.geoip, d.table, *live);
    };
    auto out = nft::reconcile(nl, d.table, opt);
    const auto& w = d.geoip->walk;
    fmt::print("{} ({}, built {}): {} IPv4 + {} IPv6 networks read, {} drops {} IPv4 + {} IPv6 intervals\n",
               w.info.path, w.info.type, w.info.build_epoch, w.networks_v4, w.networks_v6,
               d.policy.geoip->mode == policy::GeoIP::Mode::deny ? "deny" : "allow", d.geoip->drop.v4.size(),
               d.geoip->drop.v6.size());
    if (out.plan.empty()) fmt::print("GeoIP sets already up to date: nothing sent\n");
    else fmt::print("GeoIP sets updated in one transaction: {} elements sent ({} messages, {} bytes)\n",
                    out.plan.element_count(), out.stats.messages, out.stats.bytes);
    try {
        record_geoip(o, *d.geoip);
    } catch (const std::exception& e) {
        warn(d, std::string(out.committed ? "committed, but " : "") + "the GeoIP state was not recorded: " + e.what());
    }
    return exit_status(d, out);
}

// The country, then what the table does with a new packet from the address to each exposed
// service: the verdicts come from the one evaluator (explain/), with the live kernel sets.
int cmd_geoip_lookup(const Options& o) {
    auto addr = net::parse_address(o.address);
    if (!addr) throw std::runtime_error(input::quote_short(o.address) + " is not an IP address");
    auto d = build_desired(o, OnSourceError::keep_live);
    if (!d.policy.geoip) throw std::runtime_error(o.policy + ": the policy has no geoip section");
    geoip::Info info;
    std::string cc = geoip::lookup(d.policy.geoip->database, *addr, d.policy.geoip->field, &info);
    std::vector<std::string> notes;
    std::optional<ruleset::Table> live;
    try {
        auto kernel = open_kernel(o);
        uint32_t gen = 0;
        live = kernel->read_table(d.table.name, &gen);
        if (!live) notes.push_back("table inet " + d.table.name + " is NOT loaded: verdicts are the policy's (compiled sets)");
    } catch (const nft::KernelError& e) {
        notes.push_back(std::string("the kernel could not be read (") + e.what() + "): verdicts use the compiled sets");
    }
    auto c = explain_context(d, live ? &*live : nullptr, *addr, &notes);
    const auto& g = *d.policy.geoip;
    std::string mode = fmt::format("{} {}", g.mode == policy::GeoIP::Mode::deny ? "deny" : "allow", fmt::join(g.countries, ","));
    auto packets = service_packets(d.policy, *addr);
    std::vector<explain::Result> results;
    for (const auto& p : packets) results.push_back(explain::explain(c, p));
    if (o.json) {
        auto arr = nlohmann::json::array();
        for (size_t i = 0; i < results.size(); ++i)
            arr.push_back({{"proto", packets[i].proto == policy::Proto::tcp ? "tcp" : "udp"},
                           {"port", packets[i].port}, {"service", results[i].service},
                           {"verdict", results[i].accepted ? "accept" : "drop"}, {"reason", results[i].reason},
                           {"summary", results[i].summary}});
        std::cout << nlohmann::json{{"address", o.address}, {"country", cc}, {"database", info.path},
                                    {"build_epoch", info.build_epoch}, {"mode", mode}, {"notes", notes},
                                    {"services", arr}}.dump(2)
                  << "\n";
        return 0;
    }
    fmt::print("{}: country {} ({}, {} built {}); GeoIP mode {}\n", o.address, cc.empty() ? "unknown" : cc,
               info.path, info.type, info.build_epoch, mode);
    for (const auto& n : notes) fmt::print("note: {}\n", n);
    for (size_t i = 0; i < results.size(); ++i)
        fmt::print("  {:<14} {:<10} {}\n",
                   fmt::format("{}/{}", packets[i].proto == policy::Proto::tcp ? "tcp" : "udp", packets[i].port),
                   results[i].service, results[i].summary);
    return 0;
}

}  // namespace ivozfw::cli
