// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/confirm.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "cli/desired.h"
#include "io/lock.h"
#include "nft/element_cache.h"
#include "ruleset/snapshot.h"

namespace ivozfw::cli::confirm {

namespace {

// Wall clock: shown to people, and the fallback after a reboot (a boottime deadline of
// another boot means nothing).
int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Deadlines: CLOCK_BOOTTIME never steps when someone sets the clock (and counts suspend).
int64_t boot_ms() {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Past the deadline of state `st`? By boottime within the boot that armed it, else by the
// wall clock.
bool past_deadline(const nlohmann::json& st) {
    if (st.value("boot_id", "") == nft::boot_id() && st.contains("deadline_boot_ms"))
        return boot_ms() >= st.value("deadline_boot_ms", int64_t{0});
    return now_ms() >= st.value("deadline_ms", int64_t{0});
}

std::string clock_text(int64_t ms) {
    std::time_t t = ms / 1000;
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buf;
}

void update(const Options& o, nlohmann::json st, const nlohmann::json& change) {
    st.update(change);
    o.state.write_sealed(kState, st);
}

// Double fork + setsid: the watcher outlives the applying process, its terminal and a
// kill of it. It writes its pid on `ready` once it holds the watcher lock: only then is the
// rollback really armed.
int spawn_watcher(const Options& o, const std::string& token, int64_t deadline_boot_ms) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot start the rollback watcher: pipe failed");
    // Everything the child needs is built before fork: between fork and exec it only makes
    // async-signal-safe calls.
    std::string fd = std::to_string(fds[1]), deadline = std::to_string(deadline_boot_ms);
    const char* argv[] = {"ivozfw", "--state-dir", o.state.path.c_str(), "rollback-watch", "--token", token.c_str(),
                          "--ready-fd", fd.c_str(), "--deadline-boot-ms", deadline.c_str(), nullptr};
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]), close(fds[1]);
        throw std::runtime_error(std::string("cannot start the rollback watcher: fork failed: ") + strerror(e));
    }
    if (pid == 0) {
        setsid();
        if (fork() != 0) _exit(0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0), dup2(null, 1), dup2(null, 2);
        fcntl(fds[1], F_SETFD, 0);   // the ready pipe alone survives the exec
        execv("/proc/self/exe", const_cast<char* const*>(argv));
        _exit(127);
    }
    close(fds[1]);
    waitpid(pid, nullptr, 0);
    pollfd p{fds[0], POLLIN, 0};
    char buf[32] = {};
    ssize_t n = poll(&p, 1, 10000) == 1 ? read(fds[0], buf, sizeof buf - 1) : -1;
    close(fds[0]);
    int watcher = n > 0 ? std::atoi(buf) : 0;
    if (watcher <= 0) throw std::runtime_error("the rollback watcher did not start within 10 s: not applying");
    return watcher;
}

std::string too_late(const Options& o, const nlohmann::json& st) {
    std::string state = st.value("state", "");
    int64_t deadline = st.value("deadline_ms", int64_t{0});
    if (state == "rolled_back")
        return fmt::format("too late: the deadline passed at {} and the table was rolled back at {} to the table of "
                           "{} (before the apply)",
                           clock_text(deadline), clock_text(st.value("restored_ms", int64_t{0})),
                           clock_text(st.value("armed_ms", int64_t{0})));
    if (state == "rollback_failed")
        return fmt::format("too late: the deadline passed at {}, and the rollback FAILED: {}. The applied table is "
                           "still in place; run `ivozfw rollback` to try again",
                           clock_text(deadline), st.value("error", "?"));
    return fmt::format("too late: the deadline passed at {}; {}", clock_text(deadline),
                       watcher_alive(o) ? "the watcher is restoring the previous table now"
                                        : "no watcher is running (killed, or the host rebooted), so nothing was "
                                          "restored: run `ivozfw rollback` to restore the previous table");
}

}  // namespace

std::optional<nlohmann::json> pending(const Options& o) {
    auto st = o.state.read_sealed(kState);
    static const std::set<std::string> states = {"armed", "confirmed", "aborted", "rolled_back", "rollback_failed"};
    if (st && (!st->value("state", nlohmann::json()).is_string() || !states.count(st->value("state", ""))))
        throw Damaged(o.state.file(kState) + ": unknown state " + st->value("state", nlohmann::json()).dump());
    return st;
}

bool watcher_alive(const Options& o) { return io::FileLock::held_by_other(o.state.file(kWatcherLock)); }

bool orphaned(const Options& o) {
    try {
        auto st = pending(o);
        return st && st->value("state", "") == "armed" && !watcher_alive(o);
    } catch (const Damaged& e) {
        // Unknown whether it was confirmed: the boot applies the policy, and says why.
        std::cerr << "ivozfw: warning: " << e.what() << ": whether the last `apply --confirm` was confirmed is not "
                                                        "known; applying the policy\n";
        return false;
    }
}

Arming::~Arming() {
    if (token_.empty() || committed_) return;
    // The batch never went in: nothing to roll back. Disarm, and stop the watcher.
    try {
        auto st = pending(o_);
        if (st && st->value("token", "") == token_) update(o_, *st, {{"state", "aborted"}});
    } catch (...) {
    }
    if (watcher_pid_ > 0) kill(watcher_pid_, SIGTERM);
}

void Arming::arm(const std::optional<ruleset::Table>& live, const std::string& table) {
    if (!token_.empty()) {   // a retry: the watcher runs; the table to restore is this one now
        o_.state.write_sealed(kSnapshot, ruleset::snapshot_to_json(live, table));
        return;
    }
    // Never touch the snapshot of an earlier apply that still waits.
    std::optional<nlohmann::json> earlier;
    try {
        earlier = pending(o_);
    } catch (const Damaged& e) {
        if (watcher_alive(o_))
            throw std::runtime_error(std::string(e.what()) + ", and the watcher of an earlier `apply --confirm` is "
                                     "still waiting: it restores the previous table at its deadline; `ivozfw "
                                     "rollback` does it now");
    }
    if (auto& st = earlier; st && st->value("state", "") == "armed")
        throw std::runtime_error(watcher_alive(o_)
                                     ? "an earlier `apply --confirm` is still waiting: run `ivozfw confirm` or "
                                       "`ivozfw rollback` first"
                                     : "an earlier `apply --confirm` was never confirmed and no watcher is left to "
                                       "roll it back: run `ivozfw confirm` (keep it) or `ivozfw rollback` first");
    // The exact table this batch replaces, synced before anything else.
    o_.state.write_sealed(kSnapshot, ruleset::snapshot_to_json(live, table));
    token_ = fmt::format("{:016x}", std::random_device{}() * 0x100000000ull + std::random_device{}());
    int64_t now = now_ms(), deadline_boot = boot_ms() + int64_t(o_.confirm_s) * 1000;
    o_.state.write_sealed(kState, {{"token", token_}, {"state", "armed"}, {"table", table}, {"policy", o_.policy},
                                   {"armed_ms", now}, {"deadline_ms", now + int64_t(o_.confirm_s) * 1000},
                                   {"deadline_boot_ms", deadline_boot}, {"boot_id", nft::boot_id()}});
    watcher_pid_ = spawn_watcher(o_, token_, deadline_boot);
    update(o_, *pending(o_), {{"watcher_pid", watcher_pid_}});
}

std::string restore(const Options& o, nft::Kernel& k, const nlohmann::json* kept) {
    std::optional<nlohmann::json> st;
    try {
        st = pending(o);
        if (!st) throw std::runtime_error("nothing to roll back: no `apply --confirm` is recorded in " + o.state.path);
    } catch (const Damaged& e) {
        st = nlohmann::json{{"state", "damaged"}, {"damage", e.what()}};   // rewritten sealed below
    }
    try {
        // The watcher's copy (kept in memory since it was armed) wins over a file damaged since.
        std::optional<nlohmann::json> snap;
        try {
            snap = o.state.read_sealed(kSnapshot);
        } catch (const Damaged&) {
            if (!kept) throw;
        }
        if (kept) snap = *kept;
        if (!snap) throw std::runtime_error("the snapshot " + o.state.file(kSnapshot) + " is missing");
        std::string name;
        auto table = ruleset::snapshot_from_json(*snap, &name);
        auto opt = reconcile_options(o);
        opt.lock_path.clear();   // the caller holds it
        ruleset::Table empty;
        empty.name = name;
        if (!table) opt.make_plan = [&](const std::optional<ruleset::Table>& live) { return plan::plan_remove(live, name); };
        auto out = nft::reconcile(k, table ? *table : empty, opt);
        // Committed. Whatever fails from here on is reported as after the commit.
        try {
            // Check, attribute by attribute, that the kernel now holds the snapshot.
            uint32_t gen = 0;
            auto now = k.read_table(name, &gen);
            bool exact = ruleset::comparable(ruleset::snapshot_to_json(now, name)) == ruleset::comparable(*snap);
            update(o, *st, {{"state", "rolled_back"}, {"restored_ms", now_ms()}, {"changes", out.plan.ops.size()},
                            {"verified", exact}});
            std::string line = fmt::format("rolled back table inet {} to the table of {} ({} changes); {}", name,
                                           clock_text(st->value("armed_ms", int64_t{0})), out.plan.ops.size(),
                                           exact ? "the kernel now equals the snapshot, attribute by attribute"
                                                 : "WARNING: the kernel does not equal the snapshot after the restore");
            if (!exact) throw AfterCommit(line);
            return line;
        } catch (const AfterCommit&) {
            throw;
        } catch (const std::exception& e) {
            try {
                update(o, *st, {{"state", "rolled_back"}, {"restored_ms", now_ms()}, {"verified", false}});
            } catch (const std::exception&) {
            }
            throw AfterCommit(fmt::format("rolled back table inet {} ({} changes committed), but then: {}; run "
                                          "`ivozfw diff`",
                                          name, out.plan.ops.size(), e.what()));
        }
    } catch (const AfterCommit&) {
        throw;
    } catch (const std::exception& e) {
        update(o, *st, {{"state", "rollback_failed"}, {"error", e.what()}});
        throw;
    }
}

}  // namespace ivozfw::cli::confirm

namespace ivozfw::cli {

using namespace confirm;

int cmd_confirm(const Options& o) {
    io::FileLock lock(o.state.file(kWriterLock), std::chrono::seconds(120), "confirm");
    std::optional<nlohmann::json> st;
    try {
        st = pending(o);
    } catch (const Damaged& e) {
        // Which apply, and whether it was confirmed, is not known: keeping it could keep a
        // table nobody checked. The watcher restores at its deadline.
        std::cerr << "ivozfw: cannot confirm: " << e.what() << ". "
                  << (watcher_alive(o) ? "The watcher restores the previous table at its deadline"
                                       : "No watcher is running")
                  << "; `ivozfw rollback` restores it now; apply again (with --confirm) afterwards\n";
        return 1;
    }
    if (!st || st->value("state", "") == "aborted") {
        std::cerr << "ivozfw: nothing to confirm (no `apply --confirm` is waiting in " << o.state.path << ")\n";
        return 1;
    }
    std::string state = st->value("state", "");
    if (state == "confirmed") {
        std::cerr << "ivozfw: nothing to confirm: the last `apply --confirm` was confirmed at "
                  << clock_text(st->value("confirmed_ms", int64_t{0})) << "\n";
        return 1;
    }
    if (state != "armed" || past_deadline(*st)) {
        std::cerr << "ivozfw: " << too_late(o, *st) << "\n";
        return 1;
    }
    update(o, *st, {{"state", "confirmed"}, {"confirmed_ms", now_ms()}});
    o.state.remove(kSnapshot);   // the watcher sees the state and exits within half a second
    fmt::print("confirmed: the table applied at {} stays\n", clock_text(st->value("armed_ms", int64_t{0})));
    return 0;
}

int cmd_rollback(const Options& o) {
    io::FileLock lock(o.state.file(kWriterLock), std::chrono::seconds(120), "rollback");
    std::string state;
    try {
        auto st = pending(o);
        state = st ? st->value("state", "") : "";
    } catch (const Damaged& e) {
        // The snapshot decides: restoring what the unconfirmed apply replaced fails closed.
        std::cerr << "ivozfw: warning: " << e.what() << ": rolling back to the snapshot\n";
        state = "damaged";
    }
    if (state != "armed" && state != "rollback_failed" && state != "damaged") {
        std::cerr << "ivozfw: nothing to roll back: no unconfirmed `apply --confirm` is waiting"
                  << (state.empty() ? "" : " (the last one is " + state + ")") << "\n";
        return 1;
    }
    auto kernel = open_kernel(o);
    fmt::print("{}\n", restore(o, *kernel));
    return 0;
}

// The watcher needs nothing from the files to do its job: its token and deadline come on its
// command line, and it keeps the last snapshot that passed its checksum in memory. The files
// only tell it to stand down (confirmed, aborted, rolled back by someone else); one it cannot
// believe never does.
int cmd_rollback_watch(const Options& o) {
    openlog("ivozfw-rollback", LOG_PID, LOG_DAEMON);
    io::FileLock alive(o.state.file(kWatcherLock), std::chrono::seconds(10), "rollback watcher");
    std::optional<nlohmann::json> snapshot;
    auto keep_snapshot = [&] {
        try {
            if (auto s = o.state.read_sealed(kSnapshot)) snapshot = std::move(s);
        } catch (const Damaged& e) {
            syslog(LOG_WARNING, "%s: keeping the copy read before", e.what());
        }
    };
    keep_snapshot();
    if (o.ready_fd >= 0) {
        std::string pid = std::to_string(getpid());
        (void)!write(o.ready_fd, pid.data(), pid.size());
        close(o.ready_fd);
    }
    // nullopt: the file cannot be believed; keep watching.
    auto stand_down = [&]() -> std::optional<std::string> {
        try {
            auto st = pending(o);
            if (st && st->value("token", "") == o.token && st->value("state", "") == "armed") return std::string();
            return st ? st->value("state", "?") : "state gone";
        } catch (const Damaged& e) {
            syslog(LOG_WARNING, "apply --confirm %s: %s: restoring at the deadline unless confirmed", o.token.c_str(),
                   e.what());
            return std::nullopt;
        }
    };
    for (;;) {
        if (auto why = stand_down(); why && !why->empty()) {
            syslog(LOG_INFO, "apply --confirm %s: %s, nothing to roll back", o.token.c_str(), why->c_str());
            return 0;
        }
        keep_snapshot();   // a retried apply writes the snapshot again
        int64_t left = o.deadline_boot_ms - boot_ms();
        if (left <= 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(left, 500)));
    }
    io::FileLock lock(o.state.file(kWriterLock), std::chrono::seconds(600), "rollback watcher");
    if (auto why = stand_down(); why && !why->empty()) return 0;   // confirm won the lock first, in time
    try {
        if (!snapshot) throw std::runtime_error("no snapshot that passed its checksum was ever read");
        auto kernel = open_kernel(o);
        std::string line = restore(o, *kernel, &*snapshot);
        syslog(LOG_WARNING, "not confirmed in time: %s", line.c_str());
        return 0;
    } catch (const std::exception& e) {
        syslog(LOG_ERR, "not confirmed in time, and the rollback FAILED: %s", e.what());
        return 1;
    }
}

void warn_unconfirmed(const Options& o) {
    if (o.command == "confirm" || o.command == "rollback") return;
    try {
        auto st = pending(o);
        if (!st) return;
        std::string state = st->value("state", "");
        if (state == "rollback_failed")
            std::cerr << "ivozfw: warning: the rollback of the unconfirmed `apply --confirm` of "
                      << clock_text(st->value("armed_ms", int64_t{0})) << " FAILED (" << st->value("error", "?")
                      << "): the applied table is still in place; `ivozfw rollback` tries again\n";
        else if (state == "armed" && !watcher_alive(o))
            std::cerr << "ivozfw: warning: the `apply --confirm` of " << clock_text(st->value("armed_ms", int64_t{0}))
                      << " was never confirmed and no watcher is left to roll it back (killed, or the host "
                         "rebooted): `ivozfw confirm` keeps it, `ivozfw rollback` restores the previous table\n";
    } catch (const Damaged& e) {
        std::cerr << "ivozfw: warning: " << e.what() << ": whether an `apply --confirm` waits is not known; "
                  << (watcher_alive(o) ? "its watcher restores the previous table at its deadline"
                                       : "no watcher is running")
                  << "; `ivozfw rollback` restores it now\n";
    } catch (const std::exception&) {
        // An unreadable state directory is the command's own business.
    }
}

}  // namespace ivozfw::cli
