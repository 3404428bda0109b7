// SPDX-License-Identifier: GPL-2.0-or-later
#include "nft/reconcile.h"

#include "nft/element_cache.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace ivozfw::nft {

namespace {

// Test hook: run a command between our read and our commit, so a test can make another
// writer win the race (first attempt only, or every attempt with IVOZFW_TEST_RACE_ALWAYS).
void test_race(int attempt) {
    const char* cmd = std::getenv("IVOZFW_TEST_RACE");
    if (!cmd || (attempt > 1 && !std::getenv("IVOZFW_TEST_RACE_ALWAYS"))) return;
    if (std::system(cmd) != 0) throw std::runtime_error("IVOZFW_TEST_RACE command failed");
}

}  // namespace

// After our commit: if the generation moved by exactly one, nobody else committed and the
// kernel holds exactly what the plan made of the table we read.
static void save_cache(Netlink& nl, const ReconcileOptions& opt, const Outcome& out, const Table& desired, uint32_t gen) {
    if (opt.cache_path.empty()) return;
    uint32_t now = nl.genid();
    if (now != gen + 1 && !(gen == UINT32_MAX && now == 1)) {
        std::remove(opt.cache_path.c_str());
        return;
    }
    auto c = ElementCache::after(out.before, out.plan, desired);
    c.boot_id = boot_id();
    c.netns_cookie = nl.netns_cookie();
    c.genid = now;
    c.save(opt.cache_path);
}

Outcome reconcile(Netlink& nl, const Table& desired, const ReconcileOptions& opt) {
    Outcome out;
    std::optional<ElementCache> cache;
    if (!opt.cache_path.empty()) cache = ElementCache::load(opt.cache_path);
    for (int attempt = 1;; ++attempt) {
        out.attempts = attempt;
        uint32_t gen = 0;
        out.before = nl.read_table(desired.name, &gen, cache ? &*cache : nullptr);
        out.plan = opt.make_plan ? opt.make_plan(out.before) : plan::plan(desired, out.before, opt.scope);
        if (opt.before_commit) opt.before_commit(out.before, out.plan);
        if (out.plan.empty() || opt.dry_run) return out;
        test_race(attempt);
        try {
            out.stats = nl.commit(out.plan, desired, gen, opt.check_only);
            if (!opt.check_only) save_cache(nl, opt, out, desired, gen);
            return out;
        } catch (const GenerationChanged& e) {
            if (attempt >= opt.max_attempts)
                throw KernelError(e.err, "the ruleset kept changing under us (" + std::to_string(attempt) +
                                             " attempts): another tool is writing it; nothing was changed");
            usleep(20000u << std::min(attempt, 5));   // back off: 40 ms, 80 ms, ...
        }
    }
}

}  // namespace ivozfw::nft
