// SPDX-License-Identifier: GPL-2.0-or-later
// Policy + data sources -> the desired table, shared by every command.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "companies/companies.h"
#include "geoip/resolve.h"
#include "nft/reconcile.h"
#include "plan/plan.h"
#include "platform/platform.h"
#include "ruleset/compile.h"

namespace ivozfw::cli {

/// What to do when a data source (GeoIP database, company source) can't be read.
enum class OnSourceError {
    fail,       // check, refresh, sync: the command fails, nothing changes
    keep_live,  // apply, diff: everything else goes ahead; those sets keep what the kernel has
};

struct Desired {
    policy::Policy policy;               // its lists hold the platform database's entries too
    ruleset::Sources sources;            // what compiled into `table`
    ruleset::Table table;
    std::optional<geoip::Resolved> geoip;
    std::optional<companies::Loaded> companies;
    std::optional<platform::Loaded> platform;   // the rows (origins); companies moved out
    /// Lists ("geoip", "companies", "application_servers"...) that keep what the kernel has
    /// in addition to what the source gave: their source failed, or a guard held a removal.
    std::set<std::string> keep_live;
    std::vector<std::string> warnings;   // already printed on stderr
    bool geoip_as_loaded = false;        // Needs::geoip_if_changed: the database was unchanged
};

/// Which data sources a command reads; the others compile as empty sets (a scoped plan
/// never looks at them).
struct Needs {
    bool geoip = true;
    bool companies = true;
    bool platform_lists = true;   // application servers, proxies, carriers from the database
    /// When the GeoIP database file is the one the sets were loaded from, take the sets as
    /// the kernel has them and do not walk it (status). Desired::geoip_as_loaded says so.
    bool geoip_if_changed = false;
    /// Print the sources' notes (what a fine row could not give, e.g. a carrier named by
    /// host name). `platform sync`, run every minute by its timer, leaves them to the rest.
    bool notes = true;
};

policy::Policy load_policy(const Options& o);
Desired build_desired(const Options& o, OnSourceError on_error, Needs needs = {});

/// plan(), except that the lists in keep_live also keep the live kernel's elements.
plan::Plan plan_keeping(const Desired& d, const std::optional<ruleset::Table>& live, const plan::Scope& scope = {});
/// The plan may borrow elements from d.table (plan::Elements): never a temporary.
plan::Plan plan_keeping(Desired&& d, const std::optional<ruleset::Table>& live, const plan::Scope& scope = {}) = delete;

/// The remove guard of the lists a database or company source fills: a list that would lose
/// more than max_remove_percent of the intervals the kernel holds goes into keep_live, with
/// a warning (exit 3). Call from make_plan, before plan_keeping.
void guard_removals(Desired& d, const ruleset::Table& live);

/// The plan `apply` makes: held removals (guard_removals), then plan_keeping. diff, check
/// --kernel, status and explain use it too, so what they report is what apply would send.
std::function<plan::Plan(const std::optional<ruleset::Table>&)> plan_as_apply(Desired& d);

/// Remember what the company and platform sets were loaded from, row by row (status,
/// explain without the database). Failures are warnings.
void record_sources(const Options& o, Desired& d);

/// The sets of the lists the platform (or the company source) fills, for scoped plans.
std::set<std::string> source_sets(const Desired& d, bool companies, bool lists);

/// Reconcile options every command starts from (the element cache in the state directory).
nft::ReconcileOptions reconcile_options(const Options& o);

std::string now_iso();
/// Remember which GeoIP database the kernel sets came from (status, refresh's age check).
void record_geoip(const Options& o, const geoip::Resolved& g);
/// Is the GeoIP database the same file (device, inode, size, mtime) the sets were loaded from?
bool geoip_unchanged(const Options& o, const policy::GeoIP& g);
void warn(Desired& d, const std::string& msg);
/// 0, or kExitWarnings when the sources or the commit path warned (already on stderr).
int exit_status(const Desired& d, const nft::Outcome& out);

}  // namespace ivozfw::cli
