// SPDX-License-Identifier: GPL-2.0-or-later
// The policy's geoip section + its database -> the addresses to drop.
#pragma once

#include "geoip/mmdb.h"
#include "policy/policy.h"

namespace ivozfw::geoip {

struct Resolved {
    net::AddressSet drop;   // what the kernel sets hold
    Walk walk;              // the database read, for reports
    /// file_identity() of the database taken before the walk: if the file is replaced while
    /// it is read, what is recorded names the file that was read, so the next check sees a
    /// change and reads the new one.
    std::string identity;
};

/// "dev:inode:size:mtime" of a file, "" when it cannot be stat'ed.
std::string file_identity(const std::string& path);

/// deny: the listed countries; allow: every address not in them. Special-purpose ranges
/// are never dropped. Throws Error when the database is unusable or yields nothing for
/// the configured countries.
Resolved resolve(const policy::GeoIP& g);

}  // namespace ivozfw::geoip
