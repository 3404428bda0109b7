// SPDX-License-Identifier: GPL-2.0-or-later
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

}  // namespace

void write_atomic(const std::string& path, const std::string& content, mode_t mode, Sync sync) {
    // One temp name per process: two writers of the same file never share a temp file.
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) fail(tmp, "create", errno);
    fchmod(fd, mode);   // an old temp file may have had other bits
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
