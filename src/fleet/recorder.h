// SPDX-License-Identifier: GPL-2.0-or-later
// The portal's "Antiflood banned IPs": table BannedAddresses, written the way the proxies
// write their own pike bans (one row per address and blocker 'antiflood': lastTimeBanned
// updated when it exists, inserted with brand and company NULL when not). Rows of the other
// blockers (ipfilter, antibruteforce) are never touched.
#pragma once

#include <memory>
#include <string>

namespace ivozfw::fleet {

class BanRecorder {
public:
    virtual ~BanRecorder() = default;
    /// Upsert one banned address. Throws (database down...): the caller retries later.
    virtual void record(const std::string& address) = 0;
};

/// The platform database ("mysql:<option file>"); connects on first use and after errors.
std::unique_ptr<BanRecorder> open_banned_addresses(const std::string& source);

}  // namespace ivozfw::fleet
