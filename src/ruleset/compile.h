// SPDX-License-Identifier: GPL-2.0-or-later
// compile(Policy) -> the desired table. Pure and deterministic: same policy, same table.
#pragma once

#include "policy/policy.h"
#include "ruleset/model.h"

namespace ivozfw::ruleset {

/// Names of the objects compile creates, shared with status, tests and docs.
namespace names {
inline const char* const input = "input";
inline const char* const services = "services";
inline const char* const icmp_ok = "icmp_ok";
inline const char* const icmpv6_ok = "icmpv6_ok";
inline const char* const drop_invalid = "drop_invalid";
inline const char* const drop_not_exposed = "drop_not_exposed";
inline const char* const drop_not_allowed = "drop_not_allowed";
std::string list_set(const std::string& list, bool v6);   // "admin_v4"
std::string service_chain(const std::string& service);     // "svc_ssh"
}  // namespace names

Table compile(const policy::Policy& p);

}  // namespace ivozfw::ruleset
