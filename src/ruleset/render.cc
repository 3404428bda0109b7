// SPDX-License-Identifier: GPL-2.0-or-later
#include "ruleset/render.h"

#include <fmt/format.h>

#include <algorithm>

#include "ruleset/values.h"

namespace ivozfw::ruleset {

namespace {

std::string selector(Selector s) {
    switch (s) {
    case Selector::meta_nfproto: return "meta nfproto";
    case Selector::meta_l4proto: return "meta l4proto";
    case Selector::meta_iif: return "iif";
    case Selector::meta_oif: return "oif";
    case Selector::ct_state: return "ct state";
    case Selector::ip_saddr: return "ip saddr";
    case Selector::ip6_saddr: return "ip6 saddr";
    case Selector::th_dport: return "th dport";
    case Selector::th_sport: return "th sport";
    case Selector::icmp_type:
    case Selector::icmp_type_code: return "icmp type";
    case Selector::icmpv6_type: return "icmpv6 type";
    case Selector::fib_daddr_type: return "fib daddr type";
    case Selector::ct_status: return "ct status";
    case Selector::ct_orig_dport: return "ct original proto-dst";
    }
    return "?";
}

std::string ct_states(uint32_t mask) {
    static const std::pair<uint32_t, const char*> bits[] = {
        {ct_invalid, "invalid"}, {ct_established, "established"}, {ct_related, "related"},
        {ct_new, "new"}, {ct_untracked, "untracked"}};
    std::string out;
    for (auto [bit, name] : bits)
        if (mask & bit) out += (out.empty() ? "" : ",") + std::string(name);
    return out;
}

uint32_t host_value(const Bytes& b) {
    uint32_t v = 0;
    std::copy_n(b.begin(), std::min<size_t>(4, b.size()), reinterpret_cast<uint8_t*>(&v));
    return v;
}

std::string value(Selector s, const Bytes& b) {
    switch (s) {
    case Selector::meta_nfproto: return b.at(0) == 2 ? "ipv4" : b.at(0) == 10 ? "ipv6" : std::to_string(b.at(0));
    case Selector::meta_l4proto: return format_key(KeyType::inet_proto, b.data());
    case Selector::meta_iif:
    case Selector::meta_oif: return host_value(b) == 1 ? "\"lo\"" : std::to_string(host_value(b));
    case Selector::ct_state: return ct_states(host_value(b));
    case Selector::ip_saddr: return format_key(KeyType::ipv4_addr, b.data());
    case Selector::ip6_saddr: return format_key(KeyType::ipv6_addr, b.data());
    case Selector::th_dport:
    case Selector::th_sport: return format_key(KeyType::inet_service, b.data());
    case Selector::icmp_type: return format_key(KeyType::icmp_type, b.data());
    case Selector::icmp_type_code:
        return format_key(KeyType::icmp_type, b.data()) + " icmp code " +
               (b.at(1) == 4 ? std::string("frag-needed") : std::to_string(b.at(1)));
    case Selector::icmpv6_type: return format_key(KeyType::icmpv6_type, b.data());
    case Selector::fib_daddr_type: return host_value(b) == rtn_local ? "local" : std::to_string(host_value(b));
    case Selector::ct_status: return host_value(b) == ct_status_dnat ? "dnat" : std::to_string(host_value(b));
    case Selector::ct_orig_dport: return format_key(KeyType::inet_service, b.data());
    }
    return "?";
}

std::string selectors(const std::vector<Selector>& sel) {
    std::string out;
    for (auto s : sel) out += (out.empty() ? "" : " . ") + selector(s);
    return out;
}

// `ip6 saddr & ffff:ffff:ffff:ffff::` (the mask spelled like a value of the selector).
std::string masked(const std::vector<Selector>& sel, const Bytes& mask) {
    if (mask.empty()) return selectors(sel);
    return selectors(sel) + " & " + value(sel.at(0), mask);
}

std::string limit_text(const Limit& l) {
    return fmt::format("limit rate {}{}/{} burst {} packets", l.over ? "over " : "", l.rate,
                       rate_unit(l.unit_s), l.burst);
}

struct StmtText {
    std::string operator()(const Match& m) const {
        std::string sel = masked(m.sel, m.prefix_mask);
        // With a mask nft wants an explicit operator before a set reference.
        switch (m.op) {
        case Match::eq:
            return sel + (m.prefix_mask.empty() ? " " : " == ") + value(m.sel.at(0), m.value);
        case Match::any_bit: return sel + " " + value(m.sel.at(0), m.value);
        case Match::neq: return sel + " != " + value(m.sel.at(0), m.value);
        case Match::in_set: return sel + (m.prefix_mask.empty() ? " @" : " == @") + m.set;
        case Match::not_in_set: return sel + " != @" + m.set;
        }
        return "?";
    }
    std::string operator()(const SetUpdate& u) const {
        std::string out = fmt::format("{} @{} {{ {}", u.op == SetUpdate::update ? "update" : "add",
                                      u.set, masked({u.sel}, u.prefix_mask));
        if (u.limit) out += " " + limit_text(*u.limit);
        if (u.ct_count_over) out += fmt::format(" ct count over {}", *u.ct_count_over);
        return out + " }";
    }
    std::string operator()(const CounterRef& c) const { return fmt::format("counter name \"{}\"", c.name); }
    std::string operator()(const Limit& l) const { return limit_text(l); }
    std::string operator()(const Log& l) const { return fmt::format("log prefix \"{}\"", l.prefix); }
    std::string operator()(const VmapLookup& v) const { return selectors(v.sel) + " vmap @" + v.set; }
    std::string operator()(const Verdict& v) const { return format_verdict(v); }
    std::string operator()(const Notrack&) const { return "notrack"; }
};

std::string type_line(const Set& s) {
    std::string key;
    for (auto t : s.key) key += (key.empty() ? "" : " . ") + std::string(key_name(t));
    return "type " + key + (s.verdict_map ? " : verdict" : "") + ";";
}

std::string duration(uint64_t ms) {
    if (ms % 1000) return std::to_string(ms) + "ms";
    return std::to_string(ms / 1000) + "s";
}

void render_elements(std::string& out, const Set& s) {
    if (s.dynamic || s.elements.empty()) return;
    out += "\t\telements = { ";
    for (size_t i = 0; i < s.elements.size(); ++i) {
        if (i) out += i % 4 ? ", " : ",\n\t\t\t     ";
        out += format_element(s, s.elements[i]);
    }
    out += " }\n";
}

}  // namespace

std::string one_line(const std::string& exprs) {
    std::string out;
    for (char c : exprs)
        if (c != '\n') out += c;
        else if (!out.empty() && out.back() != ' ') out += ' ';
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string render_stmt(const Stmt& s) { return std::visit(StmtText{}, s); }

std::string render_rule(const Rule& r) {
    std::string out;
    for (const auto& s : r.stmts) out += (out.empty() ? "" : " ") + render_stmt(s);
    if (r.stmts.empty()) out = r.exprs.empty() ? "<rule>" : "kernel expressions: " + one_line(r.exprs);
    if (!r.id.empty()) out += fmt::format(" comment \"{}\"", rule_comment(r.id));
    else if (!r.comment.empty()) out += fmt::format(" comment \"{}\"", r.comment);
    return out;
}

std::string render_set_head(const Set& s) {
    std::string out = type_line(s);
    std::vector<std::string> flags;
    if (s.interval) flags.push_back("interval");
    if (s.dynamic) flags.push_back("dynamic");
    if (s.timeout) flags.push_back("timeout");
    if (s.size) out += fmt::format(" size {};", s.size);
    if (!flags.empty()) out += " flags " + fmt::format("{}", fmt::join(flags, ",")) + ";";
    if (s.timeout_ms) out += " timeout " + duration(s.timeout_ms) + ";";
    if (!s.comment.empty()) out += fmt::format(" comment \"{}\";", s.comment);
    return out;
}

std::string render_chain_head(const Chain& c) {
    if (c.hook.empty()) return "";
    std::string prio = c.priority == 0      ? "filter"
                       : c.priority == -300 ? "raw"
                                            : std::to_string(c.priority);
    std::string out = fmt::format("type filter hook {} priority {};", c.hook, prio);
    if (c.policy) out += c.policy == Verdict::drop ? " policy drop;" : " policy accept;";
    return out;
}

std::string render_script(const Table& t) {
    std::string out = fmt::format(
        "#!/usr/sbin/nft -f\n# Generated by ivozfw {}: the whole table, replaced atomically.\n"
        "table inet {}\ndelete table inet {}\n\ntable inet {} {{\n",
        IVOZFW_VERSION, t.name, t.name, t.name);
    for (const auto& [name, c] : t.counters)
        out += c.comment.empty() ? fmt::format("\tcounter {} {{\n\t}}\n", name)
                                 : fmt::format("\tcounter {} {{\n\t\tcomment \"{}\"\n\t}}\n", name, c.comment);
    for (const auto& [name, s] : t.sets) {
        out += fmt::format("\n\t{} {} {{\n\t\t{}\n", s.verdict_map ? "map" : "set", name, render_set_head(s));
        render_elements(out, s);
        out += "\t}\n";
    }
    for (const auto& name : t.chain_order) {
        const Chain& c = t.chains.at(name);
        out += fmt::format("\n\tchain {} {{\n", name);
        if (!c.hook.empty()) out += "\t\t" + render_chain_head(c) + "\n";
        for (const auto& r : c.rules) out += "\t\t" + render_rule(r) + "\n";
        out += "\t}\n";
    }
    return out + "}\n";
}

}  // namespace ivozfw::ruleset
