// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw geoip refresh | lookup
#include <fmt/format.h>

#include <iostream>

#include "cli/desired.h"
#include "input/quote.h"
#include "nft/reconcile.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

namespace {

constexpr const char* kGeoipState = "geoip.json";

struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

net::RangeList ranges_of(const ruleset::Set& s) {
    net::RangeList out;
    for (const auto& e : s.elements) out.push_back(ruleset::element_range(e));
    return net::normalize(out);
}

// A truncated or wrong download must not open the door: refuse a set that covers much less
// than what is loaded now, per family.
void shrink_guard(const policy::GeoIP& g, const ruleset::Table& want, const ruleset::Table& live) {
    for (bool v6 : {false, true}) {
        auto name = ruleset::names::list_set(ruleset::names::geoip, v6);
        auto l = live.sets.find(name);
        if (l == live.sets.end()) continue;
        long double before = (long double)net::coverage(ranges_of(l->second));
        long double after = (long double)net::coverage(ranges_of(want.sets.at(name)));
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

void record_geoip(const Options& o, const geoip::Resolved& g) {
    try {
        o.state.write_json(kGeoipState, {{"time", now_iso()}, {"database", g.walk.info.path},
                                         {"type", g.walk.info.type}, {"build_epoch", g.walk.info.build_epoch},
                                         {"schema", g.walk.info.schema}, {"networks_v4", g.walk.networks_v4},
                                         {"networks_v6", g.walk.networks_v6}, {"intervals_v4", g.drop.v4.size()},
                                         {"intervals_v6", g.drop.v6.size()}});
    } catch (const std::exception& e) {
        std::cerr << "warning: " << e.what() << "\n";
    }
}

int cmd_geoip_refresh(const Options& o) {
    auto d = build_desired(o, OnSourceError::fail, Needs{true, false});
    if (!d.policy.geoip) throw std::runtime_error(o.policy + ": the policy has no geoip section");
    if (!o.force) age_guard(o, *d.geoip);
    plan::Scope scope{std::set<std::string>{ruleset::names::list_set(ruleset::names::geoip, false),
                                            ruleset::names::list_set(ruleset::names::geoip, true)}};
    nft::Netlink nl;
    auto opt = reconcile_options(o);
    opt.scope = scope;
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
    record_geoip(o, *d.geoip);
    return 0;
}

int cmd_geoip_lookup(const Options& o) {
    auto p = load_policy(o);
    if (!p.geoip) throw std::runtime_error(o.policy + ": the policy has no geoip section");
    auto addr = net::parse_address(o.address);
    if (!addr) throw std::runtime_error(input::quote_short(o.address) + " is not an IP address");
    geoip::Info info;
    std::string cc = geoip::lookup(p.geoip->database, *addr, p.geoip->field, &info);
    fmt::print("{}: country {} ({}, {} built {})\n", o.address, cc.empty() ? "unknown" : cc, info.path,
               info.type, info.build_epoch);
    const auto& g = *p.geoip;
    bool listed = std::find(g.countries.begin(), g.countries.end(), cc) != g.countries.end();
    bool dropped = g.mode == policy::GeoIP::Mode::deny ? listed : !listed;
    if (geoip::special_purpose().contains(*addr)) {
        fmt::print("policy: special-purpose address, never dropped by GeoIP\n");
        return 0;
    }
    for (const char* list : {"application_servers", "antiflood_trusted", "admin"}) {
        auto it = p.lists.find(list);
        if (it != p.lists.end() && it->second.contains(*addr)) {
            fmt::print("policy: exempt from GeoIP (list {})\n", list);
            return 0;
        }
    }
    fmt::print("policy: {} ({} mode, countries {})\n", dropped ? "DROPPED by GeoIP" : "not dropped by GeoIP",
               g.mode == policy::GeoIP::Mode::deny ? "deny" : "allow", fmt::join(g.countries, ","));
    return 0;
}

}  // namespace ivozfw::cli
