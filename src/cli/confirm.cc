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
#include <thread>

#include "cli/desired.h"
#include "io/lock.h"
#include "ruleset/snapshot.h"

namespace ivozfw::cli::confirm {

namespace {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string clock_text(int64_t ms) {
    std::time_t t = ms / 1000;
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buf;
}

void update(const Options& o, nlohmann::json st, const nlohmann::json& change) {
    st.update(change);
    o.state.write_json(kState, st);
}

// Double fork + setsid: the watcher outlives the applying process, its terminal and a
// kill of it. It writes its pid on `ready` once it holds the watcher lock: only then is the
// rollback really armed.
int spawn_watcher(const Options& o, const std::string& token) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot start the rollback watcher: pipe failed");
    // Everything the child needs is built before fork: between fork and exec it only makes
    // async-signal-safe calls.
    std::string fd = std::to_string(fds[1]);
    const char* argv[] = {"ivozfw", "--state-dir", o.state.path.c_str(), "rollback-watch", "--token", token.c_str(),
                          "--ready-fd", fd.c_str(), nullptr};
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

std::optional<nlohmann::json> pending(const Options& o) { return o.state.read_json(kState); }

bool watcher_alive(const Options& o) { return io::FileLock::held_by_other(o.state.file(kWatcherLock)); }

bool orphaned(const Options& o) {
    auto st = pending(o);
    return st && st->value("state", "") == "armed" && !watcher_alive(o);
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
        o_.state.write_json(kSnapshot, ruleset::snapshot_to_json(live, table));
        return;
    }
    // Never touch the snapshot of an earlier apply that still waits.
    if (auto st = pending(o_); st && st->value("state", "") == "armed")
        throw std::runtime_error(watcher_alive(o_)
                                     ? "an earlier `apply --confirm` is still waiting: run `ivozfw confirm` or "
                                       "`ivozfw rollback` first"
                                     : "an earlier `apply --confirm` was never confirmed and no watcher is left to "
                                       "roll it back: run `ivozfw confirm` (keep it) or `ivozfw rollback` first");
    // The exact table this batch replaces, synced before anything else.
    o_.state.write_json(kSnapshot, ruleset::snapshot_to_json(live, table));
    token_ = fmt::format("{:016x}", std::random_device{}() * 0x100000000ull + std::random_device{}());
    int64_t now = now_ms();
    o_.state.write_json(kState, {{"token", token_}, {"state", "armed"}, {"table", table}, {"policy", o_.policy},
                                 {"armed_ms", now}, {"deadline_ms", now + int64_t(o_.confirm_s) * 1000}});
    watcher_pid_ = spawn_watcher(o_, token_);
    update(o_, *pending(o_), {{"watcher_pid", watcher_pid_}});
}

std::string restore(const Options& o, nft::Kernel& k) {
    auto st = pending(o);
    if (!st) throw std::runtime_error("nothing to roll back: no `apply --confirm` is recorded in " + o.state.path);
    try {
        auto snap = o.state.read_json(kSnapshot);
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
    auto st = pending(o);
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
    if (state != "armed" || now_ms() >= st->value("deadline_ms", int64_t{0})) {
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
    auto st = pending(o);
    std::string state = st ? st->value("state", "") : "";
    if (state != "armed" && state != "rollback_failed") {
        std::cerr << "ivozfw: nothing to roll back: no unconfirmed `apply --confirm` is waiting"
                  << (state.empty() ? "" : " (the last one is " + state + ")") << "\n";
        return 1;
    }
    auto kernel = open_kernel(o);
    fmt::print("{}\n", restore(o, *kernel));
    return 0;
}

int cmd_rollback_watch(const Options& o) {
    openlog("ivozfw-rollback", LOG_PID, LOG_DAEMON);
    io::FileLock alive(o.state.file(kWatcherLock), std::chrono::seconds(10), "rollback watcher");
    if (o.ready_fd >= 0) {
        std::string pid = std::to_string(getpid());
        (void)!write(o.ready_fd, pid.data(), pid.size());
        close(o.ready_fd);
    }
    auto mine = [&](const std::optional<nlohmann::json>& st) {
        return st && st->value("token", "") == o.token && st->value("state", "") == "armed";
    };
    for (;;) {
        auto st = pending(o);
        if (!mine(st)) {
            syslog(LOG_INFO, "apply --confirm %s: %s, nothing to roll back", o.token.c_str(),
                   st ? st->value("state", "?").c_str() : "state gone");
            return 0;
        }
        int64_t left = st->value("deadline_ms", int64_t{0}) - now_ms();
        if (left <= 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(left, 500)));
    }
    io::FileLock lock(o.state.file(kWriterLock), std::chrono::seconds(600), "rollback watcher");
    if (!mine(pending(o))) return 0;   // confirm won the lock first, in time
    try {
        auto kernel = open_kernel(o);
        std::string line = restore(o, *kernel);
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
    } catch (const std::exception&) {
        // An unreadable state directory is the command's own business.
    }
}

}  // namespace ivozfw::cli
