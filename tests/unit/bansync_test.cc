// SPDX-License-Identifier: GPL-2.0-or-later
// bansync against the fake kernel and a fake Redis: what it publishes, what it applies and
// what it refuses, malformed messages, and Redis going away and coming back.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <thread>

#include "cli/commands.h"
#include "fake_kernel.h"

#include <nlohmann/json.hpp>
#include "fleet/bansync.h"
#include "fleet/message.h"
#include "nft/reconcile.h"
#include "ruleset/compile.h"
#include "ruleset/values.h"

using namespace ivozfw;
using test::FakeKernel;

namespace {

const char* kPolicy = R"({
  "lists": { "admin": ["192.0.2.10"], "application_servers": ["198.51.100.0/28"] },
  "services": { "sip": { "udp": [5060] }, "ssh": { "tcp": [22], "from": ["admin"] } },
  "antiflood": { "services": ["sip"], "ban": "300s" }
})";

struct FakeRedis final : fleet::Redis {
    bool up = true, is_connected = false;
    std::map<std::string, std::pair<std::string, uint64_t>> keys;   // key -> value, ttl
    std::vector<std::string> published, inbox;
    int connects = 0;

    void connect(const std::string&) override {
        if (!up) throw fleet::RedisError("redis fake: connection refused");
        is_connected = true;
        ++connects;
    }
    bool connected() const override { return is_connected; }
    void disconnect() override { is_connected = false; }
    std::string where() const override { return "fake:6379"; }
    void check() {
        if (!up) {
            is_connected = false;
            throw fleet::RedisError("redis fake: connection lost");
        }
    }
    void set(const std::string& k, const std::string& v, uint64_t ttl) override { check(), keys[k] = {v, ttl}; }
    void del(const std::string& k) override { check(), keys.erase(k); }
    void publish(const std::string&, const std::string& m) override { check(), published.push_back(m); }
    std::vector<std::string> values(const std::string&) override {
        check();
        std::vector<std::string> out;
        for (const auto& [k, v] : keys) out.push_back(v.first);
        return out;
    }
    std::vector<std::string> receive(int) override {
        check();
        auto out = std::move(inbox);
        inbox.clear();
        return out;
    }
    bool master_unchanged() override { return true; }
};

struct Recorder final : fleet::BanRecorder {
    std::vector<std::string> rows;
    bool down = false;
    void record(const std::string& a) override {
        if (down) throw std::runtime_error("database down");
        rows.push_back(a);
    }
};

constexpr int64_t kNow = 1'800'000'000'000;
const std::string kKey = "0123456789abcdef0123456789abcdef";   // the fleet's key in these tests

struct Fleet {
    FakeKernel k;
    FakeRedis redis;
    Recorder rec;
    ruleset::Table table;
    std::vector<std::string> log;
    std::string dir;
    int64_t clock = kNow;   // the wall clock (ban ends)
    int64_t mono = 1000;    // the schedule's clock
    void advance(int64_t ms) { clock += ms, mono += ms; }
    std::unique_ptr<fleet::BanSync> sync;

    explicit Fleet(uint32_t set_size = 262144) {
        table = ruleset::compile(policy::load_text(kPolicy, "p.json"));
        nft::annotate(table);
        char tmpl[] = "/tmp/ivozfw-bansync.XXXXXX";
        dir = mkdtemp(tmpl);
        nft::ReconcileOptions opt;
        opt.lock_path = dir + "/writers.lock";
        opt.deadline = std::chrono::milliseconds(300);
        REQUIRE(nft::reconcile(k, table, opt).committed);
        fleet::SyncConfig c;
        c.host = "proxy-a";
        c.key = kKey;
        c.max_ban_ms = 3600 * 1000;
        c.set_size = set_size;
        c.poll_ms = 0;
        c.batch_ms = 0;
        sync = std::make_unique<fleet::BanSync>(c, k, table, opt, redis, &rec,
                                                [this](const std::string& l) { log.push_back(l); },
                                                [this] { return clock; }, [this] { return mono; });
    }
    ~Fleet() { std::filesystem::remove_all(dir); }

    ruleset::Set& bans() { return k.table->sets.at("ban_v4"); }
    void local_ban(const char* addr, uint64_t left_ms, const std::string& comment = "") {
        ruleset::Element e;
        e.key = ruleset::be_bytes(net::parse_address(addr)->value, 4);
        e.set().timeout_ms = 300000;
        e.set().expires_ms = left_ms;
        e.set().comment = comment;
        bans().elements.push_back(e);
        ++k.gen;
    }
    const ruleset::Element* ban_of(const char* addr) {
        auto key = ruleset::be_bytes(net::parse_address(addr)->value, 4);
        for (const auto& e : bans().elements)
            if (e.key == key) return &e;
        return nullptr;
    }
    static std::string remote(const char* addr, int64_t expires, const char* origin = "proxy-b",
                              const char* op = "ban") {
        nlohmann::json j{{"v", 2}, {"op", op}, {"address", addr}, {"origin", origin}, {"ts", kNow}};
        if (std::string(op) == "ban") j["reason"] = "antiflood", j["expires_ms"] = expires;
        return fleet::sign(j.dump(), kKey);   // signed as any host of the fleet would
    }
};

}  // namespace

TEST_CASE("bansync: a new local ban is published once, with its remaining time, and recorded") {
    Fleet f;
    f.sync->step();   // connects, loads nothing
    CHECK(f.redis.connects == 1);
    f.local_ban("203.0.113.7", 250000);
    f.sync->step();
    REQUIRE(f.redis.keys.count("ivozfw:ban:203.0.113.7") == 1);
    auto [value, ttl] = f.redis.keys.at("ivozfw:ban:203.0.113.7");
    CHECK(ttl == 250000);
    std::string why;
    auto m = fleet::decode(value, 64, kKey, kNow, fleet::Freshness::stored, &why);
    REQUIRE(m);
    CHECK(m->origin == "proxy-a");
    CHECK(m->reason == "antiflood");
    CHECK(m->expires_ms == kNow + 250000);
    CHECK(f.redis.published.size() == 1);
    CHECK(f.rec.rows == std::vector<std::string>{"203.0.113.7"});
    f.sync->step();
    CHECK(f.redis.published.size() == 1);   // not again
    CHECK(f.rec.rows.size() == 1);
}

TEST_CASE("bansync: remote bans are applied in one transaction, capped by max_ban, exemptions skipped") {
    Fleet f;
    f.sync->step();
    uint32_t gen = f.k.gen;
    f.redis.inbox = {Fleet::remote("203.0.113.8", kNow + 7200 * 1000), Fleet::remote("203.0.113.9", kNow + 60000),
                     Fleet::remote("198.51.100.5", kNow + 60000),   // an application server here
                     Fleet::remote("203.0.113.10", kNow - 1000),    // expired
                     Fleet::remote("203.0.113.11", kNow + 60000, "proxy-a")};   // our own
    f.sync->step();
    CHECK(f.k.gen == gen + 1);   // one transaction
    REQUIRE(f.ban_of("203.0.113.8"));
    CHECK(f.ban_of("203.0.113.8")->timeout_ms() == 3600 * 1000u);   // max_ban
    CHECK(f.ban_of("203.0.113.8")->comment() == "fleet:proxy-b:antiflood");
    CHECK(f.ban_of("203.0.113.9")->timeout_ms() == 60000u);
    CHECK_FALSE(f.ban_of("198.51.100.5"));
    CHECK_FALSE(f.ban_of("203.0.113.10"));
    CHECK_FALSE(f.ban_of("203.0.113.11"));
    CHECK(f.sync->stats().ignored == 1);
    // fleet bans are not published back
    f.sync->step();
    CHECK(f.redis.published.empty());
    // an unban removes it
    f.redis.inbox = {Fleet::remote("203.0.113.9", 0, "proxy-c", "unban")};
    f.sync->step();
    CHECK_FALSE(f.ban_of("203.0.113.9"));
    CHECK(f.ban_of("203.0.113.8"));
}

TEST_CASE("bansync: a message the kernel refuses is found by halving and dropped; the others apply at once") {
    Fleet f;
    f.sync->step();
    // The kernel refuses any batch holding 203.0.113.13 (say, an element it will not hold).
    f.k.refuse_if = [](const plan::Plan& p) {
        for (const auto& op : p.ops)
            for (const auto& e : op.elements.get())
                if (e.key == ruleset::Key{203, 0, 113, 13}) return EINVAL;
        return 0;
    };
    f.redis.inbox = {Fleet::remote("203.0.113.12", kNow + 60000), Fleet::remote("203.0.113.13", kNow + 60000),
                     Fleet::remote("203.0.113.14", kNow + 60000), Fleet::remote("203.0.113.15", kNow + 60000),
                     Fleet::remote("203.0.113.16", kNow + 60000)};
    f.sync->step();   // one step: no retry loop, no wait for the next turn
    for (const char* a : {"203.0.113.12", "203.0.113.14", "203.0.113.15", "203.0.113.16"}) {
        INFO(a);
        CHECK(f.ban_of(a));
    }
    CHECK_FALSE(f.ban_of("203.0.113.13"));
    bool dropped = false;
    for (const auto& l : f.log) dropped |= l.find("dropped the fleet message about 203.0.113.13") != std::string::npos;
    CHECK(dropped);
    // and it does not come back: the next messages apply in one transaction
    uint32_t gen = f.k.gen;
    f.redis.inbox = {Fleet::remote("203.0.113.17", kNow + 60000)};
    f.sync->step();
    CHECK(f.ban_of("203.0.113.17"));
    CHECK(f.k.gen == gen + 1);
}

TEST_CASE("bansync: a wall clock stepped back an hour stops neither polling nor publishing") {
    Fleet f;
    f.sync->step();
    f.clock -= 3600 * 1000;   // someone sets the clock back (the schedule's clock does not move)
    f.local_ban("203.0.113.50", 100000);
    f.sync->step();
    f.sync->step();
    CHECK(f.redis.keys.count("ivozfw:ban:203.0.113.50") == 1);
}

TEST_CASE("bansync: malformed messages are counted and dropped, the next one still applies") {
    Fleet f;
    f.sync->step();
    f.redis.inbox = {"not json", "{}", R"({"v":999,"op":"ban"})", std::string(5000, '['),
                     Fleet::remote("203.0.113.300", kNow + 60000), Fleet::remote("203.0.113.12", kNow + 60000, "bad host!"),
                     R"({"v":1,"op":"ban","address":"203.0.113.12","reason":"antiflood","expires_ms":"soon","origin":"x"})",
                     R"({"v":1,"op":"ban","address":"2001:db8::/32","reason":"antiflood","expires_ms":1,"origin":"x"})",
                     Fleet::remote("203.0.113.13", kNow + 60000)};
    f.sync->step();
    CHECK(f.sync->stats().malformed == 8);
    CHECK(f.ban_of("203.0.113.13"));
    CHECK_FALSE(f.ban_of("203.0.113.12"));
}

TEST_CASE("bansync: with Redis away, local bans wait; when it is back they go out and live keys load") {
    Fleet f;
    f.redis.up = false;
    f.sync->step();
    f.local_ban("203.0.113.20", 100000);
    f.sync->step();
    CHECK(f.redis.published.empty());
    CHECK(f.rec.rows.size() == 1);   // the database is not Redis
    f.redis.up = true;
    f.redis.keys["ivozfw:ban:203.0.113.21"] = {Fleet::remote("203.0.113.21", kNow + 90000, "proxy-c"), 90000};
    f.sync->step();
    CHECK_FALSE(f.redis.connected());   // the backoff is not over
    f.advance(3000);
    f.sync->step();
    REQUIRE(f.redis.connected());
    f.sync->step();
    CHECK(f.redis.keys.count("ivozfw:ban:203.0.113.20") == 1);
    CHECK(f.ban_of("203.0.113.21"));
}

TEST_CASE("bansync: a full ban set takes no more remote bans") {
    Fleet f(1);
    f.sync->step();
    f.local_ban("203.0.113.30", 100000);
    f.redis.inbox = {Fleet::remote("203.0.113.31", kNow + 60000)};
    f.sync->step();
    CHECK_FALSE(f.ban_of("203.0.113.31"));
    CHECK(f.bans().elements.size() == 1);
}

namespace {
// A message as another host would send it: signed with `key` at `ts`, fields as given.
std::string signed_json(nlohmann::json j, const std::string& key = kKey, int64_t ts = kNow) {
    j["ts"] = ts;
    return fleet::sign(j.dump(), key);
}
std::optional<fleet::Message> heard(const std::string& text, std::string* why, int64_t now = kNow) {
    return fleet::decode(text, 64, kKey, now, fleet::Freshness::channel, why);
}
}  // namespace

TEST_CASE("fleet messages: encode and decode agree; IPv6 keys are this host's prefix") {
    fleet::Message m;
    m.op = fleet::Message::Op::ban;
    m.family = net::Family::v6;
    m.value = net::parse_address("2001:db8:0:1::")->value;
    m.prefix = 64;
    m.reason = "manual";
    m.expires_ms = kNow + 60000;
    m.origin = "proxy-1";
    std::string why;
    auto back = heard(fleet::encode(m, kKey, kNow), &why);
    REQUIRE(back);
    CHECK(back->address() == "2001:db8:0:1::/64");
    CHECK(back->key() == "ivozfw:ban:2001:db8:0:1::/64");
    // a /128 from a host with a longer prefix is widened to ours; a /48 would take many keys
    auto narrow = heard(signed_json({{"v", 2}, {"op", "unban"}, {"address", "2001:db8:0:1::5/128"}, {"origin", "p"}}), &why);
    REQUIRE(narrow);
    CHECK(narrow->address() == "2001:db8:0:1::/64");
    CHECK_FALSE(heard(signed_json({{"v", 2}, {"op", "unban"}, {"address", "2001:db8::/48"}, {"origin", "p"}}), &why));
    CHECK(why == "IPv6 prefix /48 is wider than this host's ban prefix /64");
    CHECK_FALSE(heard(signed_json({{"v", 2}, {"op", "unban"}, {"address", "192.0.2.0/24"}, {"origin", "p"}}), &why));
}

TEST_CASE("fleet messages: unsigned, forged, stale and expired ones are refused") {
    std::string why;
    nlohmann::json unban{{"v", 2}, {"op", "unban"}, {"address", "203.0.113.5"}, {"origin", "proxy-x"}};
    CHECK(heard(signed_json(unban), &why));
    // unsigned: what anyone who can reach Redis could publish before
    CHECK_FALSE(heard(R"({"v":1,"op":"unban","address":"203.0.113.5","origin":"proxy-x"})", &why));
    CHECK(why == "not signed (no \"sig\")");
    // signed with another key, or changed after signing
    CHECK_FALSE(heard(signed_json(unban, "another key, another fleet....."), &why));
    CHECK_THAT(why, Catch::StartsWith("bad signature"));
    auto text = signed_json(unban);
    text.replace(text.find("203.0.113.5"), 11, "203.0.113.6");
    CHECK_FALSE(heard(text, &why));
    CHECK_THAT(why, Catch::StartsWith("bad signature"));
    // stale on the channel (a replay from an hour ago), fine as a stored key
    auto old = signed_json(unban, kKey, kNow - 3600 * 1000);
    CHECK_FALSE(heard(old, &why));
    CHECK_THAT(why, Catch::Contains("a replay, or a clock off by more than 60 s"));
    CHECK(fleet::decode(old, 64, kKey, kNow, fleet::Freshness::stored, &why));
    // a ban that already ended
    nlohmann::json ban{{"v", 2}, {"op", "ban"}, {"address", "203.0.113.5"}, {"origin", "proxy-x"},
                       {"reason", "antiflood"}, {"expires_ms", kNow - 1}};
    CHECK_FALSE(heard(signed_json(ban), &why));
    CHECK(why == "expired");
}

TEST_CASE("bansync: a replayed message is dropped; the fleet may fill half a ban set, local bans the rest") {
    Fleet f(8);   // ban sets of 8
    f.sync->step();
    auto first = Fleet::remote("203.0.113.60", kNow + 60000);
    f.redis.inbox = {first};
    f.sync->step();
    REQUIRE(f.ban_of("203.0.113.60"));
    f.bans().elements.clear();   // lifted here; someone replays the message within the minute
    f.redis.inbox = {first};
    f.sync->step();
    CHECK_FALSE(f.ban_of("203.0.113.60"));
    bool replay = false;
    for (const auto& l : f.log) replay |= l.find("replayed") != std::string::npos;
    CHECK(replay);
    // 10 signed remote bans (a compromised host, or a busy fleet): 4 of 8 places at most
    for (int i = 0; i < 10; ++i) f.redis.inbox.push_back(Fleet::remote(fmt::format("203.0.113.{}", 70 + i).c_str(), kNow + 60000));
    f.sync->step();
    CHECK(f.bans().elements.size() == 4);
    // and local bans still fit
    for (int i = 0; i < 4; ++i) f.local_ban(fmt::format("198.51.100.{}", 100 + i).c_str(), 60000);
    CHECK(f.bans().elements.size() == 8);
}

TEST_CASE("fleet: the policy section") {
    auto with = [](const std::string& fleet, bool antiflood = true) {
        return std::string(R"({"services": {"sip": {"udp": [5060]}}, )") +
               (antiflood ? R"("antiflood": {"services": ["sip"]}, )" : "") + R"("fleet": )" + fleet + "}";
    };
    auto p = policy::load_text(with(R"({"redis": "sentinel://192.0.2.1:26379,[2001:db8::1]:26380,h3:26379/mymaster/2",
                                        "credentials": "/etc/ivozfw/fleet.cnf", "host": "proxy-1", "max_ban": "1h"})"),
                               "p.json");
    REQUIRE(p.fleet);
    REQUIRE(p.fleet->sentinels.size() == 3);
    CHECK(p.fleet->sentinels[1].host == "2001:db8::1");
    CHECK(p.fleet->sentinels[1].port == 26380);
    CHECK(p.fleet->master == "mymaster");
    CHECK(p.fleet->db == 2);
    CHECK(p.fleet->host == "proxy-1");
    CHECK(p.fleet->max_ban_s == 3600);
    auto direct = policy::load_text(with(R"({"redis": "redis://redis.example:6379", "credentials": "/x"})"), "p.json");
    CHECK(direct.fleet->sentinels.empty());
    CHECK(direct.fleet->redis.host == "redis.example");
    CHECK(direct.fleet->max_ban_s == 86400);
    auto error = [&](const std::string& text) {
        try {
            policy::load_text(text, "p.json");
        } catch (const policy::LoadError& e) {
            return e.diagnostics.front().str();
        }
        return std::string("accepted");
    };
    CHECK_THAT(error(with(R"({"redis": "redis://h:1"})")), Catch::Contains("needs \"credentials\""));
    CHECK_THAT(error(with(R"({"redis": "http://h:1"})")), Catch::Contains("fleet.redis") && Catch::Contains("unknown scheme"));
    CHECK_THAT(error(with(R"({"redis": "sentinel://h:26379"})")), Catch::Contains("no master name"));
    CHECK_THAT(error(with(R"({"redis": "redis://h:0"})")), Catch::Contains("is not HOST:PORT"));
    CHECK_THAT(error(with(R"({"redis": "redis://h:1", "credentials": "/x", "host": "a b"})")), Catch::Contains("fleet.host"));
    CHECK_THAT(error(with(R"({"redis": "redis://h:1", "credentials": "/x"})", false)),
               Catch::Contains("needs an antiflood section"));
    // a password in the URL is refused, and never echoed
    auto secret = error(with(R"({"redis": "redis://:s3cr3t@192.0.2.1:6379"})"));
    CHECK_THAT(secret, Catch::Contains("holds credentials"));
    CHECK_THAT(secret, !Catch::Contains("s3cr3t"));
}

TEST_CASE("bansync: a lifted ban is not sent later; an own key is re-applied only at start; unbans queued while Redis was away go out") {
    Fleet f;
    f.redis.up = false;
    std::vector<std::string> queued{"203.0.113.40"};
    // (the command queues them in the state directory; here the config hands them in)
    f.sync.reset();
    fleet::SyncConfig c;
    c.host = "proxy-a";
    c.key = kKey;
    c.poll_ms = 0;
    c.batch_ms = 0;
    c.queued_unbans = [&] { return queued; };
    c.unban_published = [&](const std::string& a) { std::erase(queued, a); };
    nft::ReconcileOptions opt;
    opt.lock_path = f.dir + "/writers.lock";
    f.sync = std::make_unique<fleet::BanSync>(c, f.k, f.table, opt, f.redis, &f.rec,
                                              [&](const std::string& l) { f.log.push_back(l); }, [&] { return f.clock; },
                                              [&] { return f.mono; });
    f.sync->step();
    CHECK(queued == std::vector<std::string>{"203.0.113.40"});   // Redis away: still queued
    f.local_ban("203.0.113.41", 100000);
    f.sync->step();   // seen, waiting for Redis
    f.bans().elements.clear();   // lifted by hand before Redis came back
    f.sync->step();
    f.redis.up = true;
    // an own key from before: applied at start (a rebooted host), nothing else of ours
    f.redis.keys["ivozfw:ban:203.0.113.42"] = {Fleet::remote("203.0.113.42", kNow + 90000, "proxy-a"), 90000};
    f.advance(3000);
    f.sync->step();
    REQUIRE(f.redis.connected());
    f.sync->step();
    CHECK(f.redis.keys.count("ivozfw:ban:203.0.113.41") == 0);   // never published: it was lifted
    CHECK(f.ban_of("203.0.113.42"));
    bool unban_sent = false;
    for (const auto& text : f.redis.published) {
        std::string why;
        auto m = fleet::decode(text, 64, kKey, f.clock, fleet::Freshness::channel, &why);
        unban_sent |= m && m->op == fleet::Message::Op::unban && m->address() == "203.0.113.40";
    }
    CHECK(unban_sent);
    CHECK(queued.empty());   // out of the queue once published, not before
    // later (a resync), an own key no longer in our sets is not brought back
    f.bans().elements.clear();
    f.advance(31000);
    f.sync->step();
    f.sync->step();
    CHECK_FALSE(f.ban_of("203.0.113.42"));
}

TEST_CASE("bansync: a comment someone else wrote is published as reason other") {
    Fleet f;
    f.sync->step();
    f.local_ban("203.0.113.50", 100000, "Blocked By Hand \xff");
    f.sync->step();
    REQUIRE(f.redis.keys.count("ivozfw:ban:203.0.113.50"));
    CHECK(f.redis.keys.at("ivozfw:ban:203.0.113.50").first.find(R"("reason":"other")") != std::string::npos);
    CHECK(f.sync->stats().published == 1);
}

TEST_CASE("fleet unban queue: concurrent unbans lose no entry; an entry leaves only when published") {
    char tmpl[] = "/tmp/ivozfw-unbanq.XXXXXX";
    cli::Options o;
    o.state.path = mkdtemp(tmpl);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) cli::queue_fleet_unban(o, fmt::format("203.0.113.{}", t * 25 + i + 1));
        });
    for (auto& t : ts) t.join();
    auto j = o.state.read_json(cli::kFleetUnbans);
    REQUIRE(j);
    CHECK(j->size() == 100);
    cli::unqueue_fleet_unban(o, "203.0.113.1");
    CHECK(o.state.read_json(cli::kFleetUnbans)->size() == 99);
    std::filesystem::remove_all(o.state.path);
}
