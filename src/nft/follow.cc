// SPDX-License-Identifier: GPL-2.0-or-later
// Netlink's follower: which generation changes since a read concerned the table (the event
// stream, events.h), so that another table's commit costs a command no re-read.
#include <poll.h>

#include <fmt/format.h>

#include <chrono>
#include <map>

#include "nft/internal.h"

namespace ivozfw::nft {

bool Netlink::follow(const std::string& name, const std::set<std::string>& ignore) {
    impl_->read_ignore = ignore;
    if (impl_->events) return true;
    try {
        // Small: a full buffer only costs a re-read (lost_upto), and our own big commits
        // would fill a large one for nothing.
        impl_->events = std::make_unique<Events>(name, 4 << 20);
    } catch (const KernelError&) {
        return false;   // no multicast here: every generation change counts
    }
    impl_->followed_from = impl_->sock.genid();   // subscribed first: nothing after it is missed
    return true;
}

std::optional<uint32_t> Netlink::followed_from() {
    return impl_->events ? std::optional<uint32_t>(impl_->followed_from) : std::nullopt;
}

std::string Netlink::committers() {
    auto& i = *impl_;
    if (!i.events) return "";
    std::vector<Generation> got;
    i.events->drain(got);
    for (auto& g : got) i.seen[g.genid] = std::move(g);
    std::map<std::string, std::pair<size_t, std::set<uint32_t>>> by;   // process -> commits, pids
    for (const auto& [id, g] : i.seen) {
        if (int32_t(id - i.followed_from) <= 0) continue;
        auto& b = by[g.process.empty() ? "?" : g.process];
        ++b.first;
        if (b.second.size() < 3) b.second.insert(g.pid);
    }
    std::string out;
    for (const auto& [process, b] : by) {
        std::string pids;
        for (uint32_t p : b.second) pids += (pids.empty() ? "" : ", ") + std::to_string(p);
        out += fmt::format("{}{} (pid {}{}) {}", out.empty() ? "" : ", ", process, pids,
                           b.second.size() >= 3 ? ", ..." : "", b.first == 1 ? "once" : fmt::format("{} times", b.first));
    }
    return out;
}

std::optional<uint32_t> Netlink::untouched_since(uint32_t since, const std::set<std::string>& ignore) {
    auto& i = *impl_;
    if (!i.events || int32_t(since - i.followed_from) < 0) return std::nullopt;   // before we listened
    uint32_t now = i.sock.genid();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    for (;;) {
        std::vector<Generation> got;
        bool complete = i.events->drain(got);
        for (auto& g : got) {
            uint32_t id = g.genid;
            i.seen[id] = std::move(g);
        }
        if (!complete) i.lost_upto = i.sock.genid();   // whatever was lost is at most this
        while (i.seen.size() > 4096) i.seen.erase(i.seen.begin());
        if (i.lost_upto && int32_t(*i.lost_upto - since) >= 0) return std::nullopt;
        // Every generation in (since, now] seen, none touching the table? The kernel makes a
        // generation visible just before it sends its event: wait a moment for a late one.
        bool all = true;
        for (uint32_t g = since + 1; int32_t(now - g) >= 0; ++g) {
            auto it = i.seen.find(g);
            if (it == i.seen.end()) {
                all = false;
                continue;
            }
            if (it->second.touches(ignore)) return std::nullopt;
        }
        if (all) return now;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        pollfd p{i.events->fd(), POLLIN, 0};
        poll(&p, 1, 20);
    }
}

}  // namespace ivozfw::nft
