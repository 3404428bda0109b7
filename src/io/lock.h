// SPDX-License-Identifier: GPL-2.0-or-later
// An exclusive lock on a file (flock), held for the life of the object. ivozfw's writers
// (apply, refresh, sync, ban, unban, rollback, confirm) take their turn through one such
// file in the state directory, so they never make each other's generation id stale.
// The kernel releases it when the holder dies: a killed command never leaves it stuck.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace ivozfw::io {

/// Could not get the lock before the deadline; says who holds it, as far as known.
struct LockTimeout : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class FileLock {
public:
    /// Wait up to `wait` for the lock at `path` (created 0600 if missing). `holder` is
    /// written into the file once held ("pid 123: apply"), for the next one's error message.
    FileLock(const std::string& path, std::chrono::milliseconds wait, const std::string& holder);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

    /// Non-blocking probe: is somebody holding the lock at `path` right now?
    static bool held_by_other(const std::string& path);

private:
    int fd_ = -1;
};

}  // namespace ivozfw::io
