// SPDX-License-Identifier: GPL-2.0-or-later
#include "plan/plan.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace ivozfw::plan {

namespace {

// Elements compare by key, then end, then verdict: a vmap entry whose target changed is
// one deletion and one addition.
// By key, range end, then verdict (none first): one three-way compare per field, no copies
// (it runs a few times per element of every set planned).
bool elem_less(const Element& a, const Element& b) {
    if (auto c = a.key <=> b.key; c != 0) return c < 0;
    if (auto c = a.key_end <=> b.key_end; c != 0) return c < 0;
    const auto &va = a.verdict(), &vb = b.verdict();
    if (!va || !vb) return !va && vb;
    if (va->kind != vb->kind) return va->kind < vb->kind;
    return va->chain < vb->chain;
}

std::vector<Element> sorted(std::vector<Element> v) {
    std::sort(v.begin(), v.end(), elem_less);
    return v;
}

std::vector<Element> minus(const std::vector<Element>& a, const std::vector<Element>& b) {
    std::vector<Element> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out), elem_less);
    return out;
}

Op op(Op::Verb v, std::string name, std::string why = {}) {
    Op o{v, std::move(name), {}, {}, 0, std::move(why)};
    return o;
}

// The ops of one phase of the batch; concatenated in a fixed order at the end so that
// nothing is deleted while still referenced and nothing is referenced before it exists.
struct Phases {
    std::vector<Op> del_rules, del_elems, del_sets, del_chains, del_counters;
    std::vector<Op> add_counters, add_sets, add_chains, add_elems, add_rules;
    // Objects gone from the policy go last: a rule replaced in place may still name them
    // until its replacement is in (drop logging off: `goto log_x` -> `drop`).
    std::vector<Op> gone_sets, gone_chains, gone_counters;
    std::vector<Op> join() {
        std::vector<Op> out;
        for (auto* v : {&del_rules, &del_elems, &del_sets, &del_chains, &del_counters,
                        &add_counters, &add_sets, &add_chains, &add_elems, &add_rules,
                        &gone_sets, &gone_chains, &gone_counters})
            for (auto& o : *v) out.push_back(std::move(o));
        return out;
    }
};

// The elements in order, copied only when they are not already (compile and read_table
// both produce sorted lists).
const std::vector<Element>& in_order(const std::vector<Element>& v, std::vector<Element>& copy) {
    if (std::is_sorted(v.begin(), v.end(), elem_less)) return v;
    copy = sorted(v);
    return copy;
}

void element_delta(Phases& ph, const Set& want, const Set& have) {
    if (want.elements == have.elements) return;   // the usual case (no-op apply, status): one pass
    std::vector<Element> wc, hc;
    const auto& w = in_order(want.elements, wc);
    const auto& h = in_order(have.elements, hc);
    auto gone = minus(h, w), added = minus(w, h);
    if (!gone.empty()) {
        auto o = op(Op::delete_elements, want.name);
        o.elements = std::move(gone);
        ph.del_elems.push_back(std::move(o));
    }
    if (!added.empty()) {
        auto o = op(Op::add_elements, want.name);
        o.elements = std::move(added);
        ph.add_elems.push_back(std::move(o));
    }
}

void create_set(Phases& ph, const Set& s, const std::string& why) {
    ph.add_sets.push_back(op(Op::add_set, s.name, why));
    if (!s.dynamic && !s.elements.empty()) {
        auto o = op(Op::add_elements, s.name);
        // compile and read_table produce sorted lists: borrowed, not copied
        if (std::is_sorted(s.elements.begin(), s.elements.end(), elem_less)) o.elements = Elements::borrow(s.elements);
        else o.elements = sorted(s.elements);
        ph.add_elems.push_back(std::move(o));
    }
}

void append_rule(Phases& ph, const std::string& chain, const Rule& r, uint64_t before = 0) {
    auto o = op(Op::add_rule, chain);
    o.rule = r;
    o.before_handle = before;
    ph.add_rules.push_back(std::move(o));
}

void delete_rule(Phases& ph, const std::string& chain, const Rule& r, const std::string& why) {
    auto o = op(Op::delete_rule, chain, why);
    o.rule = r;
    ph.del_rules.push_back(std::move(o));
}

void rebuild_chain(Phases& ph, const Chain& want, const Chain* have, const std::string& why) {
    if (have)
        for (const auto& r : have->rules) delete_rule(ph, have->name, r, why);
    for (const auto& r : want.rules) append_rule(ph, want.name, r);
}

// Rule by rule: keep what matches, replace what changed in place, insert what is new
// before the next kept rule, delete the rest. Falls back to a rebuild when the kept
// rules are out of order.
void rule_delta(Phases& ph, const Chain& want, const Chain& have) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < want.rules.size(); ++i) index.emplace(want.rules[i].id, i);
    std::vector<const Rule*> match(want.rules.size(), nullptr);
    std::vector<const Rule*> extra;
    long last = -1;
    for (const auto& r : have.rules) {
        auto it = r.id.empty() ? index.end() : index.find(r.id);
        if (it == index.end() || match[it->second]) {
            extra.push_back(&r);
            continue;
        }
        if (long(it->second) < last) return rebuild_chain(ph, want, &have, "rules out of order");
        last = long(it->second);
        match[it->second] = &r;
    }
    for (const Rule* r : extra)
        delete_rule(ph, have.name, *r, r->id.empty() ? "not made by ivozfw (hand edit)" : "no longer in the policy");
    for (size_t i = 0; i < want.rules.size(); ++i) {
        const Rule& w = want.rules[i];
        if (const Rule* h = match[i]) {
            if (h->exprs == w.exprs) continue;
            auto o = op(Op::replace_rule, want.name, "changed");
            o.rule = w;
            o.rule.handle = h->handle;
            o.rule.comment = h->exprs;  // what it replaces, for the report
            ph.add_rules.push_back(std::move(o));
            continue;
        }
        uint64_t before = 0;
        for (size_t j = i + 1; j < want.rules.size() && !before; ++j)
            if (match[j]) before = match[j]->handle;
        append_rule(ph, want.name, w, before);
    }
}

Plan plan_sets_only(const Table& desired, const Table& live, const std::set<std::string>& names) {
    Plan p;
    p.table = desired.name;
    p.table_exists = true;
    Phases ph;
    for (const auto& n : names) {
        auto w = desired.sets.find(n), h = live.sets.find(n);
        if (w == desired.sets.end()) throw std::logic_error("plan: no desired set " + n);
        if (h == live.sets.end() || !w->second.same_definition(h->second))
            throw std::runtime_error("set " + n + " is missing or differs in the live table " + live.name +
                                     ": run `ivozfw apply` first");
        element_delta(ph, w->second, h->second);
    }
    p.ops = ph.join();
    return p;
}

void plan_create(Phases& ph, const Table& desired) {
    for (const auto& [n, c] : desired.counters) ph.add_counters.push_back(op(Op::add_counter, n, "new"));
    for (const auto& [n, s] : desired.sets) create_set(ph, s, "new");
    for (const auto& n : desired.chain_order) {
        ph.add_chains.push_back(op(Op::add_chain, n, "new"));
        rebuild_chain(ph, desired.chains.at(n), nullptr, "new");
    }
}

}  // namespace

void Plan::own() {
    for (auto& o : ops) o.elements.own();
}

size_t Plan::element_count() const {
    size_t n = 0;
    for (const auto& o : ops) n += o.elements.size();
    return n;
}

Plan plan(const Table& desired, const std::optional<Table>& live, const Scope& scope) {
    if (scope.sets_only) {
        if (!live) throw std::runtime_error("table inet " + desired.name + " is not loaded: run `ivozfw apply` first");
        return plan_sets_only(desired, *live, *scope.sets_only);
    }
    Plan p;
    p.table = desired.name;
    p.table_exists = live.has_value();
    Phases ph;
    if (!live) {
        p.ops.push_back(op(Op::add_table, desired.name, "new"));
        plan_create(ph, desired);
        for (auto& o : ph.join()) p.ops.push_back(std::move(o));
        return p;
    }
    // A redefined set, chain or counter is deleted and created again; every rule is then
    // rebuilt, since any of them may reference it.
    bool rebuild = false;
    // Counters: create what is missing, drop what is no longer named; values are never
    // touched. A changed comment means delete + create (the kernel keeps the first one).
    for (const auto& [n, c] : desired.counters) {
        auto h = live->counters.find(n);
        if (h == live->counters.end()) ph.add_counters.push_back(op(Op::add_counter, n, "new"));
        else if (h->second.comment != c.comment) {
            ph.del_counters.push_back(op(Op::delete_counter, n, "comment changed"));
            ph.add_counters.push_back(op(Op::add_counter, n, "comment changed"));
            rebuild = true;
        }
    }
    for (const auto& [n, c] : live->counters)
        if (!desired.counters.count(n)) ph.gone_counters.push_back(op(Op::delete_counter, n, "no longer in the policy"));

    for (const auto& [n, s] : desired.sets) {
        auto h = live->sets.find(n);
        if (h == live->sets.end()) create_set(ph, s, "new");
        else if (!s.same_definition(h->second)) {
            ph.del_sets.push_back(op(Op::delete_set, n, "definition changed"));
            create_set(ph, s, "definition changed");
            rebuild = true;
        } else if (!s.dynamic) element_delta(ph, s, h->second);
    }
    for (const auto& [n, s] : live->sets)
        if (!desired.sets.count(n)) ph.gone_sets.push_back(op(Op::delete_set, n, "no longer in the policy"));
    for (const auto& [n, c] : desired.chains) {
        auto h = live->chains.find(n);
        if (h != live->chains.end() && (c.hook != h->second.hook || c.priority != h->second.priority)) rebuild = true;
    }
    for (const auto& [n, c] : live->chains)
        if (!desired.chains.count(n)) {
            for (const auto& r : c.rules) delete_rule(ph, n, r, "chain no longer in the policy");
            ph.gone_chains.push_back(op(Op::delete_chain, n, "no longer in the policy"));
        }
    for (const auto& n : desired.chain_order) {
        const Chain& want = desired.chains.at(n);
        auto h = live->chains.find(n);
        if (h == live->chains.end()) {
            ph.add_chains.push_back(op(Op::add_chain, n, "new"));
            rebuild_chain(ph, want, nullptr, "new");
        } else if (want.hook == h->second.hook && want.priority == h->second.priority &&
                   want.policy != h->second.policy) {
            // Only the policy differs (someone flipped it): NEWCHAIN updates it in place.
            ph.add_chains.push_back(op(Op::add_chain, n, "policy changed"));
            if (rebuild) rebuild_chain(ph, want, &h->second, "a set or chain it may use was redefined");
            else rule_delta(ph, want, h->second);
        } else if (!want.same_definition(h->second)) {
            ph.del_chains.push_back(op(Op::delete_chain, n, "definition changed"));
            ph.add_chains.push_back(op(Op::add_chain, n, "definition changed"));
            for (const auto& r : h->second.rules) delete_rule(ph, n, r, "chain definition changed");
            rebuild_chain(ph, want, nullptr, "chain definition changed");
        } else if (rebuild) {
            rebuild_chain(ph, want, &h->second, "a set or chain it may use was redefined");
        } else {
            rule_delta(ph, want, h->second);
        }
    }
    p.ops = ph.join();
    return p;
}

Plan plan_remove(const std::optional<Table>& live, const std::string& table) {
    Plan p;
    p.table = table;
    p.table_exists = live.has_value();
    if (live) p.ops.push_back(op(Op::delete_table, table, "ivozfw remove"));
    return p;
}

}  // namespace ivozfw::plan
