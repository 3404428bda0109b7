// SPDX-License-Identifier: GPL-2.0-or-later
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace ivozfw::io {

namespace {

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

[[noreturn]] void fail(const std::string& path, const char* what, int e) {
    throw std::runtime_error(path + ": cannot " + what + ": " + std::strerror(e));
}

// A temp file of our own next to `path`: a fresh name (pid, a per-process counter, random
// bits), created with O_EXCL | O_NOFOLLOW, so two writers (processes or threads) never share
// one, and a name planted in a directory another account can write (a symlink, a file) is
// never followed or truncated: we pick another name.
int create_temp(const std::string& path, mode_t mode, std::string* tmp) {
    static std::atomic<uint64_t> seq{0};
    thread_local std::mt19937_64 rng{std::random_device{}()};
    for (int attempt = 0; attempt < 16; ++attempt) {
        *tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(seq++) + "." +
               std::to_string(rng() & 0xffffffff);
        int fd = open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) return fd;
        if (errno != EEXIST) fail(*tmp, "create", errno);
    }
    fail(path, "create a temporary file beside it", EEXIST);
}

}  // namespace

void write_atomic(const std::string& path, const std::string& content, mode_t mode, Sync sync) {
    std::string tmp;
    int fd = create_temp(path, mode, &tmp);
    fchmod(fd, mode);   // the umask may have taken bits away
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            unlink(tmp.c_str());
            fail(path, "write", e);
        }
        done += size_t(n);
    }
    if (sync == Sync::durable && fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp.c_str());
        fail(path, "sync", e);
    }
    close(fd);
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        unlink(tmp.c_str());
        fail(path, "rename into place", e);
    }
    if (sync == Sync::this_boot) return;
    // The rename itself is only durable once the directory is synced.
    int dfd = open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

std::string read_file(const std::string& path, size_t max_bytes) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "open", errno);
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            fail(path, "read", e);
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
        if (out.size() > max_bytes) {
            close(fd);
            throw std::runtime_error(path + ": larger than " + std::to_string(max_bytes) + " bytes");
        }
    }
    close(fd);
    return out;
}

}  // namespace ivozfw::io
