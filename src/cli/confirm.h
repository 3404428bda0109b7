// SPDX-License-Identifier: GPL-2.0-or-later
// Commit confirmed, as Junos does it: arm (snapshot and state synced, watcher running) ->
// commit -> confirm or restore. confirm, rollback and the watcher decide under the writers'
// lock, so "confirmed" and "rolled back" can never both happen.
//
// State in the state directory: confirm.json (token, state, deadline, watcher pid),
// rollback-snapshot.json (the exact table the commit replaced), confirm-watcher.lock (held
// by the live watcher for its whole life: a killed watcher or a reboot releases it).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "nft/reconcile.h"

namespace ivozfw::cli::confirm {

constexpr const char* kState = "confirm.json";
constexpr const char* kSnapshot = "rollback-snapshot.json";
constexpr const char* kWatcherLock = "confirm-watcher.lock";

/// Arms a rollback for one `apply --confirm`, from before_commit (again on every retry:
/// the snapshot is always the table the batch replaces). Until committed() or
/// maybe_committed() is called, the destructor disarms: a refused batch leaves no watcher and
/// no pending state. A batch whose outcome is unknown (sent, acks lost) may have committed:
/// the watcher stays armed and restores the snapshot unless someone confirms.
class Arming {
public:
    explicit Arming(const Options& o) : o_(o) {}
    ~Arming();
    void arm(const std::optional<ruleset::Table>& live, const std::string& table);
    void committed() { committed_ = true; }
    void maybe_committed() { committed_ = true; }
    bool armed() const { return !token_.empty(); }

private:
    const Options& o_;
    std::string token_;
    int watcher_pid_ = 0;
    bool committed_ = false;
};

/// confirm.json, or nullopt. Throws Damaged (state.h) for a file that fails its checksum or
/// holds an unknown state: never read as "nothing pending".
std::optional<nlohmann::json> pending(const Options& o);
bool watcher_alive(const Options& o);
/// An armed apply whose watcher is gone: nobody will roll it back.
bool orphaned(const Options& o);

/// Restore the snapshot (the caller holds the writers' lock), check that the kernel now
/// equals it, and record state `rolled_back` (or `rollback_failed`). Returns a line for
/// humans and the journal; throws (with the state recorded) on failure.
/// `kept`: the snapshot as the watcher holds it in memory (used over the file).
std::string restore(const Options& o, nft::Kernel& k, const nlohmann::json* kept = nullptr);

}  // namespace ivozfw::cli::confirm
