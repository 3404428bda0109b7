// SPDX-License-Identifier: GPL-2.0-or-later
// The only place that talks to the kernel: read one table back over netlink, and commit a
// Plan as ONE nfnetlink batch guarded by the ruleset generation id.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "plan/plan.h"
#include "ruleset/model.h"

namespace ivozfw::nft {

using ruleset::Table;
struct ElementCache;

/// A failure reported by the kernel (or the socket), named after the object it came from:
/// "set admin_v4: element 192.0.2.0-192.0.2.255: File exists".
struct KernelError : std::runtime_error {
    int err;  // positive errno
    KernelError(int e, const std::string& what) : std::runtime_error(what), err(e) {}
};

/// The generation changed between our read and our commit (ERESTART on BATCH_BEGIN).
struct GenerationChanged : KernelError {
    using KernelError::KernelError;
};

struct CommitStats {
    size_t messages = 0;        // netlink messages in the batch, BEGIN/END excluded
    size_t bytes = 0;           // size of the batch datagram
    size_t elements = 0;        // set elements sent (adds + deletes)
};

/// One netlink socket for the life of the command. Not thread safe.
class Netlink {
public:
    Netlink();
    ~Netlink();
    Netlink(const Netlink&) = delete;
    Netlink& operator=(const Netlink&) = delete;

    /// Current ruleset generation id (NFT_MSG_GETGEN, full 32 bits).
    uint32_t genid();

    /// Read table `inet <name>` with its chains, rules, sets (with elements) and named
    /// counters, as one consistent snapshot: *genid receives the generation it belongs to.
    /// nullopt when the table does not exist.
    /// With a cache valid for this namespace and generation, the elements of the cached
    /// sets are taken from it instead of being dumped.
    std::optional<Table> read_table(const std::string& name, uint32_t* genid,
                                    const ElementCache* cache = nullptr);

    /// SO_NETNS_COOKIE of our socket: identifies this network namespace until reboot.
    uint64_t netns_cookie();

    /// Send `plan` as one batch. BATCH_BEGIN carries NFNL_BATCH_GENID = genid (0 = unguarded).
    /// `desired` supplies the full definitions (sets, chains) the ops refer to by name.
    /// check_only leaves out BATCH_END: the kernel validates everything, then aborts.
    /// Throws GenerationChanged on ERESTART, KernelError naming the object on any error;
    /// in both cases nothing was changed.
    CommitStats commit(const plan::Plan& plan, const Table& desired, uint32_t genid,
                       bool check_only = false);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Fill Rule::exprs (canonical text of the kernel expressions) for every rule of a compiled
/// table, so plan can compare it with what read_table returns. No kernel needed.
void annotate(Table& t);

/// Comment the kernel stores on an ivozfw rule, and its parser.
std::string rule_comment(const std::string& id);
std::optional<std::string> rule_id_from_comment(const std::string& comment);

}  // namespace ivozfw::nft
