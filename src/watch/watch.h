// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw watch: the table stays in force while other tools write nftables.
//
// It follows the kernel's nftables events (nft/events.h), one generation at a time:
//   - a commit by ivozfw (any of its commands: the task is named "ivozfw") that changed the
//     table: the table as the kernel now has it becomes the committed one (`baseline`), kept
//     in memory and in committed.json in the state directory;
//   - a commit by anybody else that changed it (deleted, flushed, a rule inserted, an element
//     of a policy set added or removed): in drift mode "restore", the committed table is put
//     back in one generation-guarded transaction, bans included with their remaining time
//     (the ban sets are read every second, at most 5% of the time: the packet path adds
//     bans without an event); in "report", it is logged, counted and shown;
//   - restored `burst` times within `window`: it backs off (loudly) until nobody has changed
//     the table for `quiet`, then compares and restores once.
// Restoring never reads a data source again: it replays what ivozfw last committed. It takes
// the writers' lock like every ivozfw writer, so it never interleaves with them.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nft/events.h"
#include "nft/netlink.h"
#include "ruleset/model.h"
#include "watch/committed_writer.h"

namespace ivozfw::watch {

/// Files in the state directory.
inline constexpr const char* kCommittedFile = "committed.json";   // the table ivozfw last committed
inline constexpr const char* kStateFile = "watch.json";           // counters and the last culprit
inline constexpr const char* kLockFile = "watch.lock";            // held by the running watch

using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

struct Config {
    std::string table = "ivozfw";
    bool restore = true;               // policy watch.drift: restore (true) or report
    int burst = 5;                     // restores within `window` before backing off
    ms window{10000};
    ms quiet{10000};                   // backing off ends after this long without a foreign change,
                                       // doubled for each back-off that follows a resume (up to 32x)
    ms ban_poll{1000};                 // the ban sets are read this often
    std::string process = "ivozfw";    // the task name ivozfw's commits carry
    std::string cache_path;            // the element cache (faster reads after ivozfw's commits)
    std::string lock_path;             // the writers' lock; empty: none (unit tests)
    std::string committed_path;        // committed.json: the last committed table
    std::string state_path;            // watch.json: what status shows
};

struct Stats {
    uint64_t restores = 0, drifts = 0, failures = 0, commits_seen = 0, lost = 0;
    uint32_t generation = 0;           // the last generation handled
    std::string last_drift;            // "table inet ivozfw deleted by pid 4242 (nft)"
    std::string last_drift_time;       // ISO 8601
    std::string last_restore;          // "... restored in 9 ms (41 changes, 3 bans)"
    double last_restore_ms = 0;        // how long it took
    int64_t last_restore_epoch_ms = 0; // when
    bool backing_off = false;
    std::string backing_off_since;
};

class Watcher {
public:
    using Log = std::function<void(int priority, const std::string&)>;   // syslog priorities
    /// Reads the events queued now (never blocks); false when some were lost.
    using Drain = std::function<bool(std::vector<nft::Generation>&)>;

    Watcher(Config c, nft::Kernel& k, Drain drain, Log log);

    /// The starting point: the live table is the committed one; with no table loaded, the
    /// one in committed.json is restored (unless it records `ivozfw remove`).
    void start();
    /// Handle the events queued now, and whatever is due (ban poll, end of back-off).
    void step();
    /// Time until step() has something due without an event.
    ms next_due() const;
    const Stats& stats() const { return stats_; }
    const std::optional<ruleset::Table>& baseline() const { return baseline_; }
    nlohmann::json state_json() const;

private:
    struct Ban {
        ruleset::Element element;
        uint64_t left_ms;              // at `read`
        Clock::time_point read;
    };

    void handle(std::vector<nft::Generation> gens);
    bool ours(const nft::Generation& g) const;
    std::set<std::string> dynamic_sets() const;
    void adopt(std::optional<ruleset::Table> live, uint32_t gen, const std::string& why);
    void drift(const nft::Generation* culprit, const std::string& what, std::optional<ruleset::Table> live,
               uint32_t gen, Clock::time_point seen);
    void restore(const std::string& what, const std::optional<ruleset::Table>& live, uint32_t gen,
                 Clock::time_point seen);
    void poll_bans();
    void save_state() const;
    void save_committed();

    Config c_;
    nft::Kernel& k_;
    Drain drain_;
    Log log_;
    Stats stats_;
    std::optional<ruleset::Table> baseline_;   // dynamic sets without elements
    CommittedWriter committed_;                // committed.json, written off the loop
    std::map<std::string, std::vector<Ban>> bans_;
    Clock::time_point next_poll_{};
    Clock::time_point last_foreign_{};
    std::deque<Clock::time_point> restored_at_;
    std::set<uint32_t> own_gens_;            // generations watch itself committed
    std::vector<nft::Generation> carry_;     // drained after a read: handled at the next step
    size_t unlogged_ = 0;                    // foreign changes seen while backing off
    int level_ = 0;                          // back-offs in a row: each waits twice as long
    Clock::time_point resumed_{};            // when the last back-off ended
    ms quiet_now() const;
    bool lost_ = false;                      // events were dropped: compare with the kernel
    bool foreign_pending_ = false;           // another tool's change is in the kernel, not restored
    Clock::time_point retry_at_{};           // a read or restore failed: handle nothing before this
    // Element cache: every generation after clean_since_ up to last_seen_ was seen and left
    // the cached (non-dynamic) sets alone, so a cache valid in that stretch is valid at
    // last_seen_: its .gen side file is moved on, and the next writer reads no elements.
    std::optional<uint32_t> clean_since_, last_seen_;
    void track_clean(const std::vector<nft::Generation>& gens, bool lost);
    void bump_cache();
    bool pull(std::vector<nft::Generation>& gens);
    mutable uint32_t saved_gen_ = 0;         // the generation watch.json shows
    mutable Clock::time_point saved_at_{};
    std::string last_culprit_;
    bool check_due_ = false;                 // compare with the kernel at the next step
};

}  // namespace ivozfw::watch
