// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel's nftables events (the multicast group `nft monitor` reads), grouped by
// generation: every commit notifies each object it changed, then one NEWGEN that carries
// the new generation id and the committing process (pid and name). ivozfw watch reads
// them to tell its own commits from everybody else's, and which touched its table.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ivozfw::nft {

/// One committed transaction, as far as it concerns table inet `table`.
struct Generation {
    uint32_t genid = 0;
    uint32_t pid = 0;
    std::string process;                 // the committing task's name ("nft", "ivozfw")
    bool table_added = false, table_deleted = false;
    bool structure = false;              // a table, chain, rule, set or object of ours changed
    std::set<std::string> element_sets;  // sets of ours whose elements were added or removed
    /// "deleted rule from chain input" -> how many, for messages.
    std::map<std::string, size_t> what;
    /// Did it change table inet `table` at all, counting element changes only in sets not
    /// listed in `ignore` (the dynamic sets, which the packet path owns too)?
    bool touches(const std::set<std::string>& ignore) const;
    /// "table inet ivozfw deleted", "added 1 rule to chain input, deleted 2 elements from set admin_v4".
    std::string describe(const std::string& table) const;
};

/// A socket subscribed to the nftables group, filtering on one inet table. Subscribe before
/// reading the table, so that no commit between the read and the subscription is missed.
class Events {
public:
    /// `rcvbuf`: the socket's receive buffer. An apply of a big set notifies every element
    /// (notifications are batched into skbs of a page or so); a full buffer loses events.
    explicit Events(std::string table, int rcvbuf = 64 << 20);
    ~Events();
    Events(const Events&) = delete;
    Events& operator=(const Events&) = delete;

    int fd() const;
    /// Leave and join the group again: while out of it, nothing is queued (the kernel builds
    /// no notification for a listener that is not there).
    void leave();
    void join();
    /// Read everything queued, without blocking, appending each complete generation (its
    /// NEWGEN received) to `out`. Returns false when the kernel dropped events because the
    /// socket's buffer was full (ENOBUFS): the caller no longer knows what happened.
    bool drain(std::vector<Generation>& out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ivozfw::nft
