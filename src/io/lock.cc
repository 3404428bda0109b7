// SPDX-License-Identifier: GPL-2.0-or-later
#include "io/lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ivozfw::io {

namespace {

std::string holder_of(int fd) {
    char buf[200] = {};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    std::string s(buf, n > 0 ? size_t(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
    return s.empty() ? "unknown" : s;
}

}  // namespace

FileLock::FileLock(const std::string& path, std::chrono::milliseconds wait, const std::string& holder) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error(path + ": cannot open the writer lock: " + std::strerror(errno));
    // A blocking flock queues us with the kernel (a polling loop would lose, again and
    // again, to short writers arriving as the lock is released); an interval timer breaks
    // the wait so the deadline holds.
    struct sigaction quiet{}, old{};
    quiet.sa_handler = [](int) {};
    sigemptyset(&quiet.sa_mask);
    sigaction(SIGALRM, &quiet, &old);   // no SA_RESTART: flock returns EINTR
    itimerval tick{{0, 100000}, {0, 100000}}, stop{};
    setitimer(ITIMER_REAL, &tick, nullptr);
    auto deadline = std::chrono::steady_clock::now() + wait;
    int rc, e = 0;
    while ((rc = flock(fd_, LOCK_EX)) != 0 && (e = errno) == EINTR && std::chrono::steady_clock::now() < deadline) {
    }
    setitimer(ITIMER_REAL, &stop, nullptr);
    sigaction(SIGALRM, &old, nullptr);
    if (rc != 0) {
        std::string who = holder_of(fd_);
        close(fd_);
        if (e != EINTR) throw std::runtime_error(path + ": cannot take the writer lock: " + std::strerror(e));
        throw LockTimeout("another ivozfw command (" + who + ") held the writer lock " + path + " for more than " +
                          std::to_string(wait.count() / 1000) + " s");
    }
    if (ftruncate(fd_, 0) == 0) {
        std::string line = holder + "\n";
        (void)!pwrite(fd_, line.data(), line.size(), 0);
    }
}

FileLock::~FileLock() {
    if (fd_ >= 0) close(fd_);   // closing releases the flock
}

bool FileLock::held_by_other(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

}  // namespace ivozfw::io
