// SPDX-License-Identifier: GPL-2.0-or-later
#include "explain/explain.h"
#include "explain/wording.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "ruleset/antiflood.h"
#include "ruleset/compile.h"
#include "ruleset/values.h"

namespace ivozfw::explain {

using namespace ruleset;

namespace {

constexpr uint8_t kTcp = 6, kUdp = 17;
using policy::kExemptLists;

struct Pkt {
    bool v6 = false;
    Bytes saddr;
    uint8_t l4 = kUdp;
    uint16_t dport = 0;
    uint32_t ct = ct_new;   // a new flow: never established, related nor invalid
    bool forwarded = false; // DNATed by another table (conntrack says so after prerouting)
};

std::string proto_name(uint8_t p) { return p == kTcp ? "tcp" : "udp"; }

std::string rate_text(const Limit& l) {
    return fmt::format("{}/{} burst {}", l.rate, ruleset::rate_unit(l.unit_s), l.burst);
}

// Wire bytes of what a selector reads from the packet; nullopt when the packet has no such
// field (an IPv6 address of an IPv4 packet, the ICMP type of a UDP datagram).
std::optional<Bytes> read(const Pkt& p, Selector s) {
    switch (s) {
    case Selector::meta_nfproto: return Bytes{uint8_t(p.v6 ? 10 : 2)};
    case Selector::meta_l4proto: return Bytes{p.l4};
    case Selector::meta_iif: return host_u32(2);   // not lo (ifindex 1)
    case Selector::meta_oif: return std::nullopt;   // an incoming packet has no output device
    case Selector::ct_state: return host_u32(p.ct);
    case Selector::ip_saddr: return p.v6 ? std::nullopt : std::optional<Bytes>(p.saddr);
    case Selector::ip6_saddr: return p.v6 ? std::optional<Bytes>(p.saddr) : std::nullopt;
    case Selector::th_dport: return be_bytes(p.dport, 2);
    case Selector::th_sport: return std::nullopt;   // not part of the question
    case Selector::icmp_type:
    case Selector::icmp_type_code:
    case Selector::icmpv6_type: return std::nullopt;
    case Selector::fib_daddr_type: return host_u32(rtn_local);   // sent to this host (before any DNAT)
    case Selector::ct_status:
        if (p.ct == ct_untracked) return std::nullopt;
        return host_u32(p.forwarded ? ct_status_dnat : 0);
    case Selector::ct_orig_dport: return p.ct == ct_untracked ? std::nullopt : std::optional<Bytes>(be_bytes(p.dport, 2));
    }
    return std::nullopt;
}

std::optional<Bytes> key_of(const Pkt& p, const std::vector<Selector>& sel, const Bytes& mask) {
    Bytes key;
    for (auto s : sel) {
        auto v = read(p, s);
        if (!v) return std::nullopt;
        if (!mask.empty() && mask.size() == v->size())
            for (size_t i = 0; i < v->size(); ++i) (*v)[i] &= mask[i];
        if (sel.size() > 1) v->resize((v->size() + 3) / 4 * 4, 0);
        key.insert(key.end(), v->begin(), v->end());
    }
    return key;
}

const Element* find(const Set& s, const Bytes& bytes) {
    const Key key(bytes);   // compared as element keys are: no conversion per element
    for (const auto& e : s.elements) {
        if (e.key.size() != key.size()) continue;
        const Key& hi = e.key_end.empty() ? e.key : e.key_end;
        if (key >= e.key && key <= hi) return &e;
    }
    return nullptr;
}

struct Walker {
    const Context& c;
    Pkt& p;   // ct turns untracked at a notrack statement
    const net::Address& src;
    Result& r;
    bool done = false;
    // The base chain being walked. An accept in a hook before input (prerouting, before
    // conntrack) only ends that hook: the packet goes on to the input chain.
    std::string base = names::input;
    std::string next_hook = names::input;   // where a packet accepted before conntrack goes on
    bool final_hook = true;
    size_t hook_start = 0;   // steps recorded before this hook

    const Set* set(const std::string& name, bool* from_live) const {
        if (c.live) {
            auto it = c.live->sets.find(name);
            if (it != c.live->sets.end()) {
                *from_live = true;
                return &it->second;
            }
        }
        *from_live = false;
        auto it = c.compiled->sets.find(name);
        return it == c.compiled->sets.end() ? nullptr : &it->second;
    }

    Wording words{c, src};   // what a source lookup means, in the platform's words

    void step(const std::string& chain, const std::string& rule, std::string text, std::string decided,
              bool matched) {
        r.steps.push_back(Step{chain, rule, std::move(text), std::move(decided), matched});
    }

    void finish(bool accepted, const std::string& rule, const std::string& counter, const std::string& why,
                const std::string& decided) {
        done = true;
        if (accepted && !final_hook) return;   // on to the next hook
        r.accepted = accepted;
        r.decided_by = rule;
        r.counter = counter;
        r.reason = accepted ? "" : counter.starts_with("drop_") ? counter.substr(5) : counter.empty() ? "policy" : counter;
        r.summary = fmt::format("{}: {}{}", accepted ? "ACCEPTED" : "DROPPED", why,
                                decided.empty() ? "" : " [" + decided + "]");
    }

    // Drop logging: `counter name drop_x goto log_x`, and chain log_x logs (rate limited)
    // and drops, whatever the limit says.
    bool log_chain(const Verdict& v) const {
        if (v.kind != Verdict::goto_ || !v.chain.starts_with("log_")) return false;
        auto it = c.compiled->chains.find(v.chain);
        if (it == c.compiled->chains.end() || it->second.rules.empty()) return false;
        const auto& last = it->second.rules.back().stmts;
        return last.size() == 1 && std::get_if<Verdict>(&last[0]) &&
               std::get<Verdict>(last[0]).kind == Verdict::drop;
    }

    static std::string counter_of(const Rule& rule) {
        for (const auto& st : rule.stmts)
            if (const auto* c = std::get_if<CounterRef>(&st)) return c->name;
        return "";
    }

    std::string service_of(const std::string& chain) const {
        return chain.starts_with("svc_") ? chain.substr(4) : chain;
    }

    void input_text(const Rule& rule) {
        const std::string& id = rule.id;
        bool untracked = p.ct == ct_untracked;
        if (id == "established")
            step("input", id, untracked ? "not applicable: an untracked datagram has no conntrack state"
                                        : "not applicable: a new packet is not part of an established or related flow",
                 "", false);
        else if (id == "invalid")
            step("input", id, untracked ? "untracked, not invalid" : "conntrack state is new, not invalid", "", false);
        else if (id == "loopback")
            step("input", id, "does not arrive on lo (loopback is always accepted)", "", false);
        else if (id == "icmp")
            step("input", "icmp", fmt::format("not ICMP ({}): the ICMP rules do not apply", proto_name(p.l4)), "", false);
    }

    void chain(const std::string& name) {
        auto it = c.compiled->chains.find(name);
        if (it == c.compiled->chains.end()) {
            finish(false, name, "", "chain " + name + " is missing from the compiled table", "");
            return;
        }
        const Chain& ch = it->second;
        for (const auto& rule : ch.rules) {
            if (done) return;
            run(ch, rule);
        }
        if (done) return;
        if (ch.policy) {
            bool acc = *ch.policy == Verdict::accept;
            // A hook before input that did nothing with the packet (TCP in prerouting): no line.
            if (acc && !final_hook && r.steps.size() == hook_start) {
                done = true;
                return;
            }
            step(name, "policy", fmt::format("end of chain {}: policy {}{}", name, acc ? "accept" : "drop",
                                             acc && !final_hook ? ", on to conntrack and the " + next_hook + " chain" : ""),
                 "chain " + name + " policy", true);
            finish(acc, "chain " + name + " policy", "", "no rule decided, chain policy", "");
        }
    }

    // One rule, statement by statement. Each handler says whether the walk goes on to the
    // rule's next statement or the rule is done (it did not match, or it decided).
    enum class Flow { next, done };
    struct RuleWalk {
        const Chain& ch;
        const Rule& rule;
        std::string counter, text, decided;   // the drop counter; what the source lookups said
        bool metered = false;
    };

    void run(const Chain& ch, const Rule& rule) {
        RuleWalk w{ch, rule, {}, {}, {}, false};
        for (const auto& st : rule.stmts) {
            Flow f = Flow::next;
            if (const auto* m = std::get_if<Match>(&st)) f = match(w, *m);
            else if (const auto* cr = std::get_if<CounterRef>(&st)) w.counter = cr->name;
            else if (const auto* su = std::get_if<SetUpdate>(&st)) f = meter(w, *su);
            else if (const auto* l = std::get_if<Limit>(&st); l && l->over) f = cap(w, *l);
            else if (std::get_if<Notrack>(&st)) notrack(w);
            else if (const auto* vm = std::get_if<VmapLookup>(&st)) f = dispatch(w, *vm);
            else if (const auto* v = std::get_if<Verdict>(&st)) f = verdict(w, *v);
            // a plain Limit (rate limited logging) or a Log changes nothing here
            if (f == Flow::done) return;
        }
        if (!w.text.empty()) step(ch.name, rule.id, w.text, w.decided, true);
    }

    Flow match(RuleWalk& w, const Match& m) {
        const std::string& cn = w.ch.name;
        auto key = key_of(p, m.sel, m.prefix_mask);
        if (m.op == Match::in_set || m.op == Match::not_in_set) {
            bool from_live = false;
            const Set* s = set(m.set, &from_live);
            const Element* e = (s && key) ? find(*s, *key) : nullptr;
            bool in = e != nullptr;
            bool ok = m.op == Match::in_set ? in : !in;
            bool saddr = m.sel.size() == 1 && (m.sel[0] == Selector::ip_saddr || m.sel[0] == Selector::ip6_saddr);
            if (from_live) r.live_sets = true;
            if (saddr) {
                // Several source lookups in one rule (a carrier not GeoIP-dropped): the
                // first names the list that decides, the next ones add their condition.
                std::string d2, t2 = words.membership(m.set, in, e, from_live, &d2);
                if (w.text.empty()) w.text = std::move(t2), w.decided = std::move(d2);
                else w.text += "; " + t2;
            } else if (!ok) {
                if (cn == "input") input_text(w.rule);
                return Flow::done;
            }
            if (!ok) {
                step(cn, w.rule.id, w.text, w.decided, false);
                return Flow::done;
            }
            return Flow::next;
        }
        bool ok = false;
        if (key) {
            if (m.op == Match::eq) ok = *key == m.value;
            else if (m.op == Match::neq) ok = *key != m.value;
            else if (m.op == Match::any_bit)
                for (size_t i = 0; i < key->size() && i < m.value.size(); ++i) ok = ok || ((*key)[i] & m.value[i]);
        }
        if (ok) return Flow::next;
        // The other family's or protocol's twin: not worth a line.
        if (cn == "input") input_text(w.rule);
        return Flow::done;
    }

    // Meters: what they do depends on the traffic. A new packet under the limit passes.
    Flow meter(RuleWalk& w, const SetUpdate& su) {
        std::string base = base_of(su.set);
        std::string what;
        if (su.limit)
            what = fmt::format("metered in set {}: over {} per source it is dropped{}; under the rate it passes", su.set,
                               rate_text(*su.limit), base == "flood" ? " and the source banned" : "");
        else if (su.ct_count_over)
            what = fmt::format("counted in set {}: more than {} concurrent {} per source are dropped; below that it "
                               "passes",
                               su.set, *su.ct_count_over, base == "media" ? "media flows" : "connections");
        else
            return Flow::next;   // a refresh of another set after a meter matched (the ban after the flood meter)
        if (!w.metered) step(w.ch.name, w.rule.id, what, "set " + su.set, false);
        w.metered = true;
        return Flow::done;
    }

    // An aggregate cap (`limit rate over`): like a meter, it depends on the traffic.
    Flow cap(RuleWalk& w, const Limit& l) {
        std::string cn = counter_of(w.rule);
        step(w.ch.name, w.rule.id,
             fmt::format("metered: all sources together over {} are dropped{}; under that it passes", rate_text(l),
                         cn.empty() ? "" : ", counted in " + cn),
             "rule " + w.rule.id, false);
        return Flow::done;
    }

    void notrack(RuleWalk& w) {
        p.ct = ct_untracked;
        step(w.ch.name, w.rule.id, "untracked: conntrack never sees this datagram, so it fills no conntrack entry",
             "rule " + w.rule.id, true);
    }

    Flow dispatch(RuleWalk& w, const VmapLookup& vm) {
        const std::string& cn = w.ch.name;
        auto key = key_of(p, vm.sel, {});
        bool from_live = false;
        const Set* s = set(vm.set, &from_live);
        const Element* e = (s && key) ? find(*s, *key) : nullptr;
        if (from_live) r.live_sets = true;
        bool services = vm.set == names::services;
        if (!e || !e->verdict()) {
            step(cn, w.rule.id,
                 services ? fmt::format("map {} has no entry for {}/{}: port {} is not exposed", vm.set,
                                        proto_name(p.l4), p.dport, p.dport)
                          : fmt::format("map {} has no entry for {}/{}: not metered before conntrack", vm.set,
                                        proto_name(p.l4), p.dport),
                 "map " + vm.set, false);
            return Flow::done;
        }
        const Verdict& v = *e->verdict();
        std::string svc = v.chain.starts_with("flood_") ? v.chain.substr(6) : service_of(v.chain);
        if (services) r.service = svc;
        step(cn, w.rule.id, fmt::format("map {}: {}/{} is {}service {} -> goto {}", vm.set, proto_name(p.l4), p.dport,
                                        services ? "" : "metered ", svc, v.chain),
             "map " + vm.set, true);
        if (v.kind == Verdict::goto_ || v.kind == Verdict::jump) {
            chain(v.chain);
            if (!done && v.kind == Verdict::goto_) {
                // A goto chain that ends without a verdict returns to the base chain's policy.
                auto b = c.compiled->chains.find(base);
                bool acc = b != c.compiled->chains.end() && b->second.policy == Verdict::accept;
                finish(acc, "chain " + base + " policy", "", "no rule decided, chain policy", "");
            }
            return Flow::done;
        }
        finish(v.kind == Verdict::accept, w.rule.id, "", "map verdict", "map " + vm.set);
        return Flow::done;
    }

    Flow verdict(RuleWalk& w, const Verdict& v) {
        const std::string& cn = w.ch.name;
        const Rule& rule = w.rule;
        if (v.kind == Verdict::accept) {
            std::string why = w.text.empty() ? (cn.starts_with("svc_") ? "service " + service_of(cn) + " accepts it"
                                                                       : "accepted by rule " + rule.id)
                                             : w.text;
            if (w.decided.empty()) w.decided = "rule " + rule.id;
            std::string then = final_hook ? "accepted" : "passes before conntrack, on to the " + next_hook + " chain";
            if (!final_hook && w.text.empty()) why = rule.id.ends_with("/to-input") ? "under every meter" : why;
            step(cn, rule.id, (w.text.empty() ? why : w.text) + ": " + then, w.decided, true);
            finish(true, rule.id, "", why, w.decided);
        } else if (v.kind == Verdict::drop || log_chain(v)) {
            std::string why = drop_reason(w);
            if (w.decided.empty()) w.decided = "rule " + rule.id;
            std::string logged = log_chain(v) ? fmt::format(", logged (chain {}, rate limited)", v.chain) : "";
            step(cn, rule.id,
                 fmt::format("{}: dropped{}{}", why, w.counter.empty() ? "" : ", counted in " + w.counter, logged),
                 w.decided, true);
            finish(false, rule.id, w.counter, why, w.decided);
        } else {
            step(cn, rule.id, "-> " + format_verdict(v), "rule " + rule.id, true);
            chain(v.chain);
        }
        return Flow::done;
    }

    std::string drop_reason(const RuleWalk& w) const {
        if (w.rule.id == "not-exposed" || w.counter == "drop_not_exposed")
            return fmt::format("port {}/{} is not exposed", proto_name(p.l4), p.dport);
        if (w.counter == "drop_not_allowed") {
            std::string svc = service_of(w.ch.name);
            std::vector<std::string> from;
            for (const auto& s : c.policy->services)
                if (s.name == svc) from = s.from;
            return fmt::format("service {} only accepts list{} {}", svc, from.size() == 1 ? "" : "s",
                               fmt::join(from, ", "));
        }
        if (w.counter == "drop_not_company") return "source is outside every company's ranges (companies.strict)";
        return w.text.empty() ? "dropped by rule " + w.rule.id : w.text;
    }
};

}  // namespace

std::optional<std::pair<policy::Proto, uint16_t>> parse_proto_port(const std::string& s) {
    auto slash = s.find('/');
    if (slash == std::string::npos) return std::nullopt;
    std::string proto = s.substr(0, slash), port = s.substr(slash + 1);
    policy::Proto pr;
    if (proto == "tcp") pr = policy::Proto::tcp;
    else if (proto == "udp") pr = policy::Proto::udp;
    else return std::nullopt;
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    unsigned long n = std::stoul(port);
    if (n == 0 || n > 65535) return std::nullopt;
    return std::make_pair(pr, uint16_t(n));
}

Result explain(const Context& c, const Packet& in) {
    Result r;
    Pkt p;
    p.v6 = in.src.family == net::Family::v6;
    p.saddr = be_bytes(in.src.value, p.v6 ? 16 : 4);
    p.l4 = uint8_t(in.proto);
    p.dport = in.port;
    p.forwarded = in.forwarded;
    Walker w{c, p, in.src, r};
    // The hooks a packet sent to this host meets, in order: prerouting (anti-flood, before
    // conntrack and before any DNAT), then input; or forward, when another table DNATs it.
    const std::string last = in.forwarded ? names::forward : names::input;
    w.next_hook = last;
    if (c.compiled->chains.count(names::prerouting)) {
        w.base = names::prerouting;
        w.final_hook = false;
        w.hook_start = r.steps.size();
        w.chain(names::prerouting);
        if (w.done && !r.summary.empty()) return r;   // dropped before conntrack
        w.done = false;
    }
    w.base = last;
    w.final_hook = true;
    if (in.forwarded) {
        if (p.ct == ct_untracked) {
            // conntrack skipped it, so no table can DNAT it: it stays a packet for this host.
            w.step(last, "dnat", "untracked before conntrack: no table can DNAT it, it goes to the input chain",
                   "", false);
            w.base = w.next_hook = names::input;
            w.chain(names::input);
            if (!w.done) w.finish(false, "input", "", "no verdict (input chain missing)", "");
            return r;
        }
        w.step(last, "dnat", fmt::format("forwarded: another table DNATs it to a container, VM or namespace; "
                                         "judged by the port it was sent to, {}/{}", proto_name(p.l4), p.dport),
               "", true);
    }
    w.chain(last);
    if (!w.done) w.finish(false, last, "", "no verdict (" + last + " chain missing)", "");
    return r;
}

}  // namespace ivozfw::explain
