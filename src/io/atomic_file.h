// SPDX-License-Identifier: GPL-2.0-or-later
// The one way ivozfw writes a file that must survive a crash or a power cut whole: a temp
// file beside it, fsync, rename over the old one, fsync of the directory. A reader sees the
// old content or the new, never a torn mix.
#pragma once

#include <string>
#include <sys/types.h>

namespace ivozfw::io {

/// Throws std::runtime_error naming the file on any failure (the old file is then intact).
void write_atomic(const std::string& path, const std::string& content, mode_t mode = 0600);

/// Whole file; nullopt-like empty result is not used: throws when it cannot be read.
std::string read_file(const std::string& path, size_t max_bytes);

}  // namespace ivozfw::io
