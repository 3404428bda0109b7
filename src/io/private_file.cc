// SPDX-License-Identifier: GPL-2.0-or-later
#include "io/private_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ivozfw::io {

std::optional<std::string> private_file_problem(const std::string& path, const std::string& what) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return fmt::format("{}: {}", path, std::strerror(errno));
    struct stat st;
    bool ok = fstat(fd, &st) == 0;
    int err = errno;
    close(fd);
    if (!ok) return fmt::format("{}: {}", path, std::strerror(err));
    if (!S_ISREG(st.st_mode)) return path + ": not a regular file";
    if (st.st_uid != 0 || (st.st_mode & 077))
        return fmt::format("{}: {} file has owner uid {} and mode {:04o}; it must be owned by root and not readable "
                           "by group or others (chown root; chmod 600)",
                           path, what, st.st_uid, st.st_mode & 07777);
    return std::nullopt;
}

}  // namespace ivozfw::io
