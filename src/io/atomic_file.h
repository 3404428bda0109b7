// SPDX-License-Identifier: GPL-2.0-or-later
// The one way ivozfw writes a file that must survive a crash or a power cut whole: a temp
// file beside it, fsync, rename over the old one, fsync of the directory. A reader sees the
// old content or the new, never a torn mix.
#pragma once

#include <string>
#include <sys/types.h>

namespace ivozfw::io {

/// `durable`: fsync of the file and its directory, so it survives a power cut.
/// `this_boot`: rename only, whole for every reader and after the writer dies, but maybe
/// lost (or torn) in a power cut: for a file only believed during the boot that wrote it
/// (the element cache records the boot id), where an fsync per ban would be wasted.
enum class Sync : bool { durable, this_boot };

/// Throws std::runtime_error naming the file on any failure (the old file is then intact).
void write_atomic(const std::string& path, const std::string& content, mode_t mode = 0600,
                  Sync sync = Sync::durable);

/// Whole file; nullopt-like empty result is not used: throws when it cannot be read.
std::string read_file(const std::string& path, size_t max_bytes);

}  // namespace ivozfw::io
