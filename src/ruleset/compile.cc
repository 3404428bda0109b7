// SPDX-License-Identifier: GPL-2.0-or-later
#include "ruleset/compile.h"

#include <algorithm>

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

Rule rule(std::string id, std::vector<Stmt> stmts) {
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
    for (const auto& r : ranges) s.elements.push_back(range_element(v6 ? net::Family::v6 : net::Family::v4, r));
    return s;
}

Set value_set(const std::string& name, KeyType t, std::initializer_list<uint8_t> values) {
    Set s;
    s.name = name;
    s.key = {t};
    for (uint8_t v : values) s.elements.push_back(Element{{v}, {}, {}, {}});
    return s;
}

void add_set(Table& t, Set s) {
    std::sort(s.elements.begin(), s.elements.end());
    t.sets[s.name] = std::move(s);
}

void add_counter(Table& t, const std::string& name, const std::string& comment) {
    t.counters[name] = Counter{name, comment, 0, 0};
}

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
Chain service_chain(const policy::Service& svc) {
    Chain c;
    c.name = names::service_chain(svc.name);
    if (svc.from.empty()) {
        c.rules.push_back(rule(svc.name + "/accept", {accept()}));
        return c;
    }
    for (const auto& list : svc.from) {
        c.rules.push_back(rule(svc.name + "/from-" + list + "-v4",
                               {eq(Selector::meta_nfproto, {kNfprotoV4}),
                                in_set(Selector::ip_saddr, names::list_set(list, false)), accept()}));
        c.rules.push_back(rule(svc.name + "/from-" + list + "-v6",
                               {eq(Selector::meta_nfproto, {kNfprotoV6}),
                                in_set(Selector::ip6_saddr, names::list_set(list, true)), accept()}));
    }
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
    r.push_back(rule("established", {ct_any(ct_established | ct_related), accept()}));
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

}  // namespace

Table compile(const policy::Policy& p) {
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
    for (const auto& svc : p.services) add_chain(t, service_chain(svc));
    add_chain(t, input_chain(p));
    return t;
}

}  // namespace ivozfw::ruleset
