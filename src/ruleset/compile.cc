// SPDX-License-Identifier: GPL-2.0-or-later
#include "ruleset/compile.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "ruleset/features.h"
#include "ruleset/values.h"

namespace ivozfw::ruleset {

namespace names {
std::string list_set(const std::string& list, bool v6) { return list + (v6 ? "_v6" : "_v4"); }
std::string service_chain(const std::string& service) { return "svc_" + service; }
}  // namespace names

namespace {

constexpr uint8_t kNfprotoV4 = 2, kNfprotoV6 = 10;
constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpv6 = 58;

Match eq(Selector s, Bytes v) { return Match{Match::eq, {s}, std::move(v), {}}; }
Match in_set(Selector s, std::string set) { return Match{Match::in_set, {s}, {}, std::move(set)}; }
Match ct_any(uint32_t mask) { return Match{Match::any_bit, {Selector::ct_state}, host_u32(mask), {}}; }
Verdict accept() { return {Verdict::accept, {}}; }
Verdict drop() { return {Verdict::drop, {}}; }

Rule rule(std::string id, std::vector<Stmt> stmts) { return make_rule(std::move(id), std::move(stmts)); }

Set value_set(const std::string& name, KeyType t, std::initializer_list<uint8_t> values) {
    Set s;
    s.name = name;
    s.key = {t};
    for (uint8_t v : values) s.elements.push_back(Element{{v}});
    return s;
}

void add_set(Table& t, Set s) { put_set(t, std::move(s)); }
void add_counter(Table& t, const std::string& name, const std::string& comment) { put_counter(t, name, comment); }

void add_chain(Table& t, Chain c) {
    t.chain_order.push_back(c.name);
    t.chains[c.name] = std::move(c);
}

// Sets for every address list: one per family, the kernel cannot mix them.
void compile_lists(const policy::Policy& p, Table& t) {
    for (const auto& [name, addrs] : p.lists) {
        add_set(t, address_set(names::list_set(name, false), false, addrs.v4));
        add_set(t, address_set(names::list_set(name, true), true, addrs.v6));
    }
}

// A service's chain: reached by goto from the dispatch map, so its verdict is final.
// Public services pass their guards (GeoIP, anti-flood...) unless the source is exempt.
Chain service_chain(const policy::Policy& p, const policy::Service& svc) {
    Chain c;
    c.name = names::service_chain(svc.name);
    if (svc.from.empty()) {
        if (geoip_guards(p, svc) || antiflood_guards(p, svc) || companies_strict(p, svc)) {
            exempt_rules(p, svc, c.rules);
            antiflood_rules(p, svc, c.rules);
            geoip_rules(p, svc, c.rules);
        }
        c.rules.push_back(rule(svc.name + "/accept", {accept()}));
        return c;
    }
    for (const auto& list : svc.from) per_family(c.rules, svc.name + "/from-" + list, list, {accept()});
    c.rules.push_back(rule(svc.name + "/not-allowed",
                           {CounterRef{names::drop_not_allowed}, drop()}));
    return c;
}

// `meta l4proto . th dport` -> goto svc_<name>: one lookup for every new flow.
Set services_map(const policy::Policy& p) {
    Set s;
    s.name = names::services;
    s.key = {KeyType::inet_proto, KeyType::inet_service};
    s.interval = true;
    s.verdict_map = true;
    for (const auto& svc : p.services) {
        Verdict v{Verdict::goto_, names::service_chain(svc.name)};
        for (const auto& r : svc.tcp) s.elements.push_back(proto_port_element(kTcp, r.lo, r.hi, v));
        for (const auto& r : svc.udp) s.elements.push_back(proto_port_element(kUdp, r.lo, r.hi, v));
    }
    return s;
}

Chain input_chain(const policy::Policy& p) {
    Chain c;
    c.name = names::input;
    c.hook = "input";
    c.priority = 0;
    c.policy = Verdict::drop;
    Limit echo{p.icmp.echo_rate, 1, p.icmp.echo_burst, false};
    auto& r = c.rules;
    // The one rule an established packet (RTP above all) goes through.
    r.push_back(rule("established", {ct_any(ct_established | ct_related), accept()}));
    // Path MTU discovery before the invalid drop: an ICMP error about an untracked datagram
    // (SIP over UDP, antiflood) has no conntrack state, which nft calls invalid. Only these
    // two: other errors about flows conntrack does not know stay dropped.
    r.push_back(rule("icmp-pmtu", {eq(Selector::meta_l4proto, {kIcmp}), eq(Selector::icmp_type_code, {3, 4}), accept()}));
    r.push_back(rule("icmpv6-pmtu", {eq(Selector::meta_l4proto, {kIcmpv6}), eq(Selector::icmpv6_type, {2}), accept()}));
    r.push_back(rule("invalid", {ct_any(ct_invalid), CounterRef{names::drop_invalid}, drop()}));
    r.push_back(rule("loopback", {eq(Selector::meta_iif, host_u32(1)), accept()}));
    r.push_back(rule("icmp", {eq(Selector::meta_l4proto, {kIcmp}), in_set(Selector::icmp_type, names::icmp_ok), accept()}));
    r.push_back(rule("icmpv6", {eq(Selector::meta_l4proto, {kIcmpv6}), in_set(Selector::icmpv6_type, names::icmpv6_ok), accept()}));
    r.push_back(rule("echo", {eq(Selector::meta_l4proto, {kIcmp}), eq(Selector::icmp_type, {8}), echo, accept()}));
    r.push_back(rule("echov6", {eq(Selector::meta_l4proto, {kIcmpv6}), eq(Selector::icmpv6_type, {128}), echo, accept()}));
    r.push_back(rule("dispatch", {VmapLookup{{Selector::meta_l4proto, Selector::th_dport}, names::services}}));
    r.push_back(rule("not-exposed", {CounterRef{names::drop_not_exposed}, drop()}));
    return c;
}

// Flows another table DNATs to a container, VM or namespace (Docker's `-p 8080:80`) never
// meet the input hook: they are judged here, new ones only, by the port they were sent to
// (conntrack's original destination), through the same services map and service chains.
// Routed traffic nobody DNATed passes: this host is not a router, its owner's routing is
// not ivozfw's to judge. One rule per protocol: nft 1.0.6 types `ct original proto-dst`
// only after a protocol match, and `export` must stay nft text.
Chain forward_chain() {
    Chain c;
    c.name = names::forward;
    c.hook = "forward";
    c.priority = 0;
    c.policy = Verdict::accept;
    auto dnat_new = [] {
        return std::vector<Stmt>{Match{Match::any_bit, {Selector::ct_status}, host_u32(ct_status_dnat), {}},
                                 ct_any(ct_new)};
    };
    for (auto [proto, name] : {std::pair{kTcp, "tcp"}, std::pair{kUdp, "udp"}}) {
        auto st = dnat_new();
        st.push_back(eq(Selector::meta_l4proto, {proto}));
        st.push_back(VmapLookup{{Selector::meta_l4proto, Selector::ct_orig_dport}, names::services});
        c.rules.push_back(rule(std::string("forwarded-dispatch-") + name, std::move(st)));
    }
    auto st = dnat_new();
    st.push_back(CounterRef{names::drop_not_exposed});
    st.push_back(drop());
    c.rules.push_back(rule("forwarded-not-exposed", std::move(st)));
    return c;
}

}  // namespace

bool is_public(const policy::Service& s) { return s.from.empty(); }

Match nfproto_is(bool v6) { return eq(Selector::meta_nfproto, {v6 ? kNfprotoV6 : kNfprotoV4}); }
Match saddr_in(bool v6, const std::string& set) {
    return in_set(v6 ? Selector::ip6_saddr : Selector::ip_saddr, set);
}

Rule make_rule(std::string id, std::vector<Stmt> stmts) {
    Rule r;
    r.id = std::move(id);
    r.stmts = std::move(stmts);
    return r;
}

Set address_set(const std::string& name, bool v6, const net::RangeList& ranges) {
    Set s;
    s.name = name;
    s.key = {v6 ? KeyType::ipv6_addr : KeyType::ipv4_addr};
    s.interval = true;
    s.elements.reserve(ranges.size());
    for (const auto& r : ranges) s.elements.push_back(range_element(v6 ? net::Family::v6 : net::Family::v4, r));
    return s;
}

void put_set(Table& t, Set s) {
    if (!std::is_sorted(s.elements.begin(), s.elements.end())) std::sort(s.elements.begin(), s.elements.end());
    // What the kernel cannot hold as written: a duplicate (stored once, so every apply would
    // send it again) or, in an interval set, an overlap ("File exists"). The policy reader
    // normalizes what it accepts; reaching this is a bug, refused before anything is sent.
    for (size_t i = 1; i < s.elements.size(); ++i) {
        const auto& a = s.elements[i - 1];
        const auto& b = s.elements[i];
        const Key& a_end = a.key_end.empty() ? a.key : a.key_end;
        if (a == b || (s.interval && !(a_end < b.key)))
            throw std::logic_error(fmt::format("set {}: elements {} and {} {}: the kernel cannot hold that", s.name,
                                               format_element(s, a), format_element(s, b),
                                               a == b ? "are the same" : "overlap"));
    }
    t.sets[s.name] = std::move(s);
}

void put_counter(Table& t, const std::string& name, const std::string& comment) {
    t.counters[name] = Counter{name, comment, 0, 0};
}

void per_family(std::vector<Rule>& out, const std::string& id, const std::string& set_base,
                const std::vector<Stmt>& stmts) {
    for (bool v6 : {false, true}) {
        std::vector<Stmt> all{nfproto_is(v6), saddr_in(v6, set_base + (v6 ? "_v6" : "_v4"))};
        all.insert(all.end(), stmts.begin(), stmts.end());
        out.push_back(make_rule(id + (v6 ? "-v6" : "-v4"), std::move(all)));
    }
}

Table compile(const policy::Policy& p, const Sources& src) {
    Table t;
    t.name = p.table;
    add_counter(t, names::drop_invalid, "conntrack state invalid");
    add_counter(t, names::drop_not_exposed, "no exposed service on that port");
    add_counter(t, names::drop_not_allowed, "service restricted to address lists");
    compile_lists(p, t);
    // ICMP errors of known flows come in as ct related; these are the ones that don't.
    add_set(t, value_set(names::icmp_ok, KeyType::icmp_type, {3, 11, 12}));
    add_set(t, value_set(names::icmpv6_ok, KeyType::icmpv6_type, {1, 2, 3, 4, 133, 134, 135, 136}));
    add_set(t, services_map(p));
    exempt_objects(p, src, t);
    geoip_objects(p, src, t);
    antiflood_objects(p, t);
    for (const auto& svc : p.services) add_chain(t, service_chain(p, svc));
    antiflood_chains(p, t);
    add_chain(t, input_chain(p));
    add_chain(t, forward_chain());
    logging_rules(p, t);
    return t;
}

}  // namespace ivozfw::ruleset
