// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw bansync: the long-running service of the fleet section (fleet/bansync.h). Logs one
// line per event on stderr (the journal); SIGTERM or SIGINT ends it.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/desired.h"
#include "fleet/bansync.h"

namespace ivozfw::cli {

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::string fleet_host(const policy::Fleet& f) {
    if (!f.host.empty()) return f.host;
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !fleet::valid_host(buf))
        throw std::runtime_error("fleet.host is not set and the hostname is not a valid fleet host name");
    return buf;
}

std::string fleet_key(const policy::Fleet& f) {
    auto c = fleet::read_redis_credentials(f.credentials);
    if (c.key.size() < 32)
        throw std::runtime_error(f.credentials + (c.key.empty() ? " has no `key = ...` line" : ": the key is shorter than 32 characters") +
                                 ": every fleet message is signed with the fleet's key (the same on every host; make "
                                 "one with `openssl rand -hex 32`)");
    return c.key;
}

std::unique_ptr<fleet::Redis> open_fleet_redis(const policy::Fleet& f) {
    fleet::RedisCredentials c;
    if (!f.credentials.empty()) c = fleet::read_redis_credentials(f.credentials);
    return fleet::open_redis(f, c);
}

int cmd_bansync(const Options& o) {
    auto d = build_desired(o, OnSourceError::fail, Needs{false, false, false});
    if (!d.policy.fleet) throw std::runtime_error(o.policy + ": the policy has no fleet section");
    const auto& f = *d.policy.fleet;
    const auto& a = *d.policy.antiflood;   // a fleet section needs one (policy check)
    fleet::SyncConfig c;
    c.host = fleet_host(f);
    c.key = fleet_key(f);   // no key, no bansync
    c.v6_prefix = a.ipv6_prefix;
    c.max_ban_ms = f.max_ban_s * 1000;
    c.set_size = a.max_tracked_sources;
    c.queued_unbans = [&o] {
        std::vector<std::string> out;
        try {
            auto j = o.state.read_json(kFleetUnbans);
            if (!j) return out;
            for (const auto& [addr, when] : j->items()) out.push_back(addr);
        } catch (const std::exception& e) {
            std::cerr << "bansync: " << kFleetUnbans << ": " << e.what() << std::endl;
        }
        return out;
    };
    c.unban_published = [&o](const std::string& addr) {
        try {
            unqueue_fleet_unban(o, addr);
        } catch (const std::exception& e) {
            std::cerr << "bansync: " << kFleetUnbans << ": " << e.what() << " (it will be sent again)" << std::endl;
        }
    };
    auto redis = open_fleet_redis(f);
    std::unique_ptr<fleet::BanRecorder> recorder;
    if (d.policy.platform) recorder = fleet::open_banned_addresses(d.policy.platform->database);
    auto kernel = open_kernel(o);
    auto log = [](const std::string& line) { std::cerr << line << std::endl; };
    fleet::BanSync sync(c, *kernel, d.table, reconcile_options(o), *redis, recorder.get(), log, unix_ms);
    struct sigaction sa = {};
    sa.sa_handler = on_signal;   // no SA_RESTART: poll() returns at once
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    log(fmt::format("bansync: host {}, table inet {}, bans of at most {} s from the fleet{}", c.host, d.table.name,
                    f.max_ban_s, recorder ? ", BannedAddresses in the platform database" : ""));
    while (!g_stop) {
        try {
            sync.step();
        } catch (const std::exception& e) {
            // Nothing here may end the service: log, breathe, go on.
            log(std::string("bansync: unexpected error: ") + e.what() + "; going on in 1 s");
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
    const auto& s = sync.stats();
    log(fmt::format("bansync: stopped: {} published, {} applied in {} transactions, {} ignored, {} malformed, {} "
                    "recorded",
                    s.published, s.applied, s.transactions, s.ignored, s.malformed, s.recorded));
    return 0;
}

}  // namespace ivozfw::cli
