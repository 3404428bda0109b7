// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "plan/plan.h"
#include "ruleset/values.h"

using namespace ivozfw;
using namespace ivozfw::ruleset;
using plan::Op;

namespace {

Rule rule(const std::string& id, const std::string& exprs, uint64_t handle = 0) {
    Rule r;
    r.id = id;
    r.exprs = exprs;
    r.handle = handle;
    return r;
}

Set v4set(const std::string& name, std::vector<net::Range> ranges) {
    Set s;
    s.name = name;
    s.key = {KeyType::ipv4_addr};
    s.interval = true;
    for (auto r : ranges) s.elements.push_back(range_element(net::Family::v4, r));
    return s;
}

Table base() {
    Table t;
    t.sets["admin_v4"] = v4set("admin_v4", {{0xC0000200, 0xC00002FF}, {0xC6336400, 0xC6336400}});
    t.counters["drop_x"] = Counter{"drop_x", {}, 0, 0};
    Chain c;
    c.name = "input";
    c.hook = "input";
    c.policy = Verdict::drop;
    c.rules = {rule("a", "A"), rule("b", "B"), rule("c", "C")};
    t.chains["input"] = c;
    t.chain_order = {"input"};
    return t;
}

// The live copy of a desired table, as read_table would return it (handles 10, 11, ...).
Table live_of(Table t) {
    uint64_t h = 10;
    for (auto& [n, c] : t.chains)
        for (auto& r : c.rules) r.handle = h++;
    return t;
}

std::vector<Op::Verb> verbs(const plan::Plan& p) {
    std::vector<Op::Verb> v;
    for (const auto& o : p.ops) v.push_back(o.verb);
    return v;
}

}  // namespace

TEST_CASE("a missing table is created whole, in dependency order") {
    auto d = base();
    auto p = plan::plan(d, std::nullopt);
    REQUIRE(verbs(p) == std::vector<Op::Verb>{Op::add_table, Op::add_counter, Op::add_set, Op::add_chain,
                                              Op::add_elements, Op::add_rule, Op::add_rule, Op::add_rule});
    CHECK(p.element_count() == 2);
    CHECK(p.ops[5].before_handle == 0);
}

TEST_CASE("a set created whole borrows the desired elements; own() copies them") {
    auto d = base();
    auto p = plan::plan(d, std::nullopt);
    const auto& add = p.ops.at(4);
    REQUIRE(add.verb == Op::add_elements);
    CHECK(add.elements.borrowed());
    CHECK(&add.elements.get() == &d.sets.begin()->second.elements);   // no copy
    // out of order (a set built by hand): sorted into a list of its own
    auto u = base();
    auto& els = u.sets.begin()->second.elements;
    std::reverse(els.begin(), els.end());
    auto q = plan::plan(u, std::nullopt);
    CHECK_FALSE(q.ops.at(4).elements.borrowed());
    CHECK(std::is_sorted(q.ops.at(4).elements.begin(), q.ops.at(4).elements.end()));
    // a copy owns its elements: it cannot dangle when the table goes
    auto copy = p;
    CHECK_FALSE(copy.ops.at(4).elements.borrowed());
    CHECK(copy.ops.at(4).elements.get() == d.sets.begin()->second.elements);
    CHECK(p.ops.at(4).elements.borrowed());   // the original still borrows
    auto moved = std::move(copy);
    CHECK_FALSE(moved.ops.at(4).elements.borrowed());
    // own(): the plan outlives the table
    p.own();
    CHECK_FALSE(p.ops.at(4).elements.borrowed());
    CHECK(p.ops.at(4).elements.get() == d.sets.begin()->second.elements);
}

TEST_CASE("an identical live table plans nothing") {
    auto d = base();
    CHECK(plan::plan(d, live_of(d)).empty());
}

TEST_CASE("set elements are diffed one by one") {
    auto d = base();
    auto live = live_of(d);
    d.sets["admin_v4"] = v4set("admin_v4", {{0xC0000200, 0xC00002FF}, {0xCB007100, 0xCB0071FF}});
    auto p = plan::plan(d, live);
    REQUIRE(verbs(p) == std::vector<Op::Verb>{Op::delete_elements, Op::add_elements});
    CHECK(p.ops[0].elements.size() == 1);
    CHECK(element_range(p.ops[0].elements[0]).lo == 0xC6336400);
    CHECK(element_range(p.ops[1].elements[0]).lo == 0xCB007100);
}

TEST_CASE("a rule added by hand is deleted, a changed rule replaced in place") {
    auto d = base();
    auto live = live_of(d);
    live.chains["input"].rules.insert(live.chains["input"].rules.begin() + 1, rule("", "HAND", 99));
    live.chains["input"].rules[3].exprs = "C-edited";   // rule c, handle 12
    auto p = plan::plan(d, live);
    REQUIRE(verbs(p) == std::vector<Op::Verb>{Op::delete_rule, Op::replace_rule});
    CHECK(p.ops[0].rule.handle == 99);
    CHECK(p.ops[0].why.find("hand edit") != std::string::npos);
    CHECK(p.ops[1].rule.handle == 12);
    CHECK(p.ops[1].rule.id == "c");
}

TEST_CASE("a new rule is inserted before the next kept rule; a deleted one removed") {
    auto d = base();
    auto live = live_of(d);
    d.chains["input"].rules = {rule("a", "A"), rule("n", "N"), rule("c", "C")};
    auto p = plan::plan(d, live);
    REQUIRE(verbs(p) == std::vector<Op::Verb>{Op::delete_rule, Op::add_rule});
    CHECK(p.ops[0].rule.id == "b");
    CHECK(p.ops[1].rule.id == "n");
    CHECK(p.ops[1].before_handle == 12);   // rule c
}

TEST_CASE("rules out of order rebuild the chain") {
    auto d = base();
    auto live = live_of(d);
    std::swap(live.chains["input"].rules[0], live.chains["input"].rules[2]);
    auto v = verbs(plan::plan(d, live));
    CHECK(std::count(v.begin(), v.end(), Op::delete_rule) == 3);
    CHECK(std::count(v.begin(), v.end(), Op::add_rule) == 3);
}

TEST_CASE("kernel-filled sets keep their elements; a changed definition recreates the set") {
    auto d = base();
    Set ban;
    ban.name = "ban_v4";
    ban.key = {KeyType::ipv4_addr};
    ban.dynamic = ban.timeout = true;
    ban.size = 1000;
    d.sets["ban_v4"] = ban;
    auto live = live_of(d);
    Element banned{{198, 51, 100, 7}};
    banned.set().expires_ms = 5000;
    live.sets["ban_v4"].elements.push_back(banned);
    CHECK(plan::plan(d, live).empty());

    d.sets["ban_v4"].size = 2000;
    auto p = plan::plan(d, live);
    auto v = verbs(p);
    CHECK(std::find(v.begin(), v.end(), Op::delete_set) != v.end());
    CHECK(std::find(v.begin(), v.end(), Op::add_set) != v.end());
    CHECK(std::count(v.begin(), v.end(), Op::add_rule) == 3);   // rules may reference it: rebuilt
}

TEST_CASE("a scoped plan touches only the named sets") {
    auto d = base();
    auto live = live_of(d);
    live.chains["input"].rules.push_back(rule("", "HAND", 99));
    d.sets["admin_v4"].elements.pop_back();
    auto p = plan::plan(d, live, plan::Scope{std::set<std::string>{"admin_v4"}});
    REQUIRE(verbs(p) == std::vector<Op::Verb>{Op::delete_elements});
    CHECK_THROWS(plan::plan(d, std::nullopt, plan::Scope{std::set<std::string>{"admin_v4"}}));
}

TEST_CASE("objects no longer in the policy are deleted, rules before what they use") {
    auto d = base();
    auto live = live_of(d);
    d.sets.erase("admin_v4");
    d.counters.erase("drop_x");
    auto p = plan::plan(d, live);
    CHECK(verbs(p) == std::vector<Op::Verb>{Op::delete_set, Op::delete_counter});
    CHECK(plan::plan_remove(live, "ivozfw").ops.at(0).verb == Op::delete_table);
    CHECK(plan::plan_remove(std::nullopt, "ivozfw").empty());
}

TEST_CASE("a base chain whose policy was flipped by hand is updated in place") {
    auto d = base();
    auto live = live_of(d);
    live.chains["input"].policy = Verdict::accept;
    auto p = plan::plan(d, live);
    REQUIRE(verbs(p) == std::vector<Op::Verb>{Op::add_chain});
    CHECK(p.ops[0].why == "policy changed");
}
