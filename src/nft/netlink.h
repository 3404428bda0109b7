// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel, as ivozfw sees it: read one table back, commit a Plan as ONE batch guarded by
// the ruleset generation id. `Kernel` is the interface (unit tests use an in-memory fake,
// tests/unit/fake_kernel.h); `Netlink` is the real one, the only code that talks netlink.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "ruleset/model.h"

namespace ivozfw::nft {

using ruleset::Table;
struct ElementCache;

/// Whether a failed command changed the kernel. `no` is said only when it is known: the
/// kernel refused the batch (all or nothing) or nothing was sent.
enum class Changed : uint8_t { no, unknown };

/// A failure reported by the kernel (or the socket), named after the object it came from:
/// "set admin_v4: element 192.0.2.0-192.0.2.255: File exists".
struct KernelError : std::runtime_error {
    int err;  // positive errno
    Changed changed = Changed::no;
    KernelError(int e, const std::string& what, Changed c = Changed::no)
        : std::runtime_error(what), err(e), changed(c) {}
};

/// The generation changed between our read and our commit (ERESTART on BATCH_BEGIN).
struct GenerationChanged : KernelError {
    using KernelError::KernelError;
};

/// A base chain of any table (hooked into the packet path), for the warnings about other
/// tables whose verdicts can override ivozfw's.
struct BaseChain {
    std::string family, table, chain, hook, type;   // "ip", "nat", "PREROUTING", "prerouting", "nat"
    int32_t priority = 0;
    bool policy_drop = false;
};

struct CommitStats {
    size_t messages = 0;        // netlink messages in the batch, BEGIN/END excluded
    size_t bytes = 0;           // size of the batch datagram
    size_t elements = 0;        // set elements sent (adds + deletes)
};

/// What every command needs of the kernel. Abstract so that plan, retry, locking, cache and
/// rollback logic run in unit tests against a fake with the same semantics.
class Kernel {
public:
    virtual ~Kernel() = default;

    /// Current ruleset generation id (full 32 bits); moves by one per non-empty commit.
    virtual uint32_t genid() = 0;

    /// Table `inet <name>` with its chains, rules, sets (with elements) and named counters,
    /// as one consistent snapshot: *genid receives the generation it belongs to. nullopt
    /// when the table does not exist. With a cache valid for this namespace and generation,
    /// the elements of the cached sets are taken from it instead of being dumped: moved out
    /// of it (never two copies of every element), so the cache keeps its header and the
    /// elements of the sets not returned.
    virtual std::optional<Table> read_table(const std::string& name, uint32_t* genid,
                                            ElementCache* cache = nullptr) = 0;

    /// The table with only the named sets (those that exist), nothing else: what a command
    /// that changes a few sets needs (a ban, a sync), without dumping the big ones.
    virtual std::optional<Table> read_sets(const std::string& name, const std::set<std::string>& sets,
                                           uint32_t* genid, ElementCache* cache = nullptr) = 0;

    /// Follow the kernel's commits from now on (call before a read), so that untouched_since
    /// can tell a generation change that concerns table `name` from one that does not. Reads
    /// then keep a dump that commits interrupted if none touched the table (element changes
    /// of the `ignore` sets aside). false: not available; every generation change counts.
    virtual bool follow(const std::string& name, const std::set<std::string>& ignore = {}) {
        (void)name, (void)ignore;
        return false;
    }
    /// Every commit after generation `since` up to now left the followed table alone (element
    /// changes of the `ignore` sets aside): returns the current generation. nullopt when one
    /// touched it, or it is not known (not followed, events lost, an event late).
    virtual std::optional<uint32_t> untouched_since(uint32_t since, const std::set<std::string>& ignore) {
        (void)since, (void)ignore;
        return std::nullopt;
    }
    /// The generation follow() started at: untouched_since knows nothing before it.
    virtual std::optional<uint32_t> followed_from() { return std::nullopt; }
    /// Who committed since follow(), as the events say: "ivozfw (pid 4242) 412 times, nft
    /// (pid 99) once"; "" when not followed or nothing was seen.
    virtual std::string committers() { return ""; }

    /// Identifies this network namespace until reboot (0 = unknown: never cache).
    virtual uint64_t netns_cookie() = 0;

    /// NAT base chains of the ip, ip6 and inet tables of this namespace, at any hook ("ip
    /// nat PREROUTING (prerouting)"), for a warning: an untracked packet skips NAT. Reads
    /// chains only.
    virtual std::vector<std::string> nat_chains() = 0;
    /// Every base chain of the ip, ip6 and inet tables of this namespace (chains only).
    virtual std::vector<BaseChain> base_chains() { return {}; }

    /// Send `plan` as one batch, guarded by `genid` (0 = unguarded). `desired` supplies the
    /// full definitions (sets, chains) the ops refer to by name. check_only: the kernel
    /// validates everything, then aborts. Throws GenerationChanged on a lost race,
    /// KernelError naming the object on any error (its `changed` says what is known).
    virtual CommitStats commit(const plan::Plan& plan, const Table& desired, uint32_t genid,
                               bool check_only = false) = 0;
};

/// One netlink socket for the life of the command. Not thread safe.
class Netlink final : public Kernel {
public:
    Netlink();
    ~Netlink() override;
    Netlink(const Netlink&) = delete;
    Netlink& operator=(const Netlink&) = delete;

    /// NFT_MSG_GETGEN, full 32 bits.
    uint32_t genid() override;

    std::optional<Table> read_table(const std::string& name, uint32_t* genid,
                                    ElementCache* cache = nullptr) override;
    std::optional<Table> read_sets(const std::string& name, const std::set<std::string>& sets, uint32_t* genid,
                                   ElementCache* cache = nullptr) override;

    /// SO_NETNS_COOKIE of our socket.
    uint64_t netns_cookie() override;

    /// A second socket in the nftables multicast group (events.h). With it, a read whose
    /// dumps other tables' commits interrupted is still good, and so is a plan whose commit
    /// lost the race to a commit elsewhere: no re-read.
    bool follow(const std::string& name, const std::set<std::string>& ignore = {}) override;
    std::optional<uint32_t> untouched_since(uint32_t since, const std::set<std::string>& ignore) override;
    std::optional<uint32_t> followed_from() override;
    std::string committers() override;

    /// One GETCHAIN dump of every family (chains of all tables, no rules).
    std::vector<std::string> nat_chains() override;
    std::vector<BaseChain> base_chains() override;

    /// BATCH_BEGIN carries NFNL_BATCH_GENID; check_only leaves out BATCH_END.
    CommitStats commit(const plan::Plan& plan, const Table& desired, uint32_t genid,
                       bool check_only = false) override;

private:
    std::optional<Table> read_sets(const std::string& name, const std::set<std::string>* sets, uint32_t* genid,
                                   ElementCache* cache);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Fill Rule::exprs (canonical text of the kernel expressions) for every rule of a compiled
/// table, so plan can compare it with what read_table returns. No kernel needed.
void annotate(Table& t);

/// Comment the kernel stores on an ivozfw rule, and its parser (the model's).
using ruleset::rule_comment;
using ruleset::rule_id_from_comment;

}  // namespace ivozfw::nft
