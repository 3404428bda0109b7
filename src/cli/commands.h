// SPDX-License-Identifier: GPL-2.0-or-later
// One function per subcommand; main.cc only parses flags and dispatches. Each returns the
// process exit status: 0 ok, 1 error, 2 (diff) changes pending, 3 done with warnings
// (a data source could not be read or had bad rows; see stderr).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli/state.h"
#include "policy/policy.h"
#include "nft/netlink.h"

namespace ivozfw::fleet {
class Redis;
}

namespace ivozfw::cli {

struct Options {
    std::string command;        // "apply", "geoip refresh": names the holder of the writers' lock
    /// The kernel the command talks to: netlink unless a test hands in another.
    std::function<std::unique_ptr<nft::Kernel>()> open_kernel;
    int retry_deadline_ms = 60000;   // keep retrying a lost generation race this long
    std::string policy = "/etc/ivozfw/policy.json";
    StateDir state{"/var/lib/ivozfw"};
    std::string table;          // remove/confirm without a readable policy
    bool json = false;
    bool force = false;
    bool kernel = false;        // check --kernel
    unsigned confirm_s = 0;     // apply --confirm N
    std::string token;          // rollback watcher
    int ready_fd = -1;          // rollback watcher: tell apply it runs (then apply commits)
    int64_t deadline_boot_ms = 0;   // rollback watcher: its deadline, CLOCK_BOOTTIME (kept in memory)
    bool boot = false;          // apply --boot: restore an unconfirmed apply's table instead
    std::string source;         // companies --source
    std::string address;        // geoip lookup / explain / ban...
    std::string ban_for;        // ban --for DURATION (empty: the ban set's timeout)
    uint64_t company_id = 0;    // companies show
    std::string format;         // status --format text|json|prometheus
    std::string output;         // status --output FILE (written atomically)
    std::string proto_port;     // explain PROTO/PORT ("udp/5060"); empty = every service
    bool forwarded = false;     // explain --forwarded: another table DNATs it (forward hook)
};

constexpr int kExitWarnings = 3;

/// A guard said no (the lockout guard, a GeoIP database older or much smaller): nothing was
/// sent.
struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Thrown for a failure after the kernel committed: the message says so ("committed ...,
/// then ..."), never "nothing was changed".
struct AfterCommit : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// o.open_kernel(), or a netlink socket.
std::unique_ptr<nft::Kernel> open_kernel(const Options& o);

int cmd_check(const Options& o);
int cmd_diff(const Options& o);
int cmd_apply(const Options& o);
/// Commit confirmed (confirm.cc): keep what the last `apply --confirm` did, or restore the
/// table it replaced now. Both decide under the writers' lock, as the watcher does.
int cmd_confirm(const Options& o);
int cmd_rollback(const Options& o);
/// Every command but these: warn on stderr when an `apply --confirm` is armed and no watcher
/// is alive to roll it back (killed, or the host rebooted).
void warn_unconfirmed(const Options& o);
int cmd_export(const Options& o);
int cmd_remove(const Options& o);
int cmd_geoip_refresh(const Options& o);
int cmd_geoip_lookup(const Options& o);
/// Anti-flood bans: list (with time left), lift one, add one by hand (bans_commands.cc).
int cmd_bans(const Options& o);
int cmd_unban(const Options& o);
int cmd_ban(const Options& o);
int cmd_companies_sync(const Options& o);
int cmd_platform_sync(const Options& o);
int cmd_bansync(const Options& o);
/// Keep the table in force against other tools (watch_commands.cc, watch/watch.h).
int cmd_watch(const Options& o);
/// Does an `ivozfw watch` hold the state directory's watch.lock?
bool watch_running(const Options& o);
/// State file of unbans the fleet has not heard of yet (Redis was away): bansync sends them.
inline const char* const kFleetUnbans = "fleet-unbans.json";
/// The queue of unbans the fleet has not heard (bans_commands.cc), under the writers' lock.
void queue_fleet_unban(const Options& o, const std::string& addr);
void unqueue_fleet_unban(const Options& o, const std::string& addr);
/// The fleet section's host name (fleet.host, else the hostname), and its Redis (not yet
/// connected), for bansync and unban.
std::string fleet_host(const policy::Fleet& f);
std::unique_ptr<fleet::Redis> open_fleet_redis(const policy::Fleet& f);
/// The fleet's signing key from fleet.credentials; throws when it is missing or short.
std::string fleet_key(const policy::Fleet& f);
int cmd_companies_list(const Options& o);
int cmd_companies_show(const Options& o);
/// Operations (status_commands.cc, explain_commands.cc). status: 0 loaded and equal to the
/// policy, 2 differs, 4 table not loaded, 1 error. explain: 0 accepted, 5 dropped, 1 error.
int cmd_status(const Options& o);
int cmd_explain(const Options& o);
/// Internal: started detached by `apply --confirm`; restores the snapshot unless confirmed.
int cmd_rollback_watch(const Options& o);

}  // namespace ivozfw::cli
