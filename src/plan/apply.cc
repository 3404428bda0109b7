// SPDX-License-Identifier: GPL-2.0-or-later
#include "plan/apply.h"

#include <algorithm>
#include <cerrno>

#include "ruleset/values.h"

namespace ivozfw::plan {

namespace {

bool elem_less(const Element& a, const Element& b) { return a < b; }

[[noreturn]] void refuse(int err, const std::string& what) { throw ApplyError(err, what); }

template <class M>
auto& must_find(M& m, const std::string& name, const char* kind) {
    auto it = m.find(name);
    if (it == m.end()) refuse(ENOENT, std::string(kind) + " " + name + " does not exist");
    return it->second;
}

void change_elements(Set& s, const std::vector<Element>& els, bool add) {
    // Plans and reads hand over sorted lists: copy only what is not (memory: 200k elements).
    std::vector<Element> sorted_copy, out;
    const std::vector<Element>* change = &els;
    if (!std::is_sorted(els.begin(), els.end(), elem_less)) {
        sorted_copy = els;
        std::sort(sorted_copy.begin(), sorted_copy.end(), elem_less);
        change = &sorted_copy;
    }
    if (!std::is_sorted(s.elements.begin(), s.elements.end(), elem_less))
        std::sort(s.elements.begin(), s.elements.end(), elem_less);
    for (const auto& e : *change) {
        bool has = std::binary_search(s.elements.begin(), s.elements.end(), e, elem_less);
        if (add && has) refuse(EEXIST, "set " + s.name + ": element " + ruleset::format_element(s, e) + " exists");
        if (!add && !has)
            refuse(ENOENT, "set " + s.name + ": element " + ruleset::format_element(s, e) + " does not exist");
    }
    if (add && s.elements.empty()) {   // a new set: its elements as they come, no merge
        s.elements = *change;
        return;
    }
    out.reserve(add ? s.elements.size() + change->size() : s.elements.size());   // never grown by doubling
    if (add)
        std::merge(s.elements.begin(), s.elements.end(), change->begin(), change->end(), std::back_inserter(out),
                   elem_less);
    else
        std::set_difference(s.elements.begin(), s.elements.end(), change->begin(), change->end(),
                            std::back_inserter(out), elem_less);
    s.elements = std::move(out);
}

uint64_t next_handle(const Table& t) {
    uint64_t h = 0;
    for (const auto& [n, c] : t.chains)
        for (const auto& r : c.rules) h = std::max(h, r.handle);
    return h + 1;
}

std::vector<Rule>::iterator rule_at(Chain& c, uint64_t handle) {
    auto it = std::find_if(c.rules.begin(), c.rules.end(), [&](const Rule& r) { return r.handle == handle; });
    if (it == c.rules.end()) refuse(ENOENT, "chain " + c.name + ": rule handle " + std::to_string(handle) + " does not exist");
    return it;
}

void apply_op(std::optional<Table>& t, const Op& o, const Table& desired) {
    if (o.verb == Op::add_table) {
        if (!t) {
            t = Table{};
            t->name = o.name;
            t->comment = desired.comment;
        }
        return;
    }
    if (!t) refuse(ENOENT, "table " + o.name + " does not exist");
    switch (o.verb) {
    case Op::add_table: break;
    case Op::delete_table: t.reset(); return;
    case Op::add_counter:
        if (!t->counters.count(o.name)) {
            auto it = desired.counters.find(o.name);
            t->counters[o.name] = Counter{o.name, it == desired.counters.end() ? "" : it->second.comment, 0, 0};
        }
        return;
    case Op::delete_counter:
        must_find(t->counters, o.name, "counter");
        t->counters.erase(o.name);
        return;
    case Op::add_set: {
        if (t->sets.count(o.name)) refuse(EEXIST, "set " + o.name + " exists");
        const Set& d = must_find(const_cast<Table&>(desired).sets, o.name, "desired set");
        // The definition only: its elements come with the plan's add_elements.
        t->sets[o.name] = Set{d.name, d.key, d.interval, d.verdict_map, d.dynamic, d.timeout, d.timeout_ms,
                              d.size, d.comment, {}};
        return;
    }
    case Op::delete_set:
        must_find(t->sets, o.name, "set");
        t->sets.erase(o.name);
        return;
    case Op::add_elements:
    case Op::delete_elements:
        change_elements(must_find(t->sets, o.name, "set"), o.elements, o.verb == Op::add_elements);
        return;
    case Op::add_chain: {
        const Chain& def = must_find(const_cast<Table&>(desired).chains, o.name, "desired chain");
        auto it = t->chains.find(o.name);
        if (it != t->chains.end()) {   // NEWCHAIN on an existing chain updates its policy
            it->second.policy = def.policy;
            return;
        }
        Chain c = def;
        c.rules.clear();
        t->chains[o.name] = std::move(c);
        t->chain_order.push_back(o.name);
        return;
    }
    case Op::delete_chain: {
        Chain& c = must_find(t->chains, o.name, "chain");
        if (!c.rules.empty()) refuse(EBUSY, "chain " + o.name + " is not empty");
        t->chains.erase(o.name);
        std::erase(t->chain_order, o.name);
        return;
    }
    case Op::add_rule: {
        Chain& c = must_find(t->chains, o.name, "chain");
        Rule r = o.rule;
        r.handle = next_handle(*t);
        if (o.before_handle) c.rules.insert(rule_at(c, o.before_handle), std::move(r));
        else c.rules.push_back(std::move(r));
        return;
    }
    case Op::replace_rule: {
        Chain& c = must_find(t->chains, o.name, "chain");
        auto it = rule_at(c, o.rule.handle);
        Rule r = o.rule;
        r.comment.clear();   // plan keeps the old text there for its report
        *it = std::move(r);
        return;
    }
    case Op::delete_rule: {
        Chain& c = must_find(t->chains, o.name, "chain");
        c.rules.erase(rule_at(c, o.rule.handle));
        return;
    }
    }
}

}  // namespace

std::optional<Table> apply(std::optional<Table> live, const Plan& p, const Table& desired, Borrowed borrowed) {
    for (const auto& o : p.ops)
        if (borrowed == Borrowed::copy || !o.elements.borrowed()) apply_op(live, o, desired);
    return live;
}

}  // namespace ivozfw::plan
