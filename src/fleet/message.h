// SPDX-License-Identifier: GPL-2.0-or-later
// What hosts tell each other about bans, on channel ivozfw:bans and in keys
// ivozfw:ban:<address> (the live bans, each with the TTL of its remaining time):
//   {"v":1,"op":"ban","address":"198.51.100.7","reason":"antiflood","expires_ms":1764530000000,"origin":"proxy-1"}
//   {"v":1,"op":"unban","address":"2001:db8:0:1::/64","origin":"proxy-2"}
// Anything else on the channel is malformed: decode says why, the caller logs and drops it.
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

    std::string address() const;   // "198.51.100.7", "2001:db8:0:1::/64"
    std::string key() const { return kKeyPrefix + address(); }
};

std::string encode(const Message& m);

/// The unban of `address` (as decode reads an address), from `origin`.
std::optional<Message> unban(const std::string& address, const std::string& origin, unsigned v6_prefix,
                             std::string* why);

/// A reason as messages carry it: [a-z0-9_-]{1,32}.
bool valid_reason(const std::string& r);

/// Validates everything (size, JSON, version, op, address, reason, origin, expiry type).
/// v6_prefix: this host's IPv6 ban prefix; a longer one is widened to it, a shorter one
/// (it would take many of our keys) is refused.
std::optional<Message> decode(std::string_view text, unsigned v6_prefix, std::string* why);

}  // namespace ivozfw::fleet
