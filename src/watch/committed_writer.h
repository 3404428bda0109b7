// SPDX-License-Identifier: GPL-2.0-or-later
// committed.json written off watch's loop. For a table with a 158,000-interval list the JSON
// takes about 400 ms to build and write; meanwhile the loop must go on following commits and
// moving the element cache on, or the next `apply` finds the cache stale and dumps for
// seconds. One thread, one pending table: a newer one replaces an older one not yet written.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ruleset/model.h"

namespace ivozfw::watch {

class CommittedWriter {
public:
    using Error = std::function<void(const std::string&)>;   // called from the writer thread
    CommittedWriter(std::string path, std::string table, Error on_error);
    /// Writes what is pending, then stops.
    ~CommittedWriter();
    CommittedWriter(const CommittedWriter&) = delete;
    CommittedWriter& operator=(const CommittedWriter&) = delete;
    /// Record `t` (nullopt: the table is removed). Returns at once.
    void write(const std::optional<ruleset::Table>& t);
    /// Wait until everything recorded so far is on disk.
    void flush();

private:
    void run();
    const std::string path_, table_;
    Error on_error_;
    std::mutex m_;
    std::condition_variable cv_;
    std::optional<std::optional<ruleset::Table>> pending_;
    bool busy_ = false, stop_ = false;
    std::thread thread_;
};

}  // namespace ivozfw::watch
