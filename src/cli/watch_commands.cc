// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw watch: the long-running service that keeps the table in force (watch/watch.h).
// One line per event on stderr (the journal, with its syslog priority); SIGTERM or SIGINT
// ends it. One per state directory: it holds watch.lock for its whole life, which is also
// how `status` knows it runs.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/desired.h"
#include "nft/events.h"
#include "watch/watch.h"

namespace ivozfw::cli {

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// Under systemd, stderr goes to the journal: "<4>" gives a line its priority there.
void log_line(int priority, const std::string& line) {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (journal) std::cerr << "<" << priority << ">";
    std::cerr << line << std::endl;
}

}  // namespace

bool watch_running(const Options& o) {
    int fd = open(o.state.file(watch::kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0;
    close(fd);
    return held;
}

int cmd_watch(const Options& o) {
    auto policy = load_policy(o);
    o.state.ensure();
    int lock = open(o.state.file(watch::kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0)
        throw std::runtime_error("another `ivozfw watch` runs on the state directory " + o.state.path);
    watch::Config c;
    c.table = policy.table;
    c.restore = policy.watch.drift == policy::Watch::Drift::restore;
    auto base = reconcile_options(o);
    c.cache_path = base.cache_path;
    c.lock_path = base.lock_path;
    c.committed_path = o.state.file(watch::kCommittedFile);
    c.state_path = o.state.file(watch::kStateFile);
    // Tests and benchmarks shorten the back-off: IVOZFW_WATCH_TIMING=burst,window_ms,quiet_ms.
    if (const char* t = std::getenv("IVOZFW_WATCH_TIMING")) {
        int burst = 0;
        long window = 0, quiet = 0;
        if (std::sscanf(t, "%d,%ld,%ld", &burst, &window, &quiet) != 3 || burst < 1 || window < 1 || quiet < 1)
            throw std::runtime_error("IVOZFW_WATCH_TIMING must be burst,window_ms,quiet_ms");
        c.burst = burst, c.window = watch::ms(window), c.quiet = watch::ms(quiet);
    }
    nft::Events events(c.table);   // subscribed before the first read: nothing falls between
    auto kernel = open_kernel(o);
    watch::Watcher w(c, *kernel, [&](std::vector<nft::Generation>& out) { return events.drain(out); }, log_line);
    struct sigaction sa = {};
    sa.sa_handler = on_signal;   // no SA_RESTART: poll() returns at once
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    log_line(LOG_NOTICE, fmt::format("watch: table inet {}, drift: {}; restores back off after {} within {} s",
                                     c.table, c.restore ? "restore" : "report", c.burst, c.window.count() / 1000));
    w.start();
    while (!g_stop) {
        pollfd p{events.fd(), POLLIN, 0};
        int r = poll(&p, 1, int(std::min<long>(w.next_due().count(), 60000)));
        if (r < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + strerror(errno));
        if (g_stop) break;
        try {
            w.step();
        } catch (const std::exception& e) {
            // Nothing here may end the service: log, breathe, go on.
            log_line(LOG_ERR, std::string("watch: unexpected error: ") + e.what() + "; going on in 1 s");
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
    const auto& s = w.stats();
    log_line(LOG_NOTICE, fmt::format("watch: stopped: {} restores, {} changes by other tools, {} commits of ivozfw",
                                     s.restores, s.drifts, s.commits_seen));
    close(lock);
    return 0;
}

}  // namespace ivozfw::cli
