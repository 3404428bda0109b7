// SPDX-License-Identifier: GPL-2.0-or-later
// compile(Policy, Sources) -> the desired table. Pure and deterministic: the data sources
// (GeoIP database, company ranges) are resolved before, by the commands.
#pragma once

#include <optional>

#include "net/ip.h"
#include "policy/policy.h"
#include "ruleset/model.h"

namespace ivozfw::ruleset {

/// Data the policy refers to, already read and normalised.
struct Sources {
    /// Addresses GeoIP drops (mode applied, special-purpose ranges removed).
    std::optional<net::AddressSet> geoip_drop;
    /// Union of every company's authorized ranges.
    std::optional<net::AddressSet> companies;
};

/// Names of the objects compile creates, shared with the commands, tests and docs.
namespace names {
inline const char* const input = "input";
inline const char* const forward = "forward";
inline const char* const services = "services";
inline const char* const icmp_ok = "icmp_ok";
inline const char* const icmpv6_ok = "icmpv6_ok";
inline const char* const exempt = "exempt";        // sets exempt_v4/_v6
inline const char* const companies = "companies";  // sets companies_v4/_v6
inline const char* const carriers = "carriers";    // list carriers: sets carriers_v4/_v6
inline const char* const geoip = "geoip";          // sets geoip_v4/_v6
inline const char* const drop_invalid = "drop_invalid";
inline const char* const drop_not_exposed = "drop_not_exposed";
inline const char* const drop_not_allowed = "drop_not_allowed";
inline const char* const drop_geoip = "drop_geoip";
std::string list_set(const std::string& list, bool v6);   // "admin_v4"
std::string service_chain(const std::string& service);     // "svc_ssh"
}  // namespace names

Table compile(const policy::Policy& p, const Sources& src = {});

/// What anti-flood meters, for `check`: "sip (udp 5060, tcp 5060), sip-ws (tcp 10080-10081)",
/// saying when that is the default (the public SIP services); "" without an antiflood section.
std::string antiflood_summary(const policy::Policy& p);

/// For `check`: which metered UDP services conntrack skips, and why the others are tracked;
/// "" without metered UDP ports.
std::string udp_conntrack_summary(const policy::Policy& p);

/// Is this service publicly exposed (no `from` restriction)?
bool is_public(const policy::Service& s);

}  // namespace ivozfw::ruleset
