// SPDX-License-Identifier: GPL-2.0-or-later
// The one path every command that changes the kernel takes: read the live table, plan,
// commit with the generation id of that read; when someone else committed in between,
// the kernel refuses the batch and we read, plan and try again.
#pragma once

#include <functional>

#include "nft/netlink.h"
#include "plan/plan.h"

namespace ivozfw::nft {

struct Outcome {
    plan::Plan plan;          // what was (or, with dry_run, would be) committed
    CommitStats stats;
    int attempts = 0;
    std::optional<Table> before;   // the live table the plan was made against
};

struct ReconcileOptions {
    plan::Scope scope;
    bool dry_run = false;      // plan only, nothing sent
    bool check_only = false;   // send without BATCH_END: the kernel validates, then aborts
    int max_attempts = 5;
    /// Called with the live table and the plan before committing; throwing aborts (the
    /// lockout guard, refresh safety checks...).
    std::function<void(const std::optional<Table>&, const plan::Plan&)> before_commit;
    /// File of the element cache (see element_cache.h); empty = always dump.
    std::string cache_path;
    /// Builds the plan; default plan::plan(desired, live, scope).
    std::function<plan::Plan(const std::optional<Table>&)> make_plan;
};

Outcome reconcile(Netlink& nl, const Table& desired, const ReconcileOptions& opt);

}  // namespace ivozfw::nft
