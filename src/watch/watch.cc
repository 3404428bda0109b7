// SPDX-License-Identifier: GPL-2.0-or-later
#include "watch/watch.h"

#include <fmt/format.h>
#include <syslog.h>
#include <unistd.h>

#include <ctime>

#include "io/atomic_file.h"
#include "io/lock.h"
#include "nft/element_cache.h"
#include "plan/plan.h"
#include "ruleset/antiflood.h"
#include "ruleset/snapshot.h"

namespace ivozfw::watch {

namespace {

std::string now_iso() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

bool is_ban_set(const ruleset::Set& s) {
    return s.dynamic && s.name.starts_with(std::string(ruleset::names::ban) + "_");
}

std::string who(const nft::Generation& g) {
    return g.pid ? fmt::format(" by pid {} ({})", g.pid, g.process.empty() ? "?" : g.process) : "";
}

}  // namespace

Watcher::Watcher(Config c, nft::Kernel& k, Drain drain, Log log)
    : c_(std::move(c)),
      k_(k),
      drain_(std::move(drain)),
      log_(std::move(log)),
      committed_(c_.committed_path, c_.table,
                 [this](const std::string& e) { log_(LOG_WARNING, fmt::format("watch: {}: {}", c_.committed_path, e)); }) {}

namespace {

std::string exe_of(const std::string& proc) {
    char buf[4096];
    ssize_t n = readlink(proc.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return "";
    std::string p(buf, size_t(n));
    if (p.ends_with(" (deleted)")) p.resize(p.size() - 10);   // upgraded while it ran
    return p;
}

}  // namespace

// The kernel names the committing task; ivozfw names itself "ivozfw". A task of that name
// whose executable is not ours (still running, so it can be looked at) is an impostor.
bool Watcher::ours(const nft::Generation& g) const {
    if (own_gens_.count(g.genid)) return true;
    if (g.process != c_.process) return false;
    static const std::string self = exe_of("/proc/self/exe");
    std::string exe = g.pid ? exe_of("/proc/" + std::to_string(g.pid) + "/exe") : "";
    return exe.empty() || self.empty() || exe == self;
}

std::set<std::string> Watcher::dynamic_sets() const {
    std::set<std::string> out;
    if (baseline_)
        for (const auto& [n, s] : baseline_->sets)
            if (s.dynamic) out.insert(n);
    return out;
}

void Watcher::start() {
    std::vector<nft::Generation> before;   // what was committed before the read below is in it
    drain_(before);
    k_.follow(c_.table);
    // The writers' lock as a meeting point (no writer between its commit and its cache);
    // restore() takes it again for its commit (flock: never twice in one process).
    if (!c_.lock_path.empty()) io::FileLock sync(c_.lock_path, ms(120000), fmt::format("pid {}: watch", getpid()));
    auto cache = c_.cache_path.empty() ? std::nullopt : nft::ElementCache::load(c_.cache_path).cache;
    uint32_t gen = 0;
    auto live = k_.read_table(c_.table, &gen, cache ? &*cache : nullptr);
    stats_.generation = gen;
    clean_since_ = last_seen_ = gen;
    if (live) {
        adopt(std::move(live), gen, "at start");
        return;
    }
    std::optional<nlohmann::json> snap;
    try {
        if (!c_.committed_path.empty() && access(c_.committed_path.c_str(), F_OK) == 0)
            snap = nlohmann::json::parse(io::read_file(c_.committed_path, size_t(1) << 31));
    } catch (const std::exception& e) {
        log_(LOG_ERR, fmt::format("watch: {} is unreadable ({}): nothing to restore from", c_.committed_path, e.what()));
    }
    std::string name;
    std::optional<ruleset::Table> committed;
    try {
        if (snap) committed = ruleset::snapshot_from_json(*snap, &name);
    } catch (const std::exception& e) {
        log_(LOG_ERR, fmt::format("watch: {}: {}: nothing to restore from", c_.committed_path, e.what()));
    }
    if (!committed || name != c_.table) {
        log_(LOG_NOTICE, fmt::format("watch: table inet {} is not loaded: waiting for `ivozfw apply`", c_.table));
        save_state();
        return;
    }
    baseline_ = std::move(committed);
    drift(nullptr,
          fmt::format("table inet {} is not loaded at start (the last table ivozfw committed is in {})", c_.table,
                      c_.committed_path),
          std::nullopt, gen, Clock::now());
}

// A table that is taken away again right after a resume is being fought over: wait longer.
ms Watcher::quiet_now() const { return c_.quiet * (1 << std::min(level_, 5)); }

void Watcher::step() {
    std::vector<nft::Generation> gens = std::move(carry_);
    carry_.clear();
    if (!drain_(gens)) {
        stats_.lost++;
        lost_ = true;
    }
    auto now = Clock::now();
    if (stats_.backing_off && now - last_foreign_ >= quiet_now()) {
        log_(LOG_NOTICE, fmt::format("watch: resuming: nothing changed table inet {} for {} s ({} changes seen while "
                                     "backing off); comparing it with the committed table",
                                     c_.table, quiet_now().count() / 1000.0, unlogged_));
        resumed_ = now;
        stats_.backing_off = false;
        stats_.backing_off_since.clear();
        restored_at_.clear();
        unlogged_ = 0;
        check_due_ = true;
        save_state();
    }
    track_clean(gens, lost_);
    if (Clock::now() < retry_at_) {
        carry_ = std::move(gens);   // a read failed a moment ago: not before retry_at_
    } else if (!gens.empty() || check_due_ || lost_) {
        handle(std::move(gens));
    }
    bump_cache();
    if (Clock::now() >= next_poll_) poll_bans();
    // Other tables' commits: watch.json follows the generation, at most once a second.
    if (stats_.generation != saved_gen_ && Clock::now() - saved_at_ >= ms(1000)) save_state();
}

void Watcher::track_clean(const std::vector<nft::Generation>& gens, bool lost) {
    auto ignore = dynamic_sets();
    if (lost) clean_since_.reset(), last_seen_.reset();
    for (const auto& g : gens) {
        if (last_seen_ && int32_t(g.genid - *last_seen_) <= 0) continue;   // before the start read
        bool contiguous = last_seen_ && g.genid == *last_seen_ + 1;
        if (!clean_since_ || !contiguous || g.touches(ignore)) clean_since_ = g.genid;
        last_seen_ = g.genid;
    }
}

// drain_, and what it adds counts for the cache (track_clean) like what step() drains: a
// generation handled but never tracked would leave a gap, and the cache never moved on.
bool Watcher::pull(std::vector<nft::Generation>& gens) {
    size_t n = gens.size();
    bool complete = drain_(gens);
    track_clean(std::vector<nft::Generation>(gens.begin() + ptrdiff_t(n), gens.end()), !complete);
    return complete;
}

void Watcher::bump_cache() {
    if (c_.cache_path.empty() || !clean_since_ || !last_seen_ || *clean_since_ == *last_seen_) return;
    try {
        auto c = nft::ElementCache::peek(c_.cache_path);
        if (!c || c->table != c_.table || c->boot_id != nft::boot_id() || c->netns_cookie != k_.netns_cookie()) return;
        if (int32_t(c->genid - *clean_since_) < 0 || int32_t(*last_seen_ - c->genid) <= 0) return;
        nft::ElementCache::bump(c_.cache_path, *c, *last_seen_);
    } catch (const std::exception&) {
        // an optimisation only: the next writer dumps the elements
    }
}

ms Watcher::next_due() const {
    auto now = Clock::now();
    auto due = next_poll_;
    if (stats_.generation != saved_gen_) due = std::min(due, saved_at_ + ms(1000));
    if (stats_.backing_off) due = std::min(due, last_foreign_ + quiet_now());
    if (!carry_.empty() || check_due_ || lost_) due = std::min(due, std::max(now, retry_at_));
    return due <= now ? ms(0) : std::chrono::duration_cast<ms>(due - now) + ms(1);
}

void Watcher::handle(std::vector<nft::Generation> gens) {
    auto ignore = dynamic_sets();
    auto touching = [&](const nft::Generation& g) { return !own_gens_.count(g.genid) && g.touches(ignore); };
    bool touched = check_due_ || lost_;
    bool ban_change = false;
    for (const auto& g : gens) {
        stats_.generation = g.genid;
        touched = touched || touching(g);
        if (ours(g))
            for (const auto& s : g.element_sets) ban_change = ban_change || s.starts_with(std::string(ruleset::names::ban) + "_");
    }
    if (!touched) {
        if (ban_change) poll_bans();   // ivozfw ban / unban / bansync: the snapshot follows at once
        return;
    }
    auto seen = Clock::now();
    // The writers' lock as a meeting point only: once we hold it, no ivozfw writer is between
    // its commit and its element cache. It is not held for the read (a ban must not wait
    // behind it); a restore takes it again for its commit.
    if (!c_.lock_path.empty()) {
        try {
            io::FileLock sync(c_.lock_path, ms(120000), fmt::format("pid {}: watch", getpid()));
        } catch (const io::LockTimeout& e) {
            log_(LOG_WARNING, fmt::format("watch: {}; trying again", e.what()));
            carry_ = std::move(gens);
            return;
        }
    }
    k_.follow(c_.table, ignore);
    track_clean({}, false);
    bump_cache();
    if (!pull(gens)) lost_ = true;
    auto cache = c_.cache_path.empty() ? std::nullopt : nft::ElementCache::load(c_.cache_path).cache;
    uint32_t gen = 0;
    std::optional<ruleset::Table> live;
    try {
        live = k_.read_table(c_.table, &gen, cache ? &*cache : nullptr);
    } catch (const std::exception& e) {   // an interrupted dump (someone committing): next step
        log_(LOG_INFO, fmt::format("watch: reading table inet {}: {}; trying again in 100 ms", c_.table, e.what()));
        carry_ = std::move(gens);
        retry_at_ = Clock::now() + ms(100);
        return;
    }
    if (!pull(gens)) lost_ = true;   // every generation up to `gen` is queued by now
    bump_cache();
    // The last generation up to the read that touched the table decides who had the last word.
    const nft::Generation* last = nullptr;
    const nft::Generation* last_ours = nullptr;
    std::vector<const nft::Generation*> foreign;   // foreign touches since the last ours
    bool foreign_before_ours = false, ours_structure = false;
    std::set<std::string> ours_elements;             // sets ivozfw's element-only commits changed
    for (const auto& g : gens) {
        if (int32_t(g.genid - gen) > 0) {
            carry_.push_back(g);   // committed after our read: next step
            continue;
        }
        stats_.generation = g.genid;
        if (!touching(g)) continue;
        last = &g;
        if (ours(g)) {
            last_ours = &g;
            foreign_before_ours = foreign_before_ours || !foreign.empty();
            foreign.clear();
            ours_structure = ours_structure || g.structure || g.table_added || g.table_deleted;
            ours_elements.insert(g.element_sets.begin(), g.element_sets.end());
        } else {
            foreign.push_back(&g);
            last_culprit_ = who(g);
        }
    }
    bool lost = std::exchange(lost_, false);
    check_due_ = false;
    if (!lost && last && ours(*last)) {
        // After a change by another tool (this round, or one not restored before: report mode,
        // backing off), an element-only commit of ivozfw (a sync, a refresh, a ban) vouches
        // for its sets only: the rest is compared with the committed table.
        bool mixed = (foreign_before_ours || foreign_pending_) && !ours_structure && baseline_ && live;
        if (!mixed) {
            foreign_pending_ = false;
            adopt(std::move(live), gen, fmt::format("committed by pid {}", last->pid));
            return;
        }
        for (const auto& name : ours_elements) {
            auto b = baseline_->sets.find(name);
            auto l = live->sets.find(name);
            if (b != baseline_->sets.end() && l != live->sets.end() && !b->second.dynamic) b->second.elements = l->second.elements;
        }
        save_committed();
        stats_.commits_seen++;
        if (plan::plan(*baseline_, live).empty()) {
            foreign_pending_ = false;
            return save_state();
        }
        drift(nullptr, fmt::format("table inet {} differs from the committed one (changed{} before ivozfw's commit of "
                                   "generation {})", c_.table, last_culprit_, last->genid),
              std::move(live), gen, seen);
        return;
    }
    if (!lost && last) {
        if (last_ours)
            log_(LOG_WARNING, fmt::format("watch: ivozfw committed generation {} just before another tool changed table "
                                          "inet {}: the table from before that commit is restored; run `ivozfw apply` "
                                          "if it was an apply",
                                          last_ours->genid, c_.table));
        std::string what = last->describe(c_.table);
        if (foreign.size() > 1) what += fmt::format(" (and {} more commits)", foreign.size() - 1);
        drift(last, what, std::move(live), gen, seen);
        return;
    }
    // No event says who (or some were lost): a back-off ended, a restore failed. Compare.
    if (!baseline_ && !live) return save_state();
    if (baseline_ && live && plan::plan(*baseline_, live).empty()) return save_state();
    if (lost && live && cache && cache->valid_for(c_.table, gen, k_.netns_cookie())) {
        adopt(std::move(live), gen, "events were lost; the last commit was ivozfw's (element cache)");
        return;
    }
    if (lost && live) {
        log_(LOG_WARNING, fmt::format("watch: events were lost (the socket's buffer overflowed) and table inet {} "
                                      "differs from the last committed one: cannot tell who changed it, taken as "
                                      "committed; run `ivozfw diff`",
                                      c_.table));
        adopt(std::move(live), gen, "events were lost");
        return;
    }
    std::string what = !live ? fmt::format("table inet {} is missing", c_.table)
                             : fmt::format("table inet {} differs from the last committed one", c_.table);
    drift(nullptr, what + (last_culprit_.empty() ? "" : " (last changed" + last_culprit_ + ")"), std::move(live), gen,
          seen);
}

void Watcher::adopt(std::optional<ruleset::Table> live, uint32_t gen, const std::string& why) {
    if (live)
        for (auto& [n, s] : live->sets)
            if (s.dynamic) s.elements.clear();
    bool had = baseline_.has_value();
    baseline_ = std::move(live);
    stats_.commits_seen++;
    stats_.generation = gen;
    if (baseline_ || had)
        log_(LOG_INFO, fmt::format("watch: generation {}: table inet {} {} ({}) is the committed one", gen, c_.table,
                                   baseline_ ? "as loaded" : "absent", why));
    save_committed();
    save_state();
    poll_bans();
}

void Watcher::drift(const nft::Generation* culprit, const std::string& what, std::optional<ruleset::Table> live,
                    uint32_t gen, Clock::time_point seen) {
    stats_.drifts++;
    last_foreign_ = Clock::now();
    std::string desc = what + (culprit ? who(*culprit) : "");
    if (culprit) last_culprit_ = who(*culprit);
    stats_.last_drift = desc;
    stats_.last_drift_time = now_iso();
    if (!baseline_) {
        log_(LOG_NOTICE, "watch: " + desc + "; ivozfw has no table committed (removed, or never applied): left alone");
        return save_state();
    }
    foreign_pending_ = true;   // until a restore puts the committed table back
    if (!c_.restore) {
        log_(LOG_WARNING, "watch: " + desc + "; not restored (watch.drift is \"report\")");
        return save_state();
    }
    if (stats_.backing_off) {
        ++unlogged_;
        return save_state();
    }
    auto now = Clock::now();
    while (!restored_at_.empty() && now - restored_at_.front() > c_.window) restored_at_.pop_front();
    if (int(restored_at_.size()) >= c_.burst) {
        bool again = resumed_ != Clock::time_point{} && now - resumed_ <= c_.window + quiet_now();
        level_ = again ? level_ + 1 : 0;
        stats_.backing_off = true;
        stats_.backing_off_since = now_iso();
        unlogged_ = 0;
        log_(LOG_ERR, fmt::format("watch: BACKING OFF: table inet {} was restored {} times in {} s and is being "
                                  "changed again ({}): not restoring it until nothing has changed it for {} s. Stop "
                                  "what keeps rewriting the ruleset (the last culprit is named here and in `ivozfw "
                                  "status`)",
                                  c_.table, restored_at_.size(), c_.window.count() / 1000.0, desc,
                                  quiet_now().count() / 1000.0));
        return save_state();
    }
    restore(desc, live, gen, seen);
}

void Watcher::restore(const std::string& desc, const std::optional<ruleset::Table>& live, uint32_t gen,
                      Clock::time_point seen) {
    auto p = plan::plan(*baseline_, live);
    // Bans come back with the time they had left: the packet path's and the fleet's alike.
    size_t bans = 0;
    auto now = Clock::now();
    for (const auto& [name, list] : bans_) {
        if (!baseline_->sets.count(name)) continue;
        std::set<ruleset::Element> present;
        if (live)
            if (auto it = live->sets.find(name); it != live->sets.end())
                present.insert(it->second.elements.begin(), it->second.elements.end());
        std::vector<ruleset::Element> add;
        for (const auto& b : list) {
            auto elapsed = uint64_t(std::chrono::duration_cast<ms>(now - b.read).count());
            if (b.left_ms <= elapsed + 1000 || present.count(b.element)) continue;
            ruleset::Element e = b.element;
            e.set().timeout_ms = (b.left_ms - elapsed) / 1000 * 1000;   // whole seconds, as nft shows them
            add.push_back(std::move(e));
        }
        if (add.empty()) continue;
        bans += add.size();
        p.ops.push_back(plan::Op{plan::Op::add_elements, name, plan::Elements(std::move(add)), {}, 0, "ban restored"});
    }
    if (p.empty()) {
        log_(LOG_INFO, "watch: " + desc + "; nothing to restore (the kernel equals the committed table)");
        return save_state();
    }
    try {
        // Under the writers' lock, like every ivozfw writer. Our read was made without it:
        // still good if nothing touched the table since (events), else read again.
        std::optional<io::FileLock> lock;
        if (!c_.lock_path.empty()) lock.emplace(c_.lock_path, ms(120000), fmt::format("pid {}: watch", getpid()));
        for (int attempt = 0;; ++attempt) {
            auto now = k_.untouched_since(gen, {});
            if (now) gen = *now;
            else if (k_.genid() != gen) {
                check_due_ = true;
                return;
            }
            try {
                k_.commit(p, *baseline_, gen);
                break;
            } catch (const nft::GenerationChanged&) {
                if (attempt == 3) {
                    check_due_ = true;   // somebody keeps committing: read again
                    return;
                }
            }
        }
    } catch (const std::exception& e) {
        stats_.failures++;
        log_(LOG_ERR, fmt::format("watch: {}; the restore FAILED: {}; trying again in 1 s", desc, e.what()));
        check_due_ = true;
        retry_at_ = Clock::now() + ms(1000);
        return save_state();
    }
    uint32_t after = k_.genid();
    if (after == gen + 1) own_gens_.insert(after);
    if (own_gens_.size() > 64) own_gens_.erase(own_gens_.begin());
    double took = std::chrono::duration<double, std::milli>(Clock::now() - seen).count();
    restored_at_.push_back(Clock::now());
    foreign_pending_ = false;
    stats_.restores++;
    stats_.last_restore_ms = took;
    stats_.last_restore_epoch_ms = std::chrono::duration_cast<ms>(std::chrono::system_clock::now().time_since_epoch()).count();
    stats_.last_restore = fmt::format("{}; restored in {:.0f} ms ({} changes{})", desc, took, p.ops.size(),
                                      bans ? fmt::format(", {} bans with their time left", bans) : "");
    log_(LOG_WARNING, "watch: " + stats_.last_restore);
    save_state();
}

void Watcher::poll_bans() {
    next_poll_ = Clock::now() + c_.ban_poll;
    if (!baseline_) return;
    std::set<std::string> names;
    for (const auto& [n, s] : baseline_->sets)
        if (is_ban_set(s)) names.insert(n);
    if (names.empty()) return;
    uint32_t gen = 0;
    std::optional<ruleset::Table> t;
    auto started = Clock::now();
    try {
        t = k_.read_sets(c_.table, names, &gen);
    } catch (const std::exception&) {
        next_poll_ = Clock::now() + ms(50);   // interrupted by a commit: soon again
        return;
    }
    auto now = Clock::now();
    // Under a flood the ban sets can hold 2 x 262,144 sources: read them at most 5% of the time.
    next_poll_ = now + std::max<ms>(c_.ban_poll, std::chrono::duration_cast<ms>(now - started) * 20);
    if (!t) return;   // the table is gone: keep what was banned a moment ago
    auto count = [this] {
        size_t n = 0;
        for (const auto& [name, list] : bans_) n += list.size();
        return n;
    };
    size_t before = count();
    for (const auto& n : names) {
        auto it = t->sets.find(n);
        if (it == t->sets.end()) continue;
        std::vector<Ban> list;
        for (const auto& e : it->second.elements) {
            ruleset::Element el{e.key, e.key_end};
            if (!e.comment().empty()) el.set().comment = e.comment();   // where the ban came from
            list.push_back(Ban{std::move(el), e.expires_ms().value_or(it->second.timeout_ms), now});
        }
        bans_[n] = std::move(list);
    }
    if (count() != before) save_state();
}

nlohmann::json Watcher::state_json() const {
    size_t bans = 0;
    for (const auto& [n, l] : bans_) bans += l.size();
    return {{"pid", getpid()},
            {"table", c_.table},
            {"drift", c_.restore ? "restore" : "report"},
            {"updated", now_iso()},
            {"generation", stats_.generation},
            {"committed", baseline_.has_value()},
            {"restores", stats_.restores},
            {"drifts", stats_.drifts},
            {"failures", stats_.failures},
            {"commits_seen", stats_.commits_seen},
            {"events_lost", stats_.lost},
            {"bans_known", bans},
            {"last_drift", stats_.last_drift},
            {"last_drift_time", stats_.last_drift_time},
            {"last_restore", stats_.last_restore},
            {"last_restore_ms", stats_.last_restore_ms},
            {"last_restore_epoch_ms", stats_.last_restore_epoch_ms},
            {"backing_off", stats_.backing_off},
            {"backing_off_since", stats_.backing_off_since},
            {"resume_after_quiet_s", stats_.backing_off ? quiet_now().count() / 1000.0 : 0.0}};
}

void Watcher::save_state() const {
    if (c_.state_path.empty()) return;
    saved_gen_ = stats_.generation;
    saved_at_ = Clock::now();
    try {
        io::write_atomic(c_.state_path, state_json().dump(2) + "\n", 0600, io::Sync::this_boot);
    } catch (const std::exception& e) {
        log_(LOG_WARNING, fmt::format("watch: {}: {}", c_.state_path, e.what()));
    }
}

void Watcher::save_committed() { committed_.write(baseline_); }

}  // namespace ivozfw::watch
