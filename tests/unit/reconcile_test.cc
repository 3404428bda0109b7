// SPDX-License-Identifier: GPL-2.0-or-later
// The plan + commit path against the in-memory fake kernel: retries, deadline, writers'
// lock, the element cache and its checks, all-or-nothing refusals, the rollback restore.
#include <catch2/catch.hpp>

#include <thread>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "cli/confirm.h"
#include "fake_kernel.h"
#include "io/atomic_file.h"
#include "io/lock.h"
#include "nft/element_cache.h"
#include "nft/netlink.h"
#include "nft/reconcile.h"
#include "ruleset/compile.h"
#include "ruleset/snapshot.h"

using namespace ivozfw;
using test::FakeKernel;

namespace {

const char* kPolicy = R"({
  "lists": { "admin": ["192.0.2.10", "2001:db8:a::/48"], "application_servers": ["198.51.100.0/28"] },
  "services": {
    "sip": { "udp": [5060], "tcp": [5060] },
    "ssh": { "tcp": [22], "from": ["admin"] }
  },
  "antiflood": { "services": ["sip"] }
})";

ruleset::Table compiled(const std::string& extra_admin = "") {
    std::string text = kPolicy;
    if (!extra_admin.empty()) text.replace(text.find("\"192.0.2.10\""), 12, "\"192.0.2.10\", \"" + extra_admin + "\"");
    auto t = ruleset::compile(policy::load_text(text, "p.json"));
    nft::annotate(t);
    return t;
}

// reconcile takes the desired table by reference and its plan may borrow from it: tables
// that outlive every call.
const ruleset::Table& desired() {
    static const auto t = compiled();
    return t;
}
const ruleset::Table& desired20() {
    static const auto t = compiled("192.0.2.20");
    return t;
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/ivozfw-unit.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

nft::ReconcileOptions options(const TempDir& d) {
    nft::ReconcileOptions opt;
    opt.cache_path = d.path + "/elements.cache";
    opt.lock_path = d.path + "/writers.lock";
    opt.deadline = std::chrono::milliseconds(300);
    return opt;
}

// A table applied by reconcile, with the element cache that commit wrote.
struct Applied {
    FakeKernel k;
    TempDir d;
    ruleset::Table want = compiled();
    std::string cache = d.path + "/elements.cache";
    uintmax_t size = 0;
    std::filesystem::file_time_type written;
    Applied() {
        REQUIRE(nft::reconcile(k, want, options(d)).committed);
        size = std::filesystem::file_size(cache);
        written = std::filesystem::last_write_time(cache);
    }
    /// The cache file as the apply wrote it, its generation moved on in the side file.
    bool cache_untouched() const {
        return std::filesystem::file_size(cache) == size && std::filesystem::last_write_time(cache) == written &&
               std::filesystem::exists(cache + ".gen");
    }
};

// One ban element added to ban_v4 (what ivozfw ban and bansync commit).
plan::Plan ban_plan(const ruleset::Table& want, const std::optional<ruleset::Table>& live, uint8_t last,
                    const char* why) {
    plan::Plan p;
    p.table = want.name;
    p.table_exists = live.has_value();
    ruleset::Element e;
    e.key = {203, 0, 113, last};
    e.set().timeout_ms = 60000;
    p.ops.push_back(plan::Op{plan::Op::add_elements, "ban_v4", {e}, {}, 0, why});
    return p;
}

}  // namespace

TEST_CASE("reconcile: first apply, then nothing to do; the generation moves by one per commit") {
    FakeKernel k;
    TempDir d;
    auto want = compiled();
    auto out = nft::reconcile(k, want, options(d));
    CHECK(out.committed);
    CHECK(out.attempts == 1);
    CHECK(k.gen == 2);
    REQUIRE(k.table);
    CHECK(k.table->sets.at("admin_v4").elements.size() == 1);
    auto again = nft::reconcile(k, want, options(d));
    CHECK(again.plan.empty());
    CHECK_FALSE(again.committed);
    CHECK(k.gen == 2);
}

TEST_CASE("reconcile: a lost generation race is read, planned and committed again") {
    FakeKernel k;
    TempDir d;
    int raced = 0;
    k.before_commit = [&] {
        if (raced++ == 0) k.foreign_commit();
    };
    auto out = nft::reconcile(k, desired(), options(d));
    CHECK(out.committed);
    CHECK(out.attempts == 2);
    CHECK(k.reads == 2);
}

TEST_CASE("reconcile: a writer that never stops: give up at the deadline, nothing changed") {
    FakeKernel k;
    TempDir d;
    nft::reconcile(k, desired(), options(d));
    auto before = k.table;
    k.before_commit = [&] { k.foreign_commit(); };
    auto t0 = std::chrono::steady_clock::now();
    try {
        nft::reconcile(k, desired20(), options(d));
        FAIL("reconcile succeeded against a writer that commits before every batch");
    } catch (const nft::KernelError& e) {
        CHECK(std::string(e.what()).find("kept changing") != std::string::npos);
        CHECK(e.changed == nft::Changed::no);
    }
    auto spent = std::chrono::steady_clock::now() - t0;
    CHECK(spent >= std::chrono::milliseconds(300));
    CHECK(spent < std::chrono::seconds(5));
    CHECK(k.commits > 3);   // it kept trying, with backoff
    CHECK(ruleset::snapshot_to_json(k.table, "ivozfw") == ruleset::snapshot_to_json(before, "ivozfw"));
}

TEST_CASE("reconcile: a refused batch changes nothing and says so") {
    FakeKernel k;
    TempDir d;
    nft::reconcile(k, desired(), options(d));
    auto before = ruleset::snapshot_to_json(k.table, "ivozfw");
    k.refuse_next = EINVAL;
    CHECK_THROWS_AS(nft::reconcile(k, desired20(), options(d)), nft::KernelError);
    CHECK(ruleset::snapshot_to_json(k.table, "ivozfw") == before);
    CHECK(k.gen == 2);
}

TEST_CASE("reconcile: ivozfw's writers take turns on the lock; a held lock times out cleanly") {
    FakeKernel k;
    TempDir d;
    auto opt = options(d);
    opt.lock_wait = std::chrono::milliseconds(300);
    io::FileLock other(opt.lock_path, std::chrono::seconds(1), "pid 1: ban");
    CHECK(io::FileLock::held_by_other(opt.lock_path));
    try {
        nft::reconcile(k, desired(), opt);
        FAIL("reconcile ran while another writer held the lock");
    } catch (const io::LockTimeout& e) {
        CHECK(std::string(e.what()).find("pid 1: ban") != std::string::npos);
    }
    CHECK(k.commits == 0);
    // dry runs (diff, status, explain) never wait for writers
    opt.dry_run = true;
    CHECK_NOTHROW(nft::reconcile(k, desired(), opt));
}

TEST_CASE("element cache: used after our own commit, dropped after anyone else's") {
    FakeKernel k;
    TempDir d;
    nft::reconcile(k, desired(), options(d));
    REQUIRE(std::filesystem::exists(d.path + "/elements.cache"));
    nft::reconcile(k, desired(), options(d));
    CHECK(k.cache_reads == 1);
    k.foreign_commit();
    nft::reconcile(k, desired(), options(d));
    CHECK(k.cache_reads == 1);   // generation moved: dumped, not cached
}

TEST_CASE("element cache: the sets a fresh apply created are written from the desired table, whole") {
    Applied a;
    auto l = nft::ElementCache::load(a.cache);
    REQUIRE(l.cache);
    size_t sets = 0;
    for (const auto& [n, s] : a.want.sets) {
        if (s.dynamic) continue;
        ++sets;
        REQUIRE(l.cache->sets.count(n));
        CHECK(l.cache->sets.at(n) == s.elements);
    }
    CHECK(sets >= 4);
    CHECK(l.cache->sets.at("admin_v4").size() == 1);
}

TEST_CASE("element cache: a flipped bit is discarded with a warning, never believed") {
    FakeKernel k;
    TempDir d;
    nft::reconcile(k, desired(), options(d));
    std::string path = d.path + "/elements.cache";
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    REQUIRE(bytes.size() > 40);
    bytes[bytes.size() - 10] ^= 0x01;
    std::ofstream(path, std::ios::binary) << bytes;
    auto l = nft::ElementCache::load(path);
    CHECK_FALSE(l.cache);
    CHECK(l.problem.find("checksum") != std::string::npos);
    auto out = nft::reconcile(k, desired(), options(d));
    CHECK(out.plan.empty());   // no phantom change
    CHECK(k.cache_reads == 0);
    REQUIRE(out.warnings.size() == 1);
    CHECK(out.warnings[0].find("discarded") != std::string::npos);
    // truncated: likewise
    std::ofstream(path, std::ios::binary) << bytes.substr(0, 20);
    CHECK(nft::ElementCache::load(path).problem.find("truncated") != std::string::npos);
}

TEST_CASE("element cache: a kernel refusal that contradicts it drops it and plans from a real read") {
    FakeKernel k;
    TempDir d;
    auto want = compiled();
    nft::reconcile(k, want, options(d));
    // A cache that is well-formed but wrong: it says admin_v4 holds 192.0.2.99 too.
    auto lie = nft::ElementCache::of(k.table, "ivozfw");
    lie.boot_id = nft::boot_id();
    lie.netns_cookie = k.cookie;
    lie.genid = k.gen;
    auto wrong = compiled("192.0.2.99");
    lie.sets["admin_v4"] = wrong.sets.at("admin_v4").elements;
    lie.save(d.path + "/elements.cache");
    // Desired: 192.0.2.20 in, 192.0.2.99 (which the cache invents) out -> the delete is refused.
    auto out = nft::reconcile(k, desired20(), options(d));
    CHECK(out.committed);
    CHECK(out.attempts == 2);
    REQUIRE_FALSE(out.warnings.empty());
    CHECK(out.warnings[0].find("element cache") != std::string::npos);
    CHECK(k.table->sets.at("admin_v4").elements == compiled("192.0.2.20").sets.at("admin_v4").elements);
}

TEST_CASE("plan::apply: the kernel's refusals") {
    auto want = compiled();
    auto p = plan::plan(want, std::nullopt);
    auto t = plan::apply(std::nullopt, p, want);
    REQUIRE(t);
    plan::Plan again;
    again.table = "ivozfw";
    plan::Op add{plan::Op::add_elements, "admin_v4", t->sets.at("admin_v4").elements, {}, 0, ""};
    again.ops = {add};
    CHECK_THROWS_AS(plan::apply(t, again, want), plan::ApplyError);
    again.ops = {plan::Op{plan::Op::delete_set, "nonexistent", {}, {}, 0, ""}};
    try {
        plan::apply(t, again, want);
        FAIL("deleting a missing set was accepted");
    } catch (const plan::ApplyError& e) {
        CHECK(e.err == ENOENT);
    }
}

TEST_CASE("rollback restore: the kernel ends equal to the snapshot, comments included") {
    FakeKernel k;
    TempDir d;
    auto a = compiled();
    a.counters.begin()->second.comment = "a comment to keep";
    nft::reconcile(k, a, options(d));
    auto snap = ruleset::snapshot_to_json(k.table, "ivozfw");
    // What an unconfirmed apply did: another admin, and that counter recreated without comment.
    auto b = compiled("192.0.2.20");
    nft::reconcile(k, b, options(d));
    REQUIRE(k.table->counters.begin()->second.comment != "a comment to keep");
    cli::Options o;
    o.state.path = d.path;
    o.state.write_sealed(cli::confirm::kSnapshot, snap);
    o.state.write_sealed(cli::confirm::kState, {{"token", "t"}, {"state", "armed"}, {"table", "ivozfw"},
                                               {"armed_ms", 1}, {"deadline_ms", 2}});
    std::string line = cli::confirm::restore(o, k);
    CHECK(line.find("equals the snapshot") != std::string::npos);
    CHECK(ruleset::comparable(ruleset::snapshot_to_json(k.table, "ivozfw")) == ruleset::comparable(snap));
    auto st = o.state.read_sealed(cli::confirm::kState);
    CHECK(st->at("state") == "rolled_back");
    CHECK(st->at("verified") == true);
}

TEST_CASE("confirm state: one changed byte or an unknown state is damage, never \"nothing pending\"") {
    TempDir d;
    cli::Options o;
    o.state.path = d.path;
    o.state.write_sealed(cli::confirm::kState, {{"token", "t"}, {"state", "armed"}, {"table", "ivozfw"},
                                               {"armed_ms", 1}, {"deadline_ms", 2}});
    REQUIRE(cli::confirm::pending(o)->at("state") == "armed");
    std::string file = d.path + "/" + cli::confirm::kState;
    std::string text = io::read_file(file, 1 << 20);
    // Every single-byte change is noticed: it no longer parses, or its checksum fails.
    size_t caught = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        std::string bad = text;
        bad[i] = char(bad[i] ^ 0x01);
        io::write_atomic(file, bad);
        try {
            auto st = cli::confirm::pending(o);
            INFO(bad);
            CHECK(st.has_value() == false);   // only a missing file is "nothing pending"
        } catch (const cli::Damaged&) {
            ++caught;
        }
    }
    CHECK(caught == text.size());
    // "armex" with a correct checksum (a hand edit that resealed it) is damage too.
    o.state.write_sealed(cli::confirm::kState, {{"token", "t"}, {"state", "armex"}});
    CHECK_THROWS_AS(cli::confirm::pending(o), cli::Damaged);
    CHECK_FALSE(cli::confirm::orphaned(o));   // the boot applies the policy (and says why)
}

TEST_CASE("confirm state: rollback restores from the watcher's copy when the snapshot file is damaged") {
    FakeKernel k;
    TempDir d;
    nft::reconcile(k, desired(), options(d));
    auto snap = ruleset::snapshot_to_json(k.table, "ivozfw");
    nft::reconcile(k, desired20(), options(d));
    cli::Options o;
    o.state.path = d.path;
    o.state.write_sealed(cli::confirm::kSnapshot, snap);
    io::write_atomic(d.path + "/" + cli::confirm::kState, "{\"state\": \"armed\", \"tok");   // torn
    io::write_atomic(d.path + "/" + cli::confirm::kSnapshot, "{}");                          // damaged
    CHECK_THROWS_AS(cli::confirm::restore(o, k), cli::Damaged);   // no copy: refuses, changes nothing
    CHECK(plan::plan(desired20(), k.table).empty());
    std::string line = cli::confirm::restore(o, k, &snap);
    CHECK(line.find("equals the snapshot") != std::string::npos);
    CHECK(plan::plan(desired(), k.table).empty());
    CHECK(cli::confirm::pending(o)->at("state") == "rolled_back");   // rewritten, sealed
}

TEST_CASE("reconcile: a ban (dynamic set only, no cached reads) keeps the element cache valid without rewriting it") {
    Applied a;
    auto& k = a.k;
    auto& d = a.d;
    const auto& want = a.want;
    const auto& cache = a.cache;
    auto ban = options(d);
    ban.read_only = {"ban_v4"};
    ban.cache_reads = false;
    uint8_t next = 7;
    ban.make_plan = [&](const std::optional<ruleset::Table>& live) { return ban_plan(want, live, next, "ban"); };
    int reads = k.cache_reads;
    REQUIRE(nft::reconcile(k, want, ban).committed);
    ++next;
    CHECK(k.cache_reads == reads);   // the ban did not read the cache's elements
    CHECK(a.cache_untouched());
    // the next full read uses the cache at the new generation
    auto again = nft::reconcile(k, want, options(d));
    CHECK(again.plan.empty());
    CHECK(k.cache_reads == reads + 1);
    // a foreign commit in between: the cache is left as it is (the ban changed nothing it
    // holds) but no longer matches the generation, so it is not used
    k.foreign_commit();
    REQUIRE(nft::reconcile(k, want, ban).committed);
    auto left = nft::ElementCache::peek(cache);
    CHECK((!left || !left->valid_for("ivozfw", k.gen, k.cookie)));
    nft::reconcile(k, want, options(d));
    CHECK(k.cache_reads == reads + 1);
}

TEST_CASE("reconcile: dynamic-only commits after cached reads (bansync) move the cache on, never rewrite it") {
    Applied a;
    auto& k = a.k;
    auto& d = a.d;
    const auto& want = a.want;
    const auto& cache = a.cache;
    auto sync = options(d);
    sync.read_only = {"ban_v4", "exempt_v4"};   // the exemptions come from the cache
    uint8_t next = 7;
    bool saw_exempt = false;
    sync.make_plan = [&](const std::optional<ruleset::Table>& live) {
        saw_exempt = live && !live->sets.at("exempt_v4").elements.empty();
        return ban_plan(want, live, next, "fleet ban");
    };
    int reads = k.cache_reads;
    for (int i = 0; i < 3; ++i, ++next) REQUIRE(nft::reconcile(k, want, sync).committed);
    CHECK(saw_exempt);
    CHECK(k.cache_reads == reads + 3);   // each batch read the exemptions from the cache...
    CHECK(a.cache_untouched());   // ...and left the file as it was
    // still valid for a full read three generations on
    auto again = nft::reconcile(k, want, options(d));
    CHECK(again.plan.empty());
    CHECK(k.cache_reads == reads + 4);
    // a batch that changes a cached (non-dynamic) set rewrites it as before
    auto cached = sync;
    cached.make_plan = [&](const std::optional<ruleset::Table>& live) {
        plan::Plan p;
        p.table = want.name;
        p.table_exists = live.has_value();
        ruleset::Element e;
        e.key = {192, 0, 2, 99};
        p.ops.push_back(plan::Op{plan::Op::add_elements, "exempt_v4", {e}, {}, 0, "test"});
        return p;
    };
    REQUIRE(nft::reconcile(k, want, cached).committed);
    CHECK_FALSE(std::filesystem::exists(cache + ".gen"));
    auto l = nft::ElementCache::load(cache);
    REQUIRE(l.cache);
    bool has99 = false;
    for (const auto& e : l.cache->sets.at("exempt_v4")) has99 = has99 || e.key == ruleset::Bytes{192, 0, 2, 99};
    CHECK(has99);
    CHECK(l.cache->sets.at("exempt_v4").size() == want.sets.at("exempt_v4").elements.size() + 1);
    // the sets this scoped commit did not read are saved whole (their elements were never
    // moved out of the cache), the ones it read as the commit left them
    CHECK(l.cache->sets.at("admin_v4") == want.sets.at("admin_v4").elements);
    CHECK(l.cache->sets.at("admin_v6") == want.sets.at("admin_v6").elements);
    CHECK_FALSE(want.sets.at("admin_v4").elements.empty());
    // and a full read from it plans only the difference the scoped commit made
    auto full = nft::reconcile(k, want, options(d));
    REQUIRE(full.plan.ops.size() == 1);
    CHECK(full.plan.ops[0].name == "exempt_v4");
    CHECK(full.plan.ops[0].verb == plan::Op::delete_elements);
}

TEST_CASE("reconcile following events: another table's commit before ours costs no re-read") {
    TempDir dir;
    FakeKernel k;
    k.events = true;
    bool raced = false;
    k.before_commit = [&] {
        if (!raced) raced = true, k.foreign_commit();   // a commit to some other table
    };
    auto out = nft::reconcile(k, desired(), options(dir));
    REQUIRE(out.committed);
    CHECK(k.reads == 1);      // the read was still good: the same plan, at the new generation
    CHECK(k.commits == 2);
    CHECK(out.attempts == 2);
    REQUIRE(k.table);
    CHECK(plan::plan(desired(), k.table).empty());
}

TEST_CASE("reconcile following events: a commit that touched our table is read again") {
    TempDir dir;
    FakeKernel k;
    k.events = true;
    bool raced = false;
    k.before_commit = [&] {
        if (!raced) raced = true, k.foreign_commit_touching();
    };
    auto out = nft::reconcile(k, desired(), options(dir));
    REQUIRE(out.committed);
    CHECK(k.reads == 2);
    CHECK(plan::plan(desired(), k.table).empty());
}

TEST_CASE("reconcile following events: a commit to our table between the lock-free read and the lock") {
    TempDir dir;
    FakeKernel k;
    k.events = true;
    int n = 0;
    k.after_read = [&] {
        if (n++ == 0) k.foreign_commit_touching();   // another writer's commit, before our lock
    };
    auto out = nft::reconcile(k, desired(), options(dir));
    REQUIRE(out.committed);
    CHECK(k.reads == 2);     // read again, under the lock
    CHECK(k.commits == 1);   // and never sent against the stale read
}

TEST_CASE("reconcile following events: another table's commit during the read costs nothing") {
    TempDir dir;
    FakeKernel k;
    k.events = true;
    int n = 0;
    k.after_read = [&] {
        if (n++ == 0) k.foreign_commit();
    };
    auto out = nft::reconcile(k, desired(), options(dir));
    REQUIRE(out.committed);
    CHECK(k.reads == 1);
    CHECK(k.commits == 1);
}

namespace {
// A table whose cache is worth waiting for (the wait is bounded by what a dump would cost):
// 40,000 intervals in one list.
const ruleset::Table& bulk(bool other) {
    static const auto make = [](bool o) {
        std::string text = kPolicy, list = "\"bulk\": [";
        for (int i = 0; i < 40000; ++i) list += fmt::format("{}\"2001:db8:{:x}:{:x}::/64\"", i ? "," : "", i >> 8, (i & 0xff) * 2);
        text.replace(text.find("\"lists\": {") + 10, 0, list + (o ? ",\"2001:db8:ffff::/64\"" : "") + "], ");
        auto t = ruleset::compile(policy::load_text(text, "p.json"));
        nft::annotate(t);
        return t;
    };
    static const auto a = make(false), b = make(true);
    return other ? b : a;
}
}  // namespace

TEST_CASE("reconcile following events: a stale cache waits for watch to vouch for it, then is used") {
    FakeKernel k;
    TempDir d;
    auto opt = options(d);
    opt.deadline = std::chrono::milliseconds(5000);
    REQUIRE(nft::reconcile(k, bulk(false), opt).committed);   // cache valid at this generation
    k.events = true;
    for (int i = 0; i < 3; ++i) k.foreign_commit();   // other tables, before this command listens
    opt.cache_catch_up = std::chrono::milliseconds(2000);
    auto base = nft::ElementCache::peek(opt.cache_path);
    REQUIRE(base);
    // ivozfw watch, which followed those commits, moves the cache on a moment later.
    uint32_t now = k.gen;
    std::thread watch([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        nft::ElementCache::bump(opt.cache_path, *base, now);
    });
    auto out = nft::reconcile(k, bulk(true), opt);
    watch.join();
    REQUIRE(out.committed);
    CHECK(k.cache_reads == 1);   // no dump of the cached sets
    CHECK(plan::plan(bulk(true), k.table).empty());
}

TEST_CASE("reconcile following events: nobody vouches for a stale cache: wait a bounded time, then dump") {
    FakeKernel k;
    TempDir d;
    auto opt = options(d);
    opt.deadline = std::chrono::milliseconds(5000);
    REQUIRE(nft::reconcile(k, bulk(false), opt).committed);
    k.events = true;
    k.foreign_commit();
    opt.cache_catch_up = std::chrono::milliseconds(100);
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(nft::reconcile(k, bulk(true), opt).committed);
    auto spent = std::chrono::steady_clock::now() - t0;
    CHECK(k.cache_reads == 0);
    CHECK(spent >= std::chrono::milliseconds(100));
    // A small table never waits: its dump costs less than the wait (and without watch,
    // cache_catch_up 0, nothing ever waits).
    FakeKernel s;
    TempDir d2;
    auto o2 = options(d2);
    REQUIRE(nft::reconcile(s, desired(), o2).committed);
    s.events = true;
    s.foreign_commit();
    o2.cache_catch_up = std::chrono::milliseconds(2000);
    t0 = std::chrono::steady_clock::now();
    REQUIRE(nft::reconcile(s, desired20(), o2).committed);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
    CHECK(s.cache_reads == 0);
}
