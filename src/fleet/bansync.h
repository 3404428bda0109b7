// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw bansync: this host's bans become the fleet's, the fleet's become this host's.
//   - every poll_ms it reads this host's two ban sets (only them) and publishes each new
//     local ban (anti-flood or `ivozfw ban`): key ivozfw:ban:<address> with the TTL of its
//     remaining time, and a message on ivozfw:bans; the portal's BannedAddresses gets its row;
//   - other hosts' bans arrive on the channel and go into the ban sets in batches, one
//     generation-guarded transaction each, through the writers' lock like every updater;
//   - at (re)connect, and every resync_ms, it loads every live ban key, and publishes every
//     live local ban again: nothing still live is lost while Redis was away.
// Never applied: a ban on an address this host exempts (exempt, company and carrier sets),
// longer than max_ban, or past the ban set's size. Redis and the database are behind
// interfaces (redis.h, recorder.h): unit tests run this with fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "fleet/bans.h"
#include "fleet/message.h"
#include "fleet/recorder.h"
#include "fleet/redis.h"
#include "nft/reconcile.h"

namespace ivozfw::fleet {

struct SyncConfig {
    std::string host;               // this host's name in the fleet
    std::string key;                // the fleet's key: messages are signed and checked with it
    unsigned v6_prefix = 64;        // antiflood.ipv6_prefix
    uint64_t max_ban_ms = 86400000;
    uint32_t set_size = 262144;     // capacity of each ban set
    int poll_ms = 50;               // local ban sets read this often
    int batch_ms = 5;               // after a first message, wait this long for the rest of a burst
    int resync_ms = 30000;          // reload the live keys, publish the live local bans
    int master_check_ms = 2000;     // ask the sentinels whether the master moved
    /// Addresses `ivozfw unban` lifted while Redis was away, still queued. They stay queued
    /// until published: unban_published() removes one then (a crash in between sends it
    /// again, which is harmless; losing it is not).
    std::function<std::vector<std::string>()> queued_unbans;
    std::function<void(const std::string&)> unban_published;
};

struct SyncStats {
    size_t published = 0, applied = 0, ignored = 0, malformed = 0, transactions = 0, recorded = 0;
    size_t reconnects = 0;
};

class BanSync {
public:
    using Log = std::function<void(const std::string&)>;
    using Now = std::function<int64_t()>;   // ms
    /// `now`: unix time, for what crosses hosts (a ban's end). `mono`: the schedule (polls,
    /// resyncs, reconnects), which a clock stepped back or forward must not stop or rush;
    /// steady_clock when not given.

    BanSync(SyncConfig c, nft::Kernel& k, const ruleset::Table& desired, nft::ReconcileOptions base, Redis& r,
            BanRecorder* recorder, Log log, Now now, Now mono = {});

    /// One turn: (re)connect when due, take messages (waiting up to poll_ms), apply the
    /// remote bans, read the local ban sets, publish and record what is new. Never throws
    /// for Redis, database or kernel trouble: it logs and retries.
    void step();
    const SyncStats& stats() const { return stats_; }

private:
    void connect();
    void lost(const std::string& why);
    void receive();
    void apply_remote();
    enum class Outcome { done, refused, later };
    Outcome commit_remote(const std::map<std::string, Message>& batch);
    void poll_local();
    void publish_pending();
    void record_pending();
    void load_live_keys();

    SyncConfig c_;
    nft::Kernel& k_;
    const ruleset::Table& desired_;
    nft::ReconcileOptions base_;
    Redis& redis_;
    BanRecorder* recorder_;
    Log log_;
    Now now_, mono_;
    SyncStats stats_;
    std::set<std::string> ban_sets_, read_sets_;

    std::map<std::string, int64_t> local_;          // local bans seen: address -> expiry (ms)
    std::map<std::string, Message> unpublished_;    // local bans (and early ends) not yet in Redis
    std::set<std::string> from_queue_;              // unbans of unpublished_ that `ivozfw unban` queued
    std::map<std::string, int64_t> seen_sigs_;      // signatures heard within kMaxAgeMs: a replay is dropped
    std::map<std::string, int64_t> unrecorded_;     // addresses for BannedAddresses -> expiry
    std::map<std::string, Message> remote_;         // other hosts' bans and unbans: the latest wins
    bool first_poll_ = true;
    bool loaded_once_ = false;
    int64_t next_connect_ = 0, next_poll_ = 0, next_resync_ = 0, next_master_check_ = 0, next_record_ = 0;
    int backoff_ms_ = 100;
    int record_backoff_ms_ = 5000;
};

}  // namespace ivozfw::fleet
