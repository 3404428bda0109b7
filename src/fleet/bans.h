// SPDX-License-Identifier: GPL-2.0-or-later
// A ban as the ban sets hold it (ban_v4 / ban_v6, key = source or its IPv6 prefix): where it
// came from is in the element comment. No comment: anti-flood on this host (the packet path
// adds it); "manual": `ivozfw ban` here; "fleet:<host>:<reason>": another host's ban, added
// by bansync.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/ip.h"
#include "ruleset/model.h"

namespace ivozfw::fleet {

inline const char* const kManual = "manual";

struct Ban {
    net::Family family = net::Family::v4;
    net::u128 value = 0;      // the address, host bits of the prefix cleared
    unsigned prefix = 32;     // 32, or antiflood.ipv6_prefix for IPv6
    std::string reason;       // "antiflood", "manual", or the origin's reason
    std::string origin;       // "" = this host
    uint64_t left_ms = 0;     // time to expiry
    uint64_t timeout_ms = 0;  // the ban's length

    std::string address() const;   // "198.51.100.7", "2001:db8:0:1::/64"
    bool local() const { return origin.empty(); }
};

/// Every ban of one ban set (v6: keyed by its prefix of `v6_prefix` bits).
std::vector<Ban> bans_of(const ruleset::Set& s, bool v6, unsigned v6_prefix);

/// The element of a ban set with this key, or null.
const ruleset::Element* find_ban(const ruleset::Set& s, const ruleset::Bytes& key);

/// The comment of a ban another host made, and its parser (nullopt: not a fleet comment).
std::string fleet_comment(const std::string& origin, const std::string& reason);
std::optional<std::pair<std::string, std::string>> parse_fleet_comment(const std::string& c);

/// A host name for messages and comments: 1-64 of [A-Za-z0-9._-].
bool valid_host(const std::string& h);

}  // namespace ivozfw::fleet
