// SPDX-License-Identifier: GPL-2.0-or-later
#include "watch/committed_writer.h"

#include "io/atomic_file.h"
#include "ruleset/snapshot.h"

namespace ivozfw::watch {

CommittedWriter::CommittedWriter(std::string path, std::string table, Error on_error)
    : path_(std::move(path)), table_(std::move(table)), on_error_(std::move(on_error)) {
    if (!path_.empty()) thread_ = std::thread([this] { run(); });
}

CommittedWriter::~CommittedWriter() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard l(m_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void CommittedWriter::write(const std::optional<ruleset::Table>& t) {
    if (path_.empty()) return;
    {
        std::lock_guard l(m_);
        pending_ = t;   // a copy: the loop goes on changing its baseline
    }
    cv_.notify_all();
}

void CommittedWriter::flush() {
    std::unique_lock l(m_);
    cv_.wait(l, [&] { return !pending_ && !busy_; });
}

void CommittedWriter::run() {
    std::unique_lock l(m_);
    for (;;) {
        cv_.wait(l, [&] { return pending_ || stop_; });
        if (!pending_) return;   // stopping, nothing left to write
        auto t = std::move(*pending_);
        pending_.reset();
        busy_ = true;
        l.unlock();
        try {
            io::write_atomic(path_, ruleset::snapshot_to_json(t, table_).dump() + "\n");
        } catch (const std::exception& e) {
            on_error_(e.what());
        }
        l.lock();
        busy_ = false;
        cv_.notify_all();
    }
}

}  // namespace ivozfw::watch
