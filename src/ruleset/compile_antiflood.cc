// SPDX-License-Identifier: GPL-2.0-or-later
// Anti-flooding per source (Kamailio pike at the firewall) and the media-flow backstop.
//
// UDP, per packet and before conntrack: base chain `prerouting` (raw priority) sends every
// datagram to a metered UDP port (`udp dport vmap @flood_udp`, one hash lookup) to chain
// flood_<service>:
//   iif lo / a destination that is not this host     accept (not ours to meter)
//   notrack                                     (see udp_untracked)
//   the service's exemptions (exempt, companies, carriers; the companies.strict drop when
//   untracked, else it waits for the service's chain, after `established`)
//   update @flood_vX { src limit rate over R burst B packets } update @ban_vX { src }
//         counter name drop_flood drop          over the rate: dropped, (re)banned
//   src @ban_vX counter name drop_banned drop   banned: dropped silently
//   limit rate over antiflood.service_rate counter name drop_service_cap drop
//         the aggregate cap of the service: many sources each under its own rate
//   accept                                      on to the input chain
// A dropped datagram never creates a conntrack entry, and every datagram to a metered port,
// "established" or not, is metered. accept in prerouting only ends that hook: the input
// chain still decides. Untracked (the default), a datagram that passes creates no entry
// either, whatever its source port: a flood from many ports cannot fill the conntrack table,
// and the input chain decides every datagram by port and source, never by conntrack state.
// Base chain `output` (raw priority) untracks the host's datagrams from those ports. Which
// services are untracked: udp_untracked (ruleset/features.h).

// In the input chain of every listed service, after the exemptions (new flows):
//   src @ban_vX counter name drop_banned drop   (TCP; UDP never gets this far)
//   TCP   update @tcpnew_vX { src limit rate over N } counter name drop_conn_limit drop
//         add @connlimit_vX { src ct count over M } counter name drop_conn_limit drop
//         limit rate over antiflood.service_new_connections counter name drop_conn_cap drop
//               the aggregate cap of the service's new connections, all sources together
//
// A flooder that keeps sending over the rate refreshes its ban (update), so it stays banned;
// one that slows down below the rate is released when the ban runs out. IPv6 sources are
// keyed by their ipv6_prefix (/64 by default): one host owns a whole /64.
//
// Media backstop (call_limit.max_media_flows_per_source > 0): in the chain of every public
// service with a UDP range of 1000 ports or more (rtpengine's 13000-19000), new UDP flows
// beyond N concurrent ones per source are dropped (counter drop_call_limit).
#include <fmt/format.h>

#include <algorithm>

#include "ruleset/antiflood.h"
#include "ruleset/features.h"
#include "ruleset/values.h"

namespace ivozfw::ruleset {

namespace {

constexpr uint8_t kTcp = 6, kUdp = 17;
constexpr unsigned kWideRange = 1000;   // a UDP range this wide is media, not signalling

const policy::Antiflood kDefaults{};

uint32_t tracked(const policy::Policy& p) {
    return p.antiflood ? p.antiflood->max_tracked_sources : kDefaults.max_tracked_sources;
}

bool listed(const policy::Policy& p, const policy::Service& s) {
    if (!p.antiflood || !is_public(s)) return false;
    const auto& v = p.antiflood->services;
    return std::find(v.begin(), v.end(), s.name) != v.end();
}

bool wide(const policy::PortRange& r) { return unsigned(r.hi - r.lo) + 1 >= kWideRange; }

bool media(const policy::Policy& p, const policy::Service& s) {
    return p.call_limit.max_media_flows_per_source > 0 && is_public(s) &&
           std::any_of(s.udp.begin(), s.udp.end(), wide);
}

// Seconds for a meter element to forget an idle source: at least a minute, and never
// before its bucket has refilled (else a slow source would get a fresh burst early).
uint64_t meter_timeout_ms(uint64_t rate, uint64_t unit_s, uint32_t burst) {
    uint64_t refill_s = (uint64_t(burst) * unit_s + rate - 1) / std::max<uint64_t>(rate, 1) + 1;
    return std::max<uint64_t>(60, refill_s) * 1000;
}

Bytes prefix_mask(bool v6, unsigned bits) {
    unsigned len = v6 ? 16 : 4;
    if (bits >= len * 8) return {};
    Bytes m(len, 0);
    for (unsigned i = 0; i < bits; ++i) m[i / 8] |= uint8_t(0x80 >> (i % 8));
    return m;
}

Bytes source_mask(const policy::Policy& p, bool v6) {
    return v6 ? prefix_mask(true, p.antiflood ? p.antiflood->ipv6_prefix : kDefaults.ipv6_prefix) : Bytes{};
}

Selector source(bool v6) { return v6 ? Selector::ip6_saddr : Selector::ip_saddr; }

Set dynamic_set(const std::string& base, bool v6, uint32_t size, bool timeout, uint64_t timeout_ms,
                const std::string& comment) {
    Set s;
    s.name = names::list_set(base, v6);
    s.key = {v6 ? KeyType::ipv6_addr : KeyType::ipv4_addr};
    s.dynamic = true;
    s.timeout = timeout;
    s.timeout_ms = timeout_ms;
    s.size = size;
    s.comment = comment;
    return s;
}

Match l4(uint8_t proto) { return Match{Match::eq, {Selector::meta_l4proto}, {proto}, {}}; }
Verdict drop() { return {Verdict::drop, {}}; }

// "udp 5060, 13000-19000" (for check); "" for no ports.
std::string port_list(const char* proto, const std::vector<policy::PortRange>& v) {
    std::string out;
    for (const auto& r : v)
        out += (out.empty() ? std::string(proto) + " " : ", ") +
               (r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}-{}", r.lo, r.hi));
    return out;
}

// Metered UDP ports of a listed service: all its UDP ports but media-wide ranges.
std::vector<policy::PortRange> metered_udp_ports(const policy::Policy& p, const policy::Service& s) {
    std::vector<policy::PortRange> v;
    if (listed(p, s))
        for (const auto& r : s.udp)
            if (!wide(r)) v.push_back(r);
    return v;
}

Rule flood_rule(const policy::Policy& p, const policy::Service& s, bool v6) {
    const auto& a = *p.antiflood;
    Bytes m = source_mask(p, v6);
    return make_rule(s.name + (v6 ? "/flood-v6" : "/flood-v4"),
                     {nfproto_is(v6),
                      SetUpdate{SetUpdate::update, source(v6), m, names::list_set(names::flood, v6),
                                Limit{a.rate, a.rate_unit_s, a.burst, true}, {}},
                      SetUpdate{SetUpdate::update, source(v6), m, names::list_set(names::ban, v6), {}, {}},
                      CounterRef{names::drop_flood}, drop()});
}

Rule banned_rule(const policy::Policy& p, const policy::Service& s, bool v6) {
    Match banned{Match::in_set, {source(v6)}, {}, names::list_set(names::ban, v6), source_mask(p, v6)};
    return make_rule(s.name + (v6 ? "/banned-v6" : "/banned-v4"),
                     {nfproto_is(v6), banned, CounterRef{names::drop_banned}, drop()});
}

// The chain prerouting sends a listed service's UDP datagrams to (see the top of the file).
Chain flood_chain(const policy::Policy& p, const policy::Service& s) {
    const auto& a = *p.antiflood;
    Chain c;
    c.name = names::flood_chain(s.name);
    auto& r = c.rules;
    r.push_back(make_rule(s.name + "/loopback",
                          {Match{Match::eq, {Selector::meta_iif}, host_u32(1), {}}, Verdict{Verdict::accept, {}}}));
    r.push_back(make_rule(s.name + "/not-local", {Match{Match::neq, {Selector::fib_daddr_type}, host_u32(rtn_local), {}},
                                                  Verdict{Verdict::accept, {}}}));
    bool untracked = udp_untracked(p, s);
    if (untracked) r.push_back(make_rule(s.name + "/untracked", {Notrack{}}));
    // Tracked, companies.strict acts in the service's chain, after `established`.
    exempt_rules(p, s, r, untracked);
    for (bool v6 : {false, true}) r.push_back(flood_rule(p, s, v6));
    for (bool v6 : {false, true}) r.push_back(banned_rule(p, s, v6));
    r.push_back(make_rule(s.name + "/cap", {Limit{a.service_rate, a.service_unit_s, a.service_burst, true},
                                            CounterRef{names::drop_service_cap}, drop()}));
    r.push_back(make_rule(s.name + "/to-input", {Verdict{Verdict::accept, {}}}));
    return c;
}

}  // namespace

bool udp_untracked(const policy::Policy& p, const policy::Service& s) {
    if (!p.antiflood || metered_udp_ports(p, s).empty()) return false;
    if (p.antiflood->conntrack_udp) return !*p.antiflood->conntrack_udp;
    return !geoip_guards(p, s) && !companies_strict(p, s);
}

bool antiflood_guards(const policy::Policy& p, const policy::Service& s) {
    return listed(p, s) || media(p, s);
}

void antiflood_objects(const policy::Policy& p, Table& t) {
    uint32_t size = tracked(p);
    if (p.call_limit.max_media_flows_per_source > 0) {
        put_counter(t, names::drop_call_limit, "media flows over call_limit.max_media_flows_per_source");
        for (bool v6 : {false, true})
            put_set(t, dynamic_set(names::media, v6, size, false, 0, "concurrent media flows per source"));
    }
    if (!p.antiflood) return;
    const auto& a = *p.antiflood;
    put_counter(t, names::drop_flood, "source over the anti-flood rate");
    put_counter(t, names::drop_banned, "source banned by anti-flood");
    put_counter(t, names::drop_conn_limit, "TCP connection rate or count per source exceeded");
    if (std::any_of(p.services.begin(), p.services.end(), [&](const auto& s) { return listed(p, s) && !s.tcp.empty(); }))
        put_counter(t, names::drop_conn_cap,
                    "new TCP connections of a metered service over antiflood.service_new_connections (all sources)");
    uint64_t flood_to = meter_timeout_ms(a.rate, a.rate_unit_s, a.burst);
    uint64_t tcp_to = meter_timeout_ms(a.tcp_new_rate, a.tcp_new_unit_s, uint32_t(std::max<uint64_t>(a.tcp_new_rate, 1)));
    for (bool v6 : {false, true}) {
        put_set(t, dynamic_set(names::flood, v6, size, true, flood_to, "anti-flood packet meter per source"));
        put_set(t, dynamic_set(names::ban, v6, size, true, a.ban_s * 1000, "sources banned by anti-flood"));
        put_set(t, dynamic_set(names::tcpnew, v6, size, true, tcp_to, "new TCP connections meter per source"));
        put_set(t, dynamic_set(names::connlimit, v6, size, false, 0, "concurrent TCP connections per source"));
    }
}

void antiflood_chains(const policy::Policy& p, Table& t) {
    if (!p.antiflood) return;
    // A hash map of single ports (a metered range is narrower than kWideRange): the one
    // lookup every UDP datagram, RTP included, pays before conntrack.
    Set m;
    m.name = names::flood_udp;
    m.key = {KeyType::inet_service};
    m.verdict_map = true;
    Set untracked;   // the untracked services' ports, for the host's datagrams from them
    untracked.name = names::untracked_udp;
    untracked.key = {KeyType::inet_service};
    untracked.comment = "metered UDP ports conntrack skips (antiflood.conntrack_udp)";
    std::vector<Chain> chains;
    for (const auto& s : p.services) {
        auto ports = metered_udp_ports(p, s);
        if (ports.empty()) continue;
        bool notrack = udp_untracked(p, s);
        for (const auto& r : ports)
            for (unsigned port = r.lo; port <= r.hi; ++port) {
                m.elements.push_back(Element{be_bytes(port, 2), {}, Verdict{Verdict::goto_, names::flood_chain(s.name)}});
                if (notrack) untracked.elements.push_back(Element{be_bytes(port, 2)});
            }
        chains.push_back(flood_chain(p, s));
    }
    if (m.elements.empty()) return;
    put_counter(t, names::drop_service_cap, "metered service over antiflood.service_rate (all sources together)");
    for (auto& c : chains) {
        t.chain_order.push_back(c.name);
        t.chains[c.name] = std::move(c);
    }
    put_set(t, std::move(m));
    Chain pre;
    pre.name = names::prerouting;
    pre.hook = "prerouting";
    pre.priority = -300;   // raw: before conntrack (-200)
    pre.policy = Verdict::accept;
    pre.rules.push_back(make_rule("flood-dispatch", {l4(kUdp), VmapLookup{{Selector::th_dport}, names::flood_udp}}));
    t.chain_order.push_back(pre.name);
    t.chains[pre.name] = std::move(pre);
    if (untracked.elements.empty()) return;
    std::sort(untracked.elements.begin(), untracked.elements.end());
    // The host's datagrams from those ports (its replies, and requests it starts from them)
    // are untracked too: else the first reply to each untracked request would create the
    // conntrack entry the request did not. Loopback stays tracked, as in flood_<service>.
    Chain out;
    out.name = names::output;
    out.hook = "output";
    out.priority = -300;
    out.policy = Verdict::accept;
    out.rules.push_back(make_rule("untracked-replies",
        {l4(kUdp), Match{Match::in_set, {Selector::th_sport}, {}, names::untracked_udp, {}},
         Match{Match::neq, {Selector::meta_oif}, host_u32(1), {}}, Notrack{}}));
    put_set(t, std::move(untracked));
    t.chain_order.push_back(out.name);
    t.chains[out.name] = std::move(out);
}

void antiflood_rules(const policy::Policy& p, const policy::Service& s, std::vector<Rule>& out) {
    auto fam = [](const std::string& id, bool v6) { return id + (v6 ? "-v6" : "-v4"); };
    if (listed(p, s)) {
        const auto& a = *p.antiflood;
        uint32_t tcp_burst = uint32_t(std::max<uint64_t>(a.tcp_new_rate, 1));
        Limit tcp_rate{a.tcp_new_rate, a.tcp_new_unit_s, tcp_burst, true};
        for (bool v6 : {false, true}) out.push_back(banned_rule(p, s, v6));
        for (bool v6 : {false, true}) {
            if (s.tcp.empty()) break;
            Bytes m = source_mask(p, v6);
            out.push_back(make_rule(fam(s.name + "/tcp-rate", v6),
                {l4(kTcp), nfproto_is(v6),
                 SetUpdate{SetUpdate::update, source(v6), m, names::list_set(names::tcpnew, v6), tcp_rate, {}},
                 CounterRef{names::drop_conn_limit}, drop()}));
            out.push_back(make_rule(fam(s.name + "/tcp-conns", v6),
                {l4(kTcp), nfproto_is(v6),
                 SetUpdate{SetUpdate::add, source(v6), m, names::list_set(names::connlimit, v6), {},
                           a.max_connections_per_source},
                 CounterRef{names::drop_conn_limit}, drop()}));
        }
        // All sources together, both families: one limit per service (a SYN flood from many
        // sources, each under tcp_new_connections).
        if (!s.tcp.empty())
            out.push_back(make_rule(s.name + "/tcp-cap",
                {l4(kTcp), Limit{a.service_tcp_rate, a.service_tcp_unit_s,
                                 uint32_t(std::max<uint64_t>(a.service_tcp_rate, 1)), true},
                 CounterRef{names::drop_conn_cap}, drop()}));
    }
    if (media(p, s)) {
        for (bool v6 : {false, true})
            out.push_back(make_rule(fam(s.name + "/media-flows", v6),
                {l4(kUdp), nfproto_is(v6),
                 SetUpdate{SetUpdate::add, source(v6), source_mask(p, v6), names::list_set(names::media, v6), {},
                           p.call_limit.max_media_flows_per_source},
                 CounterRef{names::drop_call_limit}, drop()}));
    }
}

std::string udp_conntrack_summary(const policy::Policy& p) {
    std::vector<std::string> untracked, tracked;
    for (const auto& s : p.services) {
        auto ports = metered_udp_ports(p, s);
        if (ports.empty()) continue;
        (udp_untracked(p, s) ? untracked : tracked).push_back(fmt::format("{} ({})", s.name, port_list("udp", ports)));
    }
    if (untracked.empty() && tracked.empty()) return {};
    const auto& given = p.antiflood->conntrack_udp;
    std::string out = "metered UDP ports:";
    if (!untracked.empty())
        out += fmt::format(" untracked both ways (a flood fills no conntrack entry): {}{}", fmt::join(untracked, ", "),
                           tracked.empty() ? "" : ";");
    if (!tracked.empty())
        out += fmt::format(" tracked by conntrack: {}{}", fmt::join(tracked, ", "),
                           given ? " (antiflood.conntrack_udp)"
                                 : " (GeoIP or companies.strict filter their sources, so answers to the host's own "
                                   "requests, an outbound carrier's, pass as established; antiflood.conntrack_udp: "
                                   "false untracks them anyway)");
    return out;
}

std::string antiflood_summary(const policy::Policy& p) {
    if (!p.antiflood) return {};
    std::string out;
    for (const auto& s : p.services) {
        if (!listed(p, s)) continue;
        std::string u = port_list("udp", s.udp), t = port_list("tcp", s.tcp);
        out += fmt::format("{}{} ({}{}{})", out.empty() ? "" : ", ", s.name, u, u.empty() || t.empty() ? "" : ", ", t);
    }
    if (out.empty()) out = "nothing";
    return out + (p.antiflood->default_services ? " (default: the public SIP services)" : "");
}

}  // namespace ivozfw::ruleset
