// SPDX-License-Identifier: GPL-2.0-or-later
#include "fleet/bansync.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <thread>

#include "ruleset/compile.h"
#include "ruleset/antiflood.h"
#include "ruleset/values.h"

namespace ivozfw::fleet {

namespace {

std::string ban_set(bool v6) { return ruleset::names::list_set(ruleset::names::ban, v6); }

// The exemptions of this host, from the kernel's own sets (policy lists, the platform
// database's rows, company ranges, carriers).
net::AddressSet exempt_of(const ruleset::Table& live, bool v6) {
    net::AddressSet out;
    for (const char* base : {ruleset::names::exempt, ruleset::names::companies, ruleset::names::carriers}) {
        auto it = live.sets.find(ruleset::names::list_set(base, v6));
        if (it == live.sets.end()) continue;
        for (const auto& e : it->second.elements) out.add(v6 ? net::Family::v6 : net::Family::v4, ruleset::element_range(e));
    }
    out.normalize();
    return out;
}

}  // namespace

BanSync::BanSync(SyncConfig c, nft::Kernel& k, const ruleset::Table& desired, nft::ReconcileOptions base, Redis& r,
                 BanRecorder* recorder, Log log, Now now, Now mono)
    : c_(std::move(c)), k_(k), desired_(desired), base_(std::move(base)), redis_(r), recorder_(recorder),
      log_(std::move(log)), now_(std::move(now)), mono_(std::move(mono)) {
    if (c_.key.empty()) throw std::runtime_error("bansync: no fleet key: every message is signed with it");
    if (!mono_)
        mono_ = [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                .count();
        };
    for (bool v6 : {false, true}) {
        ban_sets_.insert(ban_set(v6));
        for (const char* b : {ruleset::names::ban, ruleset::names::exempt, ruleset::names::companies,
                              ruleset::names::carriers})
            read_sets_.insert(ruleset::names::list_set(b, v6));
    }
}

void BanSync::step() {
    int64_t now = mono_();
    if (!redis_.connected() && now >= next_connect_) connect();
    if (redis_.connected()) {
        receive();
    } else {
        int64_t wait = std::min<int64_t>(c_.poll_ms, std::max<int64_t>(next_connect_ - now, 1));
        std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
    if (!remote_.empty()) apply_remote();
    now = mono_();
    if (now >= next_poll_) {
        poll_local();
        next_poll_ = now + c_.poll_ms;
    }
    publish_pending();
    record_pending();
    now = mono_();
    if (redis_.connected() && now >= next_resync_) {
        next_resync_ = now + c_.resync_ms;
        load_live_keys();
        first_poll_ = true;   // the next poll publishes every live local ban again
    }
    if (redis_.connected() && now >= next_master_check_) {
        next_master_check_ = now + c_.master_check_ms;
        if (!redis_.master_unchanged()) lost("the sentinels name another master");
    }
}

void BanSync::connect() {
    try {
        redis_.connect(kChannel);
    } catch (const RedisError& e) {
        next_connect_ = mono_() + backoff_ms_;
        log_(fmt::format("bansync: {}; retrying in {} ms", e.what(), backoff_ms_));
        backoff_ms_ = std::min(backoff_ms_ * 2, 2000);
        return;
    }
    backoff_ms_ = 100;
    ++stats_.reconnects;
    log_("bansync: connected to redis master " + redis_.where());
    load_live_keys();
    next_resync_ = mono_() + c_.resync_ms;
    // Whatever is live here goes out again: bans made while Redis was away included.
    first_poll_ = true;
}

void BanSync::lost(const std::string& why) {
    log_(fmt::format("bansync: {}; reconnecting", why));
    next_connect_ = mono_() + backoff_ms_;
    redis_.disconnect();
}

void BanSync::receive() {
    std::vector<std::string> raw;
    try {
        raw = redis_.receive(c_.poll_ms);
        // A burst arrives as many messages: give it a moment to become one transaction.
        if (!raw.empty() && c_.batch_ms > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(c_.batch_ms));
            for (auto& m : redis_.receive(0)) raw.push_back(std::move(m));
        }
    } catch (const RedisError& e) {
        lost(e.what());
    }
    int64_t now = now_();
    std::erase_if(seen_sigs_, [&](const auto& s) { return s.second < now - 2 * kMaxAgeMs; });
    for (const auto& text : raw) {
        std::string why;
        auto m = decode(text, c_.v6_prefix, c_.key, now, Freshness::channel, &why);
        if (m && !seen_sigs_.emplace(m->sig, m->ts).second) m.reset(), why = "replayed (heard before)";
        if (!m) {
            ++stats_.malformed;
            log_(fmt::format("bansync: dropped malformed message on {}: {} ({} bytes)", kChannel, why, text.size()));
            continue;
        }
        if (m->origin == c_.host) continue;   // ours, already in our sets
        remote_[m->address()] = std::move(*m);
    }
}

void BanSync::load_live_keys() {
    std::vector<std::string> values;
    try {
        values = redis_.values(std::string(kKeyPrefix) + "*");
    } catch (const RedisError& e) {
        return lost(e.what());
    }
    size_t n = 0;
    int64_t now = now_();
    for (const auto& text : values) {
        std::string why;
        auto m = decode(text, c_.v6_prefix, c_.key, now, Freshness::stored, &why);
        if (!m || m->op != Message::Op::ban) {
            ++stats_.malformed;
            log_(fmt::format("bansync: ignored malformed ban key: {}", m ? "not a ban" : why));
            continue;
        }
        // Our own bans only at start: a rebooted host enforces what the fleet still does. Later
        // an own key no longer in our sets was lifted here (its unban is on its way).
        if (m->origin == c_.host && (loaded_once_ || local_.count(m->address()))) continue;
        remote_.emplace(m->address(), std::move(*m));   // a message received meanwhile is newer
        ++n;
    }
    loaded_once_ = true;
    log_(fmt::format("bansync: loaded {} live bans from redis", n));
}

// The remote messages in as few transactions as the kernel takes. A batch the kernel refuses
// (an element it will not hold) is split in halves and each tried again at once, down to the
// one message at fault, which is dropped with a line in the log: one bad message never holds
// up the others. A batch that could not be tried (the kernel busy, the lock held) waits for
// the next turn.
void BanSync::apply_remote() {
    std::vector<std::map<std::string, Message>> work(1);
    work.back().swap(remote_);
    while (!work.empty()) {
        auto batch = std::move(work.back());
        work.pop_back();
        switch (commit_remote(batch)) {
        case Outcome::done: break;
        case Outcome::refused:
            if (batch.size() == 1) {
                const auto& [addr, m] = *batch.begin();
                log_(fmt::format("bansync: dropped the fleet message about {} from {}: the kernel refuses it",
                                 addr, m.origin));
                ++stats_.malformed;
                break;
            }
            {
                auto half = batch.begin();
                std::advance(half, batch.size() / 2);
                work.emplace_back(half, batch.end());
                work.emplace_back(batch.begin(), half);
            }
            break;
        case Outcome::later:
            for (auto& b : work) batch.merge(b);
            for (auto& [addr, m] : batch) remote_.emplace(addr, std::move(m));   // newer ones win
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            return;
        }
    }
}

BanSync::Outcome BanSync::commit_remote(const std::map<std::string, Message>& batch) {
    std::vector<std::string> notes;
    size_t added = 0, removed = 0;
    auto opt = base_;
    opt.read_only = read_sets_;
    opt.lock_holder = "bansync";
    // Never hold up the loop behind a long apply: the batch waits for the next turn instead.
    opt.lock_wait = std::chrono::milliseconds(2000);
    opt.make_plan = [&](const std::optional<ruleset::Table>& live) {
        notes.clear();
        added = removed = 0;
        plan::Plan pl;
        pl.table = desired_.name;
        pl.table_exists = live.has_value();
        if (!live) {
            notes.push_back("table inet " + desired_.name + " is not loaded: remote bans not applied (the live ones "
                            "come back from Redis at the next resync after `ivozfw apply`)");
            return pl;
        }
        int64_t now = now_();
        std::map<bool, net::AddressSet> exempt{{false, exempt_of(*live, false)}, {true, exempt_of(*live, true)}};
        std::map<bool, size_t> count, remote;   // elements, and those the fleet put there
        for (bool v6 : {false, true})
            if (auto it = live->sets.find(ban_set(v6)); it != live->sets.end()) {
                count[v6] = it->second.elements.size();
                for (const auto& e : it->second.elements) remote[v6] += e.comment().starts_with("fleet:");
            }
        for (const auto& [addr, msg] : batch) {   // the latest message per address
            const Message* m = &msg;
            bool v6 = m->family == net::Family::v6;
            auto it = live->sets.find(ban_set(v6));
            if (it == live->sets.end()) {
                notes.push_back("set " + ban_set(v6) + " is missing: no antiflood section applied here");
                continue;
            }
            const auto& set = it->second;
            ruleset::Bytes key = ruleset::be_bytes(m->value, v6 ? 16 : 4);
            const auto* have = find_ban(set, key);
            if (m->op == Message::Op::unban) {
                if (have) pl.ops.push_back(plan::Op{plan::Op::delete_elements, set.name, {*have}, {}, 0, "fleet unban"}),
                    ++removed, --count[v6];
                continue;
            }
            // Any exempt address inside the banned prefix (an IPv6 /64) keeps it out.
            net::Range r = net::Prefix{net::Address{m->family, m->value}, m->prefix}.range();
            if (!net::intersect({r}, v6 ? exempt[v6].v6 : exempt[v6].v4).empty()) {
                ++stats_.ignored;
                notes.push_back(fmt::format("ignored {} from {}: exempt here", addr, m->origin));
                continue;
            }
            int64_t left = std::min<int64_t>(m->expires_ms - now, int64_t(c_.max_ban_ms));
            if (left < 1000) continue;   // expired, or about to
            if (have && int64_t(have->expires_ms().value_or(0)) + 1000 >= left) continue;   // banned long enough
            // Other hosts may fill half of a ban set, never more: this host's own bans always
            // have room, however many bans (or a flood of signed ones) the fleet sends.
            if (!have && remote[v6] >= c_.set_size / 2) {
                notes.push_back(fmt::format("ignored {} from {}: fleet bans fill their half of set {} ({} elements)",
                                            addr, m->origin, set.name, remote[v6]));
                continue;
            }
            if (!have && count[v6] >= c_.set_size) {
                notes.push_back(fmt::format("ignored {} from {}: set {} is full ({} elements)", addr, m->origin,
                                            set.name, c_.set_size));
                continue;
            }
            if (have) pl.ops.push_back(plan::Op{plan::Op::delete_elements, set.name, {*have}, {}, 0, "fleet re-ban"});
            else ++count[v6], ++remote[v6];
            ruleset::Element e;
            e.key = key;
            e.set().timeout_ms = uint64_t(left);
            e.set().comment = fleet_comment(m->origin, m->reason);
            pl.ops.push_back(plan::Op{plan::Op::add_elements, set.name, {e}, {}, 0, "fleet ban"});
            ++added;
        }
        return pl;
    };
    auto t0 = now_();
    try {
        auto out = nft::reconcile(k_, desired_, opt);
        for (const auto& n : notes) log_("bansync: " + n);
        if (out.committed) {
            ++stats_.transactions;
            stats_.applied += added;
            std::set<std::string> from;
            for (const auto& [addr, m] : batch) from.insert(m.origin);
            log_(fmt::format("bansync: applied {} bans and {} unbans from {} in one transaction ({} ms)", added,
                             removed, fmt::join(from, ", "), now_() - t0));
        }
        return Outcome::done;
    } catch (const nft::GenerationChanged& e) {
        log_(fmt::format("bansync: could not apply {} fleet messages: {}; retrying", batch.size(), e.what()));
        return Outcome::later;
    } catch (const nft::KernelError& e) {
        // Refused, nothing changed: split. Anything else (acks lost) is tried again as it is.
        bool refused = e.changed == nft::Changed::no && e.err != EAGAIN && e.err != ERESTART && e.err != EINTR &&
                       e.err != ENOBUFS && e.err != EBUSY;
        log_(fmt::format("bansync: could not apply {} fleet messages: {}; {}", batch.size(), e.what(),
                         refused ? (batch.size() > 1 ? "trying them in halves" : "dropping it") : "retrying"));
        return refused ? Outcome::refused : Outcome::later;
    } catch (const std::exception& e) {
        // Kept for the next turn: nothing live is dropped because the kernel was busy.
        log_(fmt::format("bansync: could not apply {} fleet messages: {}; retrying", batch.size(), e.what()));
        return Outcome::later;
    }
}

void BanSync::poll_local() {
    uint32_t gen = 0;
    std::optional<ruleset::Table> live;
    try {
        live = k_.read_sets(desired_.name, ban_sets_, &gen);
    } catch (const std::exception& e) {
        log_(std::string("bansync: reading the ban sets: ") + e.what());
        return;
    }
    if (!live) return;
    int64_t now = now_();
    std::map<std::string, int64_t> seen;
    std::set<std::string> fleet;   // addresses held as other hosts' bans
    for (bool v6 : {false, true}) {
        auto it = live->sets.find(ban_set(v6));
        if (it == live->sets.end()) continue;
        for (const auto& b : bans_of(it->second, v6, c_.v6_prefix)) {
            std::string addr = b.address();
            if (!b.local()) {
                fleet.insert(addr);
                continue;
            }
            int64_t exp = now + int64_t(b.left_ms);
            seen[addr] = exp;
            auto was = local_.find(addr);
            // New, or cut short (`ivozfw ban --for` a shorter time): the fleet hears it. A
            // packet-path refresh only extends a ban: not worth a message each poll.
            bool shortened = was != local_.end() && exp + 2000 < was->second;
            if (!first_poll_ && was != local_.end() && !shortened) continue;
            Message m;
            m.op = Message::Op::ban;
            m.family = b.family;
            m.value = b.value;
            m.prefix = b.prefix;
            m.reason = valid_reason(b.reason) ? b.reason : "other";   // a comment someone else wrote
            m.expires_ms = exp;
            m.origin = c_.host;
            unpublished_[addr] = m;
            if (was == local_.end()) unrecorded_[addr] = exp;
        }
    }
    // Gone (expired, or lifted: `ivozfw unban` tells the fleet itself): nothing to send.
    for (const auto& [addr, exp] : local_)
        if (!seen.count(addr)) unrecorded_.erase(addr), unpublished_.erase(addr);
    local_ = std::move(seen);
    first_poll_ = false;
}

void BanSync::publish_pending() {
    if (!redis_.connected()) return;
    int64_t now = now_();
    // Unbans `ivozfw unban` could not send (Redis away then): the fleet hears them now.
    if (c_.queued_unbans) {
        for (const auto& addr : c_.queued_unbans()) {
            if (unpublished_.count(addr)) continue;
            std::string why;
            auto m = unban(addr, c_.host, c_.v6_prefix, &why);
            if (m) {
                unpublished_[addr] = *m;
                from_queue_.insert(addr);
            } else {
                log_(fmt::format("bansync: dropped a queued unban of {}: {}", addr, why));
                if (c_.unban_published) c_.unban_published(addr);   // never valid: out of the queue
            }
        }
    }
    for (auto it = unpublished_.begin(); it != unpublished_.end();) {
        const Message& m = it->second;
        int64_t left = m.expires_ms - now;
        if (m.op == Message::Op::ban && left <= 0) {
            it = unpublished_.erase(it);
            continue;
        }
        try {
            std::string text = encode(m, c_.key, now_());
            if (m.op == Message::Op::unban) redis_.del(m.key());
            else redis_.set(m.key(), text, uint64_t(left));
            redis_.publish(kChannel, text);
        } catch (const RedisError& e) {
            return lost(e.what());
        }
        ++stats_.published;
        if (m.op == Message::Op::unban) log_(fmt::format("bansync: published the end of {}", m.address()));
        if (from_queue_.erase(it->first) && c_.unban_published) c_.unban_published(it->first);
        else log_(fmt::format("bansync: published {} ({}, {} s)", m.address(), m.reason, (left + 999) / 1000));
        it = unpublished_.erase(it);
    }
}

void BanSync::record_pending() {
    if (!recorder_ || unrecorded_.empty()) return;
    if (mono_() < next_record_) return;
    int64_t now = now_();
    for (auto it = unrecorded_.begin(); it != unrecorded_.end();) {
        if (it->second <= now) {
            it = unrecorded_.erase(it);
            continue;
        }
        try {
            recorder_->record(it->first);
        } catch (const std::exception& e) {
            log_(fmt::format("bansync: BannedAddresses: {}; retrying in {} s", e.what(), record_backoff_ms_ / 1000));
            next_record_ = mono_() + record_backoff_ms_;
            record_backoff_ms_ = std::min(record_backoff_ms_ * 2, 60000);
            return;
        }
        record_backoff_ms_ = 5000;
        ++stats_.recorded;
        it = unrecorded_.erase(it);
    }
}

}  // namespace ivozfw::fleet
