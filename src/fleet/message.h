// SPDX-License-Identifier: GPL-2.0-or-later
// What hosts tell each other about bans, on channel ivozfw:bans and in keys
// ivozfw:ban:<address> (the live bans, each with the TTL of its remaining time):
//   {"address":"198.51.100.7","expires_ms":1764530000000,"op":"ban","origin":"proxy-1",
//    "reason":"antiflood","sig":"<64 hex>","ts":1764529700000,"v":2}
//   {"address":"2001:db8:0:1::/64","op":"unban","origin":"proxy-2","sig":"...","ts":...,"v":2}
// Every message is signed: "sig" is HMAC-SHA256, under the fleet's key (the `key = ...` line
// of fleet.credentials), of the message's compact, key-sorted JSON without "sig"; "ts" is
// when it was signed. Whoever can reach Redis but has no key can neither lift a ban nor fake
// one. Anything else is malformed: decode says why, the caller logs and drops it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/ip.h"

namespace ivozfw::fleet {

inline const char* const kChannel = "ivozfw:bans";
inline const char* const kKeyPrefix = "ivozfw:ban:";
constexpr size_t kMaxMessage = 1024;

struct Message {
    enum class Op { ban, unban } op = Op::ban;
    net::Family family = net::Family::v4;
    net::u128 value = 0;       // host bits of the prefix cleared
    unsigned prefix = 32;
    std::string reason;        // ban: "antiflood", "manual"
    int64_t expires_ms = 0;    // ban: unix time in ms
    std::string origin;        // the host that banned
    int64_t ts = 0;            // decoded: when it was signed (unix ms)
    std::string sig;           // decoded: its signature (hex), to tell a replay
    std::string address() const;   // "198.51.100.7", "2001:db8:0:1::/64"
    std::string key() const { return kKeyPrefix + address(); }
};

/// Signed with `key` at `now_ms`.
std::string encode(const Message& m, const std::string& key, int64_t now_ms);

/// `text` (a JSON object) with its "sig" set for `key`: what encode does to its own JSON, for
/// tests and the fuzzer to sign messages of any shape. "" when `text` is not a JSON object.
std::string sign(std::string_view text, const std::string& key);

/// How fresh a message must be: one heard on the channel was signed within kMaxAge of now
/// (older is a replay, or a clock that is off); a stored key is state and may be old, but
/// its ban must not have ended.
enum class Freshness { channel, stored };
constexpr int64_t kMaxAgeMs = 60000;

/// The unban of `address` (as decode reads an address), from `origin`.
std::optional<Message> unban(const std::string& address, const std::string& origin, unsigned v6_prefix,
                             std::string* why);

/// A reason as messages carry it: [a-z0-9_-]{1,32}.
bool valid_reason(const std::string& r);

/// Validates everything (size, JSON, signature under `key`, age, version, op, address, reason,
/// origin, expiry). v6_prefix: this host's IPv6 ban prefix; a longer one is widened to it, a
/// shorter one (it would take many of our keys) is refused.
std::optional<Message> decode(std::string_view text, unsigned v6_prefix, const std::string& key, int64_t now_ms,
                              Freshness fresh, std::string* why);

}  // namespace ivozfw::fleet
