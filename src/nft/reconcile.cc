// SPDX-License-Identifier: GPL-2.0-or-later
#include "nft/reconcile.h"

#include <fmt/format.h>

#include <algorithm>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "io/lock.h"
#include "nft/element_cache.h"
#include "plan/apply.h"

namespace ivozfw::nft {

namespace {

using Clock = std::chrono::steady_clock;

void warn(Outcome& out, const std::string& msg) {
    std::cerr << "ivozfw: warning: " << msg << "\n";
    out.warnings.push_back(msg);
}

// Jittered exponential backoff: 10 ms, 20 ms ... capped at 1 s, each x0.5..1.5, so two
// writers that lost the same race do not meet again at the same instant.
std::chrono::milliseconds backoff(int attempt) {
    static std::mt19937 rng(std::random_device{}());
    double base = std::min(10.0 * double(1u << std::min(attempt - 1, 10)), 1000.0);
    return std::chrono::milliseconds(long(base * std::uniform_real_distribution<>(0.5, 1.5)(rng)));
}

// After our commit: if the generation moved by exactly one, nobody else committed and the
// kernel holds exactly what the plan made of the table we read.
void drop_cache(const std::string& path) {
    std::remove(path.c_str());
    std::remove((path + ".gen").c_str());
}

// Only element changes of dynamic sets (bans), which the cache never holds.
bool dynamic_only(const plan::Plan& p, const Table& desired) {
    return std::all_of(p.ops.begin(), p.ops.end(), [&](const plan::Op& op) {
        auto it = desired.sets.find(op.name);
        return (op.verb == plan::Op::add_elements || op.verb == plan::Op::delete_elements) &&
               it != desired.sets.end() && it->second.dynamic;
    });
}

// A commit after a partial read (opt.read_only) knows only the sets it read: the cache it
// leaves is the one valid before, with those sets as the commit made them. Without cached
// reads (opt.cache_reads off: a ban), a commit of dynamic sets only just moves the cache's
// generation on (a side file), so it stays valid without being read or rewritten; with
// cached reads too (bansync reads the exemption sets from it), as nothing cached changed.
void save_cache(Kernel& k, const ReconcileOptions& opt, Outcome& out, const Table& desired, uint32_t gen,
                std::optional<ElementCache> valid_before, const std::optional<ElementCache>& peeked,
                const std::set<std::string>& ignore) {
    if (opt.cache_path.empty()) return;
    try {
        uint32_t now = k.genid();
        bool partial = !opt.read_only.empty();
        uint32_t ours = gen == UINT32_MAX ? 1 : gen + 1;   // the batch was guarded at gen
        // Other tools' commits after ours that left the cached sets alone (followed events)
        // do not change what the cache holds: valid at `now` all the same.
        bool one_step = now == ours || k.untouched_since(ours, ignore) == now;
        if (dynamic_only(out.plan, desired)) {
            // Nothing cached changed (dynamic sets never are): a ban, bansync's batches. A
            // cache valid at our base generation moves on to now; any other is left as it
            // is: it still holds what it held, and only an exact generation is believed.
            auto base = valid_before ? valid_before : (peeked ? ElementCache::peek(opt.cache_path) : std::nullopt);
            if (one_step && base && base->valid_for(desired.name, gen, k.netns_cookie()))
                ElementCache::bump(opt.cache_path, *base, now);
            return;
        }
        if (!opt.cache_reads) {
            drop_cache(opt.cache_path);
            return;
        }
        if (!one_step || (partial && !valid_before)) {
            drop_cache(opt.cache_path);
            return;
        }
        // The table read before is not needed after the commit: build the cache out of it
        // in place, and write the sets the plan created whole from the desired table: never
        // a second copy of every element.
        std::optional<Table> before = std::move(out.before);
        out.before.reset();
        // (plan::plan gives a created set no other element op; should a plan ever do, every
        // set is built by apply, copies included.)
        std::map<std::string, const std::vector<ruleset::Element>*> whole;
        std::map<std::string, int> element_ops;
        for (const auto& o : out.plan.ops) {
            if (o.verb == plan::Op::add_elements || o.verb == plan::Op::delete_elements) ++element_ops[o.name];
            if (o.elements.borrowed()) whole[o.name] = &o.elements.get();
        }
        bool alone = std::all_of(whole.begin(), whole.end(), [&](const auto& w) { return element_ops[w.first] == 1; });
        if (!alone) whole.clear();
        auto c = ElementCache::of(plan::apply(std::move(before), out.plan, desired,
                                              alone ? plan::Borrowed::left_empty : plan::Borrowed::copy),
                                  desired.name);
        if (partial) {
            for (auto& [name, elements] : c.sets) valid_before->sets[name] = std::move(elements);
            c.sets = std::move(valid_before->sets);
        }
        c.boot_id = boot_id();
        c.netns_cookie = k.netns_cookie();
        c.genid = now;
        c.save(opt.cache_path, whole);
    } catch (const std::exception& e) {
        drop_cache(opt.cache_path);
        warn(out, fmt::format("committed, but the element cache could not be recorded ({}): the next command "
                              "reads the sets from the kernel",
                              e.what()));
    }
}

std::optional<ElementCache> load_cache(const ReconcileOptions& opt, Outcome& out) {
    if (opt.cache_path.empty() || !opt.cache_reads) return std::nullopt;
    auto l = ElementCache::load(opt.cache_path);
    if (!l.problem.empty()) {
        drop_cache(opt.cache_path);
        warn(out, l.problem);
    }
    return std::move(l.cache);
}

// The cache was valid some generations ago, and watch follows every commit: once it has moved
// the cache on to the generation this command follows from, our own follower vouches for the
// rest (read_table). Other tools committing many times a second make that the common case;
// a wait of a few hundred ms (watch recording the previous apply) saves a dump of seconds.
// Watch never vouches for generations that touched the table: the wait is bounded by what a
// dump of the cached elements would cost (about 15 us each for 158k), so a small table
// never waits for it.
void catch_up(Kernel& k, ElementCache& cache, const std::string& table, const ReconcileOptions& opt) {
    uint64_t cookie = k.netns_cookie();
    auto from = k.followed_from();
    if (opt.cache_catch_up.count() <= 0 || !from || !cache.valid_for(table, cache.genid, cookie) ||  // another netns, boot
        int32_t(*from - cache.genid) <= 0)
        return;
    size_t elements = 0;
    for (const auto& [name, e] : cache.sets) elements += e.size();
    auto budget = std::min(opt.cache_catch_up, std::chrono::milliseconds(elements / 128));
    auto deadline = Clock::now() + budget;
    for (;;) {
        uint32_t moved = ElementCache::moved_on(opt.cache_path, cache);
        if (int32_t(moved - cache.genid) > 0) cache.genid = moved;
        // From there on, read_table asks our follower (and finds whether the table was touched).
        if (int32_t(cache.genid - *from) >= 0 || Clock::now() >= deadline) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace

Outcome reconcile(Kernel& k, const Table& desired, const ReconcileOptions& opt) {
    Outcome out;
    // The kernel's commits are followed from before the first read: a generation change
    // that did not touch our table (another tool's table) costs neither a re-read nor a
    // re-plan. Element changes of dynamic sets (bans) do not change a plan that leaves them
    // alone; a command that reads only some sets (a ban) plans on exactly those.
    std::set<std::string> ignore;
    for (const auto& [n, set] : desired.sets)
        if (set.dynamic && !opt.read_only.count(n)) ignore.insert(n);
    bool following = k.follow(desired.name, ignore);
    // The writers' lock is taken after the first read, for plan and commit: a long read
    // (a big table without a valid cache) never keeps a ban waiting. If an ivozfw writer
    // committed to the table meanwhile, the read is done again, under the lock.
    bool locking = !opt.dry_run && !opt.check_only && !opt.lock_path.empty();
    std::optional<io::FileLock> lock;
    auto take_lock = [&] {
        if (locking && !lock)
            lock.emplace(opt.lock_path, opt.lock_wait, fmt::format("pid {}: {}", getpid(), opt.lock_holder));
    };
    if (!following) take_lock();
    std::optional<ElementCache> cache = load_cache(opt, out);
    if (cache && following) catch_up(k, *cache, desired.name, opt);
    std::optional<ElementCache> peeked;
    if (!opt.cache_reads && !opt.cache_path.empty()) peeked = ElementCache::peek(opt.cache_path);
    auto start = Clock::now();
    // Another tool committed during our read or between our read and our commit: back off
    // and try again, until the deadline.
    auto lost_race = [&](const GenerationChanged& e, int attempt) {
        auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        if (spent >= opt.deadline) {
            // Say who, when the events tell (a reader starved by ivozfw's own bans once blamed
            // "another tool").
            std::string who = k.committers();
            throw KernelError(e.err, fmt::format("the ruleset kept changing under us ({} attempts in {:.1f} s): {}",
                                                 attempt, spent.count() / 1000.0,
                                                 who.empty() ? "the writers could not be identified (no kernel events)"
                                                             : "committed meanwhile by " + who));
        }
        std::this_thread::sleep_for(backoff(attempt));
    };
    for (int attempt = 1;; ++attempt) {
        out.attempts = attempt;
        uint32_t gen = 0;
        try {
            out.before = opt.read_only.empty()
                             ? k.read_table(desired.name, &gen, cache ? &*cache : nullptr)
                             : k.read_sets(desired.name, opt.read_only, &gen, cache ? &*cache : nullptr);
        } catch (const GenerationChanged& e) {
            lost_race(e, attempt);
            continue;
        }
        // Whether the read took elements from the cache (a read moves the cache on to the
        // generation it returns when it did).
        bool used_cache = cache && cache->valid_for(desired.name, gen, k.netns_cookie());
        if (locking && !lock) {
            take_lock();
            // Read without the lock: still good if nobody touched the table since.
            auto now = k.untouched_since(gen, ignore);
            if (!now) {
                cache = load_cache(opt, out);   // another writer's commit: its cache is the fresh one
                continue;
            }
            gen = *now;
            if (used_cache) cache->genid = gen;
        }
        out.plan = opt.make_plan ? opt.make_plan(out.before) : plan::plan(desired, out.before, opt.scope);
        if (opt.before_commit) opt.before_commit(out.before, out.plan);
        if (out.plan.empty() || opt.dry_run) return out;
        bool read_again = false;
        for (;;) {
            try {
                out.stats = k.commit(out.plan, desired, gen, opt.check_only);
            } catch (const GenerationChanged& e) {
                // Lost to a commit elsewhere that left our table alone: the same plan, at
                // the new generation, at once.
                bool in_time = Clock::now() - start < opt.deadline;
                if (auto now = in_time ? k.untouched_since(gen, ignore) : std::nullopt; now && *now != gen) {
                    gen = *now;
                    if (used_cache) cache->genid = gen;
                    ++out.attempts;
                    continue;
                }
                lost_race(e, attempt);
                read_again = true;
            } catch (const KernelError& e) {
                // The kernel contradicts the cache (an element it said was there is missing, or
                // the reverse): the cache is wrong. Forget it and plan again from a real read.
                if (!(used_cache && e.changed == Changed::no && (e.err == ENOENT || e.err == EEXIST))) throw;
                drop_cache(opt.cache_path);
                cache.reset();
                warn(out, fmt::format("the kernel refused the batch ({}) against the element cache: cache dropped, "
                                      "read the sets again and planned anew",
                                      e.what()));
                read_again = true;
            }
            break;
        }
        if (read_again) continue;
        if (opt.check_only) return out;
        out.committed = true;
        save_cache(k, opt, out, desired, gen, used_cache ? std::move(cache) : std::nullopt, peeked, ignore);
        return out;
    }
}

}  // namespace ivozfw::nft
