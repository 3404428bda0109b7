// SPDX-License-Identifier: GPL-2.0-or-later
// An in-memory nft::Kernel with the kernel's semantics for what ivozfw sends: one table,
// all-or-nothing batches (plan::apply on a copy), a generation id that moves by one per
// non-empty commit and guards every batch, and faults to inject: another writer committing
// before our batch, a refused batch. Unit tests only.
#pragma once

#include <cerrno>
#include <functional>

#include "nft/element_cache.h"
#include "nft/netlink.h"
#include "plan/apply.h"

namespace ivozfw::test {

class FakeKernel final : public nft::Kernel {
public:
    std::optional<ruleset::Table> table;
    uint32_t gen = 1;
    uint64_t cookie = 0x5eed;
    /// Runs at the end of every read (a writer between our read and our lock).
    std::function<void()> after_read;
    /// Runs at the start of every commit (a racing writer: call foreign_commit()).
    std::function<void()> before_commit;
    /// The next commit is refused with this errno (nothing changes).
    int refuse_next = 0;
    /// Every batch this says an errno for is refused (an element the kernel will not take).
    std::function<int(const plan::Plan&)> refuse_if;
    int commits = 0, reads = 0, cache_reads = 0, set_reads = 0;

    void foreign_commit() { ++gen; }

    /// Event following (Kernel::follow): off unless a test turns it on. Generations that
    /// touched the table are listed in `touching` (foreign_commit_touching()).
    bool events = false;
    std::set<uint32_t> touching;
    int untouched_queries = 0;
    void foreign_commit_touching() { touching.insert(++gen); }
    std::optional<uint32_t> followed;   // the generation follow() was first called at
    bool follow(const std::string&, const std::set<std::string>&) override {
        if (events && !followed) followed = gen;
        return events;
    }
    std::optional<uint32_t> followed_from() override { return followed; }
    std::optional<uint32_t> untouched_since(uint32_t since, const std::set<std::string>&) override {
        ++untouched_queries;
        if (!events) return std::nullopt;
        for (uint32_t g = since + 1; g <= gen; ++g)
            if (touching.count(g)) return std::nullopt;
        return gen;
    }

    uint32_t genid() override { return gen; }

    // As the real one: cached elements of the sets returned are moved out of the cache.
    std::optional<ruleset::Table> read(const std::string& name, uint32_t* g, nft::ElementCache* cache,
                                       const std::set<std::string>* only) {
        ++reads;
        *g = gen;
        if (after_read) after_read();   // runs after the generation was taken: the read is stale
        if (!table || table->name != name) return std::nullopt;
        auto t = table;
        if (cache && cache->valid_for(name, gen, cookie)) {
            ++cache_reads;
            for (auto& [n, s] : t->sets)
                if (auto it = cache->sets.find(n); it != cache->sets.end() && !s.dynamic && (!only || only->count(n)))
                    s.elements = std::move(it->second);
        }
        return t;
    }
    uint64_t netns_cookie() override { return cookie; }
    std::vector<std::string> nat;   // what nat_chains() reports
    std::vector<std::string> nat_chains() override { return nat; }

    std::optional<ruleset::Table> read_table(const std::string& name, uint32_t* g,
                                             nft::ElementCache* cache) override {
        return read(name, g, cache, nullptr);
    }

    std::optional<ruleset::Table> read_sets(const std::string& name, const std::set<std::string>& sets, uint32_t* g,
                                            nft::ElementCache* cache) override {
        auto t = read(name, g, cache, &sets);
        ++set_reads;
        if (!t) return t;
        t->chains.clear();
        t->chain_order.clear();
        t->counters.clear();
        std::erase_if(t->sets, [&](const auto& kv) { return !sets.count(kv.first); });
        return t;
    }

    nft::CommitStats commit(const plan::Plan& p, const ruleset::Table& desired, uint32_t genid,
                            bool check_only) override {
        ++commits;
        if (before_commit) before_commit();
        if (genid && genid != gen) throw nft::GenerationChanged(ERESTART, "ruleset generation changed");
        if (int e = refuse_next) {
            refuse_next = 0;
            throw nft::KernelError(e, "refused by the fake");
        }
        if (int e = refuse_if ? refuse_if(p) : 0) throw nft::KernelError(e, "refused by the fake");
        std::optional<ruleset::Table> after;
        try {
            after = plan::apply(table, p, desired);
        } catch (const plan::ApplyError& e) {
            throw nft::KernelError(e.err, e.what());
        }
        if (check_only) return {};
        table = std::move(after);
        if (!p.empty()) ++gen;
        return {p.ops.size(), 0, p.element_count()};
    }
};

}  // namespace ivozfw::test
