// SPDX-License-Identifier: GPL-2.0-or-later
// hiredis (Debian 12: 0.14), synchronous: a command connection and a subscribed one whose
// socket is polled, so bansync needs no event loop and no thread.
#include "fleet/redis.h"
#include "input/quote.h"

#include "io/private_file.h"

#include <fmt/format.h>

#include <charconv>
#include <hiredis/hiredis.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

namespace ivozfw::fleet {

namespace {

using Ctx = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

constexpr timeval kConnectTimeout{1, 0};
constexpr timeval kCommandTimeout{2, 0};

std::string trim(std::string s) {
    auto b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
    return b == s.npos ? "" : s.substr(b, e - b + 1);
}

Ctx dial(const policy::Fleet::Endpoint& e) {
    Ctx c(redisConnectWithTimeout(e.host.c_str(), e.port, kConnectTimeout), &redisFree);
    if (!c) throw RedisError(fmt::format("redis {}:{}: out of memory", e.host, e.port));
    if (c->err) throw RedisError(fmt::format("redis {}:{}: {}", e.host, e.port, c->errstr));
    redisSetTimeout(c.get(), kCommandTimeout);
    return c;
}

Reply command(redisContext* c, const std::string& where, const std::vector<std::string>& argv) {
    std::vector<const char*> a;
    std::vector<size_t> len;
    for (const auto& s : argv) a.push_back(s.data()), len.push_back(s.size());
    Reply r(static_cast<redisReply*>(redisCommandArgv(c, int(a.size()), a.data(), len.data())), &freeReplyObject);
    if (!r) throw RedisError(fmt::format("redis {}: {}: {}", where, argv[0], c->err ? c->errstr : "no reply"));
    if (r->type == REDIS_REPLY_ERROR)
        throw RedisError(fmt::format("redis {}: {}: {}", where, argv[0], std::string(r->str, r->len)));
    return r;
}

void auth(redisContext* c, const std::string& where, const std::string& user, const std::string& password) {
    if (password.empty()) return;
    if (user.empty()) command(c, where, {"AUTH", password});
    else command(c, where, {"AUTH", user, password});
}

std::string text(const redisReply* r) { return r && r->str ? std::string(r->str, r->len) : ""; }

class Hiredis final : public Redis {
public:
    Hiredis(policy::Fleet f, RedisCredentials c) : f_(std::move(f)), c_(std::move(c)) {}

    void connect(const std::string& channel) override {
        cmd_.reset();
        sub_.reset();
        master_ = f_.sentinels.empty() ? f_.redis : ask_sentinels();
        where_ = fmt::format("{}:{}", master_.host, master_.port) +
                 (f_.sentinels.empty() ? "" : " (sentinel " + f_.master + ")");
        auto open = [&] {
            Ctx c = dial(master_);
            auth(c.get(), where_, c_.user, c_.password);
            if (f_.db) command(c.get(), where_, {"SELECT", std::to_string(f_.db)});
            return c;
        };
        Ctx cmd = open();
        // A replica answers reads but refuses our writes: only the master will do.
        auto role = command(cmd.get(), where_, {"ROLE"});
        std::string r = role->type == REDIS_REPLY_ARRAY && role->elements >= 1 ? text(role->element[0]) : "?";
        if (r != "master") throw RedisError("redis " + where_ + ": not a master (yet): " + r);
        cmd_ = std::make_unique<Ctx>(std::move(cmd));
        if (channel.empty()) return;   // commands only (`ivozfw unban`)
        Ctx sub = open();
        command(sub.get(), where_, {"SUBSCRIBE", channel});
        sub_ = std::make_unique<Ctx>(std::move(sub));
    }

    bool connected() const override { return cmd_ != nullptr; }
    void disconnect() override {
        cmd_.reset();
        sub_.reset();
    }
    std::string where() const override { return where_; }

    void set(const std::string& key, const std::string& value, uint64_t ttl_ms) override {
        run({"SET", key, value, "PX", std::to_string(std::max<uint64_t>(ttl_ms, 1))});
    }
    void del(const std::string& key) override { run({"DEL", key}); }
    void publish(const std::string& channel, const std::string& message) override {
        run({"PUBLISH", channel, message});
    }

    std::vector<std::string> values(const std::string& pattern) override {
        std::vector<std::string> out;
        std::string cursor = "0";
        do {
            auto r = run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) throw lost("SCAN: unexpected reply");
            cursor = text(r->element[0]);
            std::vector<std::string> get{"MGET"};
            for (size_t i = 0; i < r->element[1]->elements; ++i) get.push_back(text(r->element[1]->element[i]));
            if (get.size() == 1) continue;
            auto v = run(get);
            for (size_t i = 0; i < v->elements; ++i)
                if (v->element[i]->type == REDIS_REPLY_STRING) out.push_back(text(v->element[i]));
        } while (cursor != "0");
        return out;
    }

    std::vector<std::string> receive(int timeout_ms) override {
        if (!sub_) throw RedisError("redis: not connected");
        redisContext* c = sub_->get();
        std::vector<std::string> out;
        auto take = [&] {
            void* r = nullptr;
            while (redisGetReplyFromReader(c, &r) == REDIS_OK && r) {
                Reply reply(static_cast<redisReply*>(r), &freeReplyObject);
                // ["message", channel, payload]
                if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 && text(reply->element[0]) == "message")
                    out.push_back(text(reply->element[2]));
                r = nullptr;
            }
            if (c->err) throw lost(c->errstr);
        };
        take();   // replies read with an earlier chunk
        if (!out.empty()) return out;
        pollfd p{c->fd, POLLIN, 0};
        int n = poll(&p, 1, timeout_ms);
        if (n < 0 && errno != EINTR) throw lost(std::strerror(errno));
        if (n <= 0) return out;
        if (redisBufferRead(c) != REDIS_OK) throw lost(c->errstr);
        take();
        return out;
    }

    bool master_unchanged() override {
        if (f_.sentinels.empty()) return true;
        try {
            auto m = ask_sentinels();
            return m.host == master_.host && m.port == master_.port;
        } catch (const RedisError&) {
            return true;   // no sentinel answers: nothing known to have changed
        }
    }

private:
    Reply run(const std::vector<std::string>& argv) {
        if (!cmd_) throw RedisError("redis: not connected");
        try {
            return command(cmd_->get(), where_, argv);
        } catch (const RedisError&) {
            cmd_.reset();
            sub_.reset();
            throw;
        }
    }

    RedisError lost(const std::string& why) {
        cmd_.reset();
        sub_.reset();
        return RedisError("redis " + where_ + ": connection lost: " + why);
    }

    // SENTINEL get-master-addr-by-name, from the first sentinel that answers.
    policy::Fleet::Endpoint ask_sentinels() {
        std::string errors;
        for (const auto& s : f_.sentinels) {
            std::string where = fmt::format("sentinel {}:{}", s.host, s.port);
            try {
                Ctx c = dial(s);
                auth(c.get(), where, "", c_.sentinel_password);
                auto r = command(c.get(), where, {"SENTINEL", "get-master-addr-by-name", f_.master});
                if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
                    throw RedisError(where + ": does not know master " + f_.master);
                // A reply is data from the network: a port it names is checked, never truncated.
                std::string p = text(r->element[1]);
                unsigned port = 0;
                auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
                if (ec != std::errc{} || end != p.data() + p.size() || port == 0 || port > 65535)
                    throw RedisError(where + ": names master " + f_.master + " at port " + input::quote_short(p) +
                                     ", not a port");
                return {text(r->element[0]), uint16_t(port)};
            } catch (const std::exception& e) {
                errors += std::string(errors.empty() ? "" : "; ") + e.what();
            }
        }
        throw RedisError("no sentinel named master " + f_.master + ": " + errors);
    }

    policy::Fleet f_;
    RedisCredentials c_;
    policy::Fleet::Endpoint master_;
    std::string where_ = "(not connected)";
    std::unique_ptr<Ctx> cmd_, sub_;
};

}  // namespace

RedisCredentials read_redis_credentials(const std::string& path) {
    if (auto problem = io::private_file_problem(path, "Redis credentials")) throw RedisError(*problem);
    RedisCredentials c;
    std::ifstream in(path);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';' || line[0] == '[') continue;
        auto eq = line.find('=');
        if (eq == line.npos) throw RedisError(fmt::format("{}:{}: expected key = value", path, n));
        std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
        if (k == "password") c.password = v;
        else if (k == "user") c.user = v;
        else if (k == "sentinel_password") c.sentinel_password = v;
        else if (k == "key") c.key = v;
        else throw RedisError(fmt::format("{}:{}: unknown key \"{}\" (key, password, user, sentinel_password)", path, n, k));
    }
    return c;
}

std::unique_ptr<Redis> open_redis(const policy::Fleet& f, const RedisCredentials& c) {
    return std::make_unique<Hiredis>(f, c);
}

}  // namespace ivozfw::fleet
