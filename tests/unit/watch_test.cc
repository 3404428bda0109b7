// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw watch's decisions against the in-memory fake kernel, the generation events fed by
// hand: who committed, what it touched, and what the watcher does about it.
#include <catch2/catch.hpp>

#include <syslog.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "fake_kernel.h"
#include "nft/element_cache.h"
#include "nft/netlink.h"
#include "plan/plan.h"
#include "ruleset/compile.h"
#include "watch/watch.h"

using namespace ivozfw;
using test::FakeKernel;

namespace {

ruleset::Table policy_table(const std::string& admin) {
    auto t = ruleset::compile(policy::load_text(R"({
      "lists": { "admin": [")" + admin + R"("] },
      "services": { "sip": { "udp": [5060] }, "ssh": { "tcp": [22], "from": ["admin"] } },
      "antiflood": { "services": ["sip"] }
    })", "p.json"));
    nft::annotate(t);
    return t;
}

struct Rig {
    FakeKernel k;
    std::vector<nft::Generation> queue;   // what the next drain yields
    bool lose = false;                    // the next drain says events were lost
    std::vector<std::string> log;
    watch::Watcher w;
    ruleset::Table a = policy_table("192.0.2.10"), b = policy_table("192.0.2.20");

    explicit Rig(watch::Config c = {})
        : w(c, k,
            [this](std::vector<nft::Generation>& out) {
                for (auto& g : queue) out.push_back(std::move(g));
                queue.clear();
                return !std::exchange(lose, false);
            },
            [this](int, const std::string& l) { log.push_back(l); }) {}

    // Someone commits a plan to the fake; the event says who and what.
    void commit(const ruleset::Table& desired, const std::string& process, bool table_deleted = false) {
        auto p = plan::plan(desired, k.table);
        k.commit(p, desired, 0, false);
        nft::Generation g;
        g.genid = k.gen;
        g.pid = process == "ivozfw" ? 0 : 4242;   // no /proc look-up of a pid that may exist here
        g.process = process;
        g.structure = true;
        g.table_deleted = table_deleted;
        g.what[table_deleted ? "table deleted" : "rule added to chain input"] = 1;
        queue.push_back(std::move(g));
    }
    void flush(const std::string& process = "nft") {
        k.table.reset();
        ++k.gen;
        nft::Generation g;
        g.genid = k.gen, g.pid = process == "ivozfw" ? 0 : 4242, g.process = process, g.table_deleted = true;
        g.what["table deleted"] = 1;
        queue.push_back(std::move(g));
    }
    // The kernel holds `t`, committed by ivozfw, and watch has started on it.
    void started_on(const ruleset::Table& t) {
        commit(t, "ivozfw");
        queue.clear();
        w.start();
    }
    bool equals(const ruleset::Table& t) { return k.table && plan::plan(t, k.table).empty(); }
    std::string last() { return log.empty() ? "" : log.back(); }
    bool logged(const std::string& part) {
        return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; });
    }
};

}  // namespace

TEST_CASE("watch: a flush by another tool is restored and the culprit named") {
    Rig r;
    r.started_on(r.a);   // the live table is the committed one
    r.flush();
    r.w.step();
    CHECK(r.equals(r.a));
    CHECK(r.w.stats().restores == 1);
    CHECK(r.last().find("table inet ivozfw deleted by pid 4242 (nft); restored in") != std::string::npos);
}

TEST_CASE("watch: ivozfw's own commit is obeyed, then restored as the new committed table") {
    Rig r;
    r.started_on(r.a);
    r.commit(r.b, "ivozfw");   // ivozfw apply with another policy
    r.w.step();
    CHECK(r.equals(r.b));
    CHECK(r.w.stats().restores == 0);
    r.flush();
    r.w.step();
    CHECK(r.equals(r.b));       // not a
    r.flush("ivozfw");          // ivozfw remove: stays removed
    r.w.step();
    CHECK(!r.k.table);
    CHECK(!r.w.baseline());
    r.commit(r.a, "nft");       // another tool creating a table of our name: left alone
    r.w.step();
    CHECK(r.w.stats().restores == 1);
}

TEST_CASE("watch: a hand edit by another tool is reverted; report mode only counts") {
    Rig r;
    r.started_on(r.a);
    r.commit(r.b, "nft");
    r.w.step();
    CHECK(r.equals(r.a));
    watch::Config report;
    report.restore = false;
    Rig q(report);
    q.started_on(q.a);
    q.flush();
    q.w.step();
    CHECK(!q.k.table);
    CHECK(q.w.stats().drifts == 1);
    CHECK(q.w.stats().restores == 0);
    CHECK(q.last().find("not restored (watch.drift is \"report\")") != std::string::npos);
}

TEST_CASE("watch: backs off after `burst` restores within the window, resumes when quiet") {
    watch::Config c;
    c.burst = 2;
    c.window = std::chrono::seconds(60);
    c.quiet = std::chrono::milliseconds(30);
    Rig r(c);
    r.started_on(r.a);
    for (int i = 0; i < 2; ++i) {
        r.flush();
        r.w.step();
        CHECK(r.equals(r.a));
    }
    r.flush();
    r.w.step();
    CHECK(!r.k.table);   // third in the window: backing off
    CHECK(r.w.stats().backing_off);
    CHECK(r.last().find("BACKING OFF") != std::string::npos);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!r.k.table && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(r.w.next_due());
        r.w.step();
    }
    CHECK(r.equals(r.a));   // quiet for 30 ms: compared and restored
    CHECK(!r.w.stats().backing_off);
}

TEST_CASE("watch: ivozfw's commit and another tool's flush in one read: the older table, said loudly") {
    Rig r;
    r.started_on(r.a);
    r.commit(r.b, "ivozfw");
    r.flush();
    r.w.step();
    CHECK(r.equals(r.a));   // fail closed: the last table watch knew, never no table
    CHECK(r.logged("just before another tool changed table"));
}

TEST_CASE("watch: lost events: a missing table is restored, a changed one taken as it is") {
    Rig r;
    r.started_on(r.a);
    r.k.table.reset();
    ++r.k.gen;
    r.lose = true;
    r.w.step();
    CHECK(r.equals(r.a));
    auto p = plan::plan(r.b, r.k.table);
    r.k.commit(p, r.b, 0, false);
    r.lose = true;
    r.w.step();
    CHECK(r.equals(r.b));   // cannot tell who: never fights, says so
    CHECK(r.w.stats().restores == 1);
    CHECK(r.logged("events were lost"));
}

TEST_CASE("watch: another tool's change, then an element-only commit of ivozfw: only ivozfw's sets are taken") {
    Rig r;
    r.started_on(r.a);
    // nft removes an element of the services map...
    auto& services = r.k.table->sets.at("services").elements;
    REQUIRE(!services.empty());
    services.pop_back();
    nft::Generation f;
    f.genid = ++r.k.gen, f.pid = 4242, f.process = "nft";
    f.element_sets = {"services"};
    f.what["element deleted from set services"] = 1;
    r.queue.push_back(f);
    // ...and before watch reads, ivozfw syncs the admin list (elements of admin_v4 only).
    auto p = plan::plan(r.b, r.k.table, plan::Scope{std::set<std::string>{"admin_v4", "exempt_v4"}});
    r.k.commit(p, r.b, 0, false);
    nft::Generation o;
    o.genid = r.k.gen, o.process = "ivozfw";
    o.element_sets = {"admin_v4", "exempt_v4"};
    r.queue.push_back(o);
    r.w.step();
    CHECK(r.equals(r.b));   // ivozfw's admin list kept, the services element put back
    CHECK(r.w.stats().restores == 1);
    CHECK(r.w.stats().last_drift.find("by pid 4242 (nft) before ivozfw's commit") != std::string::npos);
}

TEST_CASE("watch: other tables' commits move the element cache on, those seen while handling ours too") {
    char tmpl[] = "/tmp/ivozfw-watch-unit.XXXXXX";
    std::string dir = mkdtemp(tmpl);
    watch::Config c;
    c.cache_path = dir + "/elements.cache";
    Rig r(c);
    r.started_on(r.a);
    // ivozfw applies b and writes its cache, valid at its generation...
    r.commit(r.b, "ivozfw");
    auto cache = nft::ElementCache::of(r.k.table, r.b.name);
    cache.boot_id = nft::boot_id();
    cache.netns_cookie = r.k.cookie;
    cache.genid = r.k.gen;
    cache.save(c.cache_path);
    // ...and another tool commits to its own table while watch reads ours after that commit.
    auto other = [&] {
        nft::Generation g;
        g.genid = ++r.k.gen;
        g.process = "nft";
        return g;
    };
    int reads = 0;
    r.k.after_read = [&] {
        if (reads++ == 0) r.queue.push_back(other());
    };
    r.w.step();
    REQUIRE(r.equals(r.b));
    auto peeked = nft::ElementCache::peek(c.cache_path);
    REQUIRE(peeked);
    CHECK(peeked->genid == r.k.gen);   // vouched for the generation drained during the read
    r.queue.push_back(other());        // later ones, contiguous: vouched too
    r.w.step();
    CHECK(nft::ElementCache::peek(c.cache_path)->genid == r.k.gen);
    std::filesystem::remove_all(dir);
}
