// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw bans [--json] | unban ADDR | ban ADDR [--for DURATION]
// The ban sets (ban_v4, ban_v6) are dynamic: the anti-flood rules fill them from the packet
// path. These commands read them, and change them through the one path every change takes:
// nft::reconcile with a plan of one element operation on one ban set.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <ctime>
#include <iostream>

#include "cli/desired.h"
#include "fleet/bans.h"
#include "fleet/message.h"
#include "fleet/redis.h"
#include "input/quote.h"
#include "io/lock.h"
#include "nft/reconcile.h"
#include "ruleset/antiflood.h"
#include "ruleset/values.h"

namespace ivozfw::cli {

namespace {


struct Target {
    net::Address addr;
    bool v6 = false;
    unsigned prefix = 32;        // the ban key: the address masked to this
    ruleset::Bytes key;
    std::string set;             // ban_v4 / ban_v6
    std::string shown;           // "198.51.100.7", "2001:db8:1::/64"
};

unsigned v6_prefix(const policy::Policy& p) {
    return p.antiflood ? p.antiflood->ipv6_prefix : policy::Antiflood{}.ipv6_prefix;
}

Target target(const policy::Policy& p, const std::string& text) {
    auto a = net::parse_address(text);
    if (!a) throw std::runtime_error(input::quote_short(text) + " is not an IP address");
    Target t;
    t.addr = *a;
    t.v6 = a->family == net::Family::v6;
    unsigned bits = net::bits(a->family);
    t.prefix = t.v6 ? std::min(v6_prefix(p), bits) : bits;
    net::u128 mask = t.prefix == 0 ? 0 : (net::max_value(a->family) >> (bits - t.prefix)) << (bits - t.prefix);
    net::u128 v = a->value & mask & net::max_value(a->family);
    t.key = ruleset::be_bytes(v, bits / 8);
    t.set = ruleset::names::list_set(ruleset::names::ban, t.v6);
    t.shown = net::format_address(a->family, v) + (t.prefix < bits ? fmt::format("/{}", t.prefix) : "");
    return t;
}

// The live ban set, checked against the policy's definition (the plan must not write into
// a set the policy no longer describes).
const ruleset::Set& live_ban_set(const Desired& d, const std::optional<ruleset::Table>& live,
                                 const std::string& name) {
    auto w = d.table.sets.find(name);
    if (w == d.table.sets.end())
        throw std::runtime_error(d.policy.path + ": the policy has no antiflood section (no ban sets)");
    if (!live) throw std::runtime_error("table inet " + d.table.name + " is not loaded: run `ivozfw apply` first");
    auto h = live->sets.find(name);
    if (h == live->sets.end() || !w->second.same_definition(h->second))
        throw std::runtime_error("set " + name + " is missing or differs in the live table " + d.table.name +
                                 ": run `ivozfw apply` first");
    return h->second;
}

// The kernel's exempt sets decide, not the policy file: they also hold what the platform
// database put there. Company ranges are not looked up (their set can be large); like every
// exempt source they are accepted before the ban rule anyway.
void warn_exempt(const ruleset::Table& live, const Target& t) {
    auto in = [&](const std::string& base) {
        auto it = live.sets.find(ruleset::names::list_set(base, t.v6));
        if (it == live.sets.end()) return false;
        for (const auto& e : it->second.elements) {
            auto r = ruleset::element_range(e);
            if (r.lo <= t.addr.value && t.addr.value <= r.hi) return true;
        }
        return false;
    };
    if (in(ruleset::names::exempt))
        std::cerr << "warning: " << t.shown << " is exempt (" << fmt::format("{}", fmt::join(policy::kExemptLists, ", "))
                  << "): the ban has no effect on it\n";
    else if (in(ruleset::names::carriers))
        std::cerr << "warning: " << t.shown << " is a carrier: the ban has no effect on antiflood.carrier_services\n";
}

// The queue of unbans the fleet has not heard yet (fleet-unbans.json): read-modify-write under
// the writers' lock, so two `unban`s and bansync never lose one another's entries.
void edit_fleet_unbans(const Options& o, const std::function<void(nlohmann::json&)>& edit) {
    io::FileLock lock(o.state.file(kWriterLock), std::chrono::seconds(120), "fleet unban queue");
    auto j = o.state.read_json(kFleetUnbans).value_or(nlohmann::json::object());
    edit(j);
    if (j.empty()) o.state.remove(kFleetUnbans);
    else o.state.write_json(kFleetUnbans, j);
}

}  // namespace

void queue_fleet_unban(const Options& o, const std::string& addr) {
    edit_fleet_unbans(o, [&](nlohmann::json& j) { j[addr] = std::time(nullptr); });
}

void unqueue_fleet_unban(const Options& o, const std::string& addr) {
    edit_fleet_unbans(o, [&](nlohmann::json& j) { j.erase(addr); });
}

namespace {

// An unban reaches every host: the live key goes, the other bansyncs hear it.
bool tell_fleet(const Options& o, const policy::Policy& p, const Target& t) {
    try {
        std::string why;
        auto m = fleet::unban(t.shown, fleet_host(*p.fleet), p.antiflood->ipv6_prefix, &why);
        if (!m) throw std::runtime_error(why);
        auto redis = open_fleet_redis(*p.fleet);
        redis->connect("");
        redis->del(m->key());
        redis->publish(fleet::kChannel, fleet::encode(*m, fleet_key(*p.fleet), int64_t(std::time(nullptr)) * 1000));
        fmt::print("{}: unban sent to the fleet (redis {})\n", t.shown, redis->where());
        return true;
    } catch (const std::exception& e) {
        // bansync sends it when Redis is back (fleet-unbans.json in the state directory).
        bool queued = false;
        try {
            queue_fleet_unban(o, t.shown);
            queued = true;
        } catch (const std::exception&) {
        }
        std::cerr << "warning: " << t.shown << ": unbanned here, but the fleet was not told: " << e.what()
                  << (queued ? "; bansync tells it when Redis is back" : "") << "\n";
        return false;
    }
}

}  // namespace

int cmd_bans(const Options& o) {
    auto p = load_policy(o);
    if (!p.antiflood) throw std::runtime_error(o.policy + ": the policy has no antiflood section");
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    std::set<std::string> sets;
    for (bool v6 : {false, true}) sets.insert(ruleset::names::list_set(ruleset::names::ban, v6));
    uint32_t gen = 0;
    auto live = nl.read_sets(p.table, sets, &gen);
    if (!live) throw std::runtime_error("table inet " + p.table + " is not loaded: run `ivozfw apply` first");
    nlohmann::json bans = nlohmann::json::array();
    std::vector<std::array<std::string, 5>> rows;
    for (bool v6 : {false, true}) {
        auto name = ruleset::names::list_set(ruleset::names::ban, v6);
        auto it = live->sets.find(name);
        if (it == live->sets.end()) continue;
        for (const auto& b : fleet::bans_of(it->second, v6, v6_prefix(p))) {
            std::string origin = b.local() ? "local" : b.origin;
            bans.push_back({{"address", b.address()}, {"set", name}, {"reason", b.reason}, {"origin", origin},
                            {"expires_in_s", (b.left_ms + 999) / 1000}, {"timeout_s", b.timeout_ms / 1000}});
            rows.push_back({b.address(), b.reason, origin, ruleset::format_duration(b.left_ms),
                            ruleset::format_duration(b.timeout_ms)});
        }
    }
    if (o.json) {
        std::cout << nlohmann::json{{"table", p.table}, {"count", bans.size()}, {"bans", bans}}.dump(2) << "\n";
        return 0;
    }
    if (rows.empty()) {
        fmt::print("no banned sources in table inet {}\n", p.table);
        return 0;
    }
    fmt::print("{:<42} {:<10} {:<16} {:>10} {:>8}\n", "SOURCE", "REASON", "ORIGIN", "TIME LEFT", "BAN");
    for (const auto& r : rows) fmt::print("{:<42} {:<10} {:<16} {:>10} {:>8}\n", r[0], r[1], r[2], r[3], r[4]);
    fmt::print("{} banned source{}\n", rows.size(), rows.size() == 1 ? "" : "s");
    return 0;
}

int cmd_unban(const Options& o) {
    auto d = build_desired(o, OnSourceError::fail, Needs{false, false, false});
    auto t = target(d.policy, o.address);
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    opt.read_only = {t.set};   // one set: the other (GeoIP, companies) are never dumped
    opt.cache_reads = false;
    bool was_banned = false;
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) {
        const auto& set = live_ban_set(d, live, t.set);
        plan::Plan pl;
        pl.table = d.table.name;
        pl.table_exists = true;
        const auto* e = fleet::find_ban(set, t.key);
        was_banned = e != nullptr;
        if (e) pl.ops.push_back(plan::Op{plan::Op::delete_elements, t.set, {*e}, {}, 0, "unban"});
        return pl;
    };
    auto out = nft::reconcile(nl, d.table, opt);
    if (was_banned) fmt::print("{}: unbanned\n", t.shown);
    else fmt::print("{}: not banned here\n", t.shown);
    if (d.policy.fleet && !tell_fleet(o, d.policy, t)) return kExitWarnings;
    return exit_status(d, out);
}

int cmd_ban(const Options& o) {
    auto d = build_desired(o, OnSourceError::fail, Needs{false, false, false});
    auto t = target(d.policy, o.address);
    std::optional<uint64_t> ms;
    if (!o.ban_for.empty()) ms = ruleset::parse_duration_ms(o.ban_for);
    auto kernel = open_kernel(o);
    auto& nl = *kernel;
    auto opt = reconcile_options(o);
    // The ban set, and the small exempt and carrier sets of its family for the warning:
    // never the company or GeoIP sets, nor the element cache (a ban keeps it valid).
    opt.read_only = {t.set};
    for (const char* base : {ruleset::names::exempt, ruleset::names::carriers})
        opt.read_only.insert(ruleset::names::list_set(base, t.v6));
    opt.cache_reads = false;
    uint64_t applied = 0;
    bool warned = false;
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) {
        const auto& set = live_ban_set(d, live, t.set);
        if (!warned) warn_exempt(*live, t), warned = true;
        plan::Plan pl;
        pl.table = d.table.name;
        pl.table_exists = true;
        ruleset::Element e;
        e.key = t.key;
        applied = ms.value_or(set.timeout_ms);
        e.set().timeout_ms = applied;
        e.set().comment = fleet::kManual;
        // An element already there keeps its old timeout on a plain add: replace it.
        if (const auto* old = fleet::find_ban(set, t.key))
            pl.ops.push_back(plan::Op{plan::Op::delete_elements, t.set, {*old}, {}, 0, "re-ban"});
        pl.ops.push_back(plan::Op{plan::Op::add_elements, t.set, {e}, {}, 0, "manual ban"});
        return pl;
    };
    auto out = nft::reconcile(nl, d.table, opt);
    fmt::print("{}: banned for {}\n", t.shown, ruleset::format_duration(applied));
    return exit_status(d, out);
}

}  // namespace ivozfw::cli
