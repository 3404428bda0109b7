// SPDX-License-Identifier: GPL-2.0-or-later
// The one path every command that changes the kernel takes: take the writers' lock, read
// the live table, plan, commit with the generation id of that read. When another tool
// committed in between, the kernel refuses the batch and we read, plan and try again, with
// jittered exponential backoff, until a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <set>

#include "nft/netlink.h"
#include "plan/plan.h"

namespace ivozfw::nft {

struct Outcome {
    plan::Plan plan;          // what was (or, with dry_run, would be) committed
    CommitStats stats;
    int attempts = 0;
    bool committed = false;   // the kernel took the batch
    /// The live table the plan was made against; empty after a commit that recorded the
    /// element cache (it was turned into the cache in place).
    std::optional<Table> before;
    std::vector<std::string> warnings;   // already printed on stderr
};

struct ReconcileOptions {
    plan::Scope scope;
    /// Non-empty: read only these sets of the table (a ban, a sync), not the whole table.
    /// make_plan then sees a table holding only them, and must plan only for them.
    std::set<std::string> read_only;
    bool dry_run = false;      // plan only, nothing sent
    bool check_only = false;   // send without BATCH_END: the kernel validates, then aborts
    /// How long to keep trying while other tools keep committing (ERESTART).
    std::chrono::milliseconds deadline{60000};
    /// Called with the live table and the plan before committing; throwing aborts (the
    /// lockout guard, refresh safety checks, arming a rollback...).
    std::function<void(const std::optional<Table>&, const plan::Plan&)> before_commit;
    /// File of the element cache (see element_cache.h); empty = always dump.
    std::string cache_path;
    /// false: never read the cache's elements (the sets read are small: a ban); a commit of
    /// dynamic sets only keeps the cache valid without rewriting it.
    bool cache_reads = true;
    /// A cache some generations behind, while `ivozfw watch` runs: how long to wait for watch
    /// to vouch for the generations before this command listened (it moves the cache on, see
    /// ElementCache::bump) rather than dump every element again. 0 = never wait. Only a cache
    /// older than the follower waits; one it already vouches for does not.
    std::chrono::milliseconds cache_catch_up{0};
    /// The writers' lock file (io/lock.h), taken for read + plan + commit unless dry_run or
    /// check_only; empty = the caller holds it already (or takes none).
    std::string lock_path;
    std::string lock_holder = "ivozfw";
    std::chrono::milliseconds lock_wait{120000};
    /// Builds the plan; default plan::plan(desired, live, scope).
    std::function<plan::Plan(const std::optional<Table>&)> make_plan;
};

/// Throws KernelError (its `changed` says whether anything may have changed), or whatever
/// before_commit / make_plan throw (nothing changed then). After the commit, nothing throws:
/// a failure to record the cache becomes a warning.
Outcome reconcile(Kernel& k, const Table& desired, const ReconcileOptions& opt);
/// The outcome's plan may borrow elements from `desired` (plan::Elements): never a temporary.
Outcome reconcile(Kernel& k, Table&& desired, const ReconcileOptions& opt) = delete;

}  // namespace ivozfw::nft
