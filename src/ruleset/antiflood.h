// SPDX-License-Identifier: GPL-2.0-or-later
// Names of the objects the anti-flood compile creates, shared with the bans commands, the
// tests and the docs. Sets come per family: names::list_set(names::ban, v6) = "ban_v6".
#pragma once

#include <string>

namespace ivozfw::ruleset::names {
inline const char* const flood = "flood";          // flood_v4/_v6: per-source packet meter
inline const char* const ban = "ban";              // ban_v4/_v6: banned sources
inline const char* const tcpnew = "tcpnew";        // tcpnew_v4/_v6: new TCP connections meter
inline const char* const connlimit = "connlimit";  // connlimit_v4/_v6: concurrent TCP connections
inline const char* const media = "media";          // media_v4/_v6: concurrent media flows
inline const char* const flood_udp = "flood_udp";  // map: metered UDP port -> goto flood_<service>
inline const char* const prerouting = "prerouting";  // base chain before conntrack (raw priority)
inline const char* const output = "output";          // base chain: replies from untracked ports
inline const char* const untracked_udp = "untracked_udp";  // set: metered UDP ports conntrack skips
inline const char* const drop_flood = "drop_flood";
inline const char* const drop_banned = "drop_banned";
inline const char* const drop_conn_limit = "drop_conn_limit";
inline const char* const drop_call_limit = "drop_call_limit";
inline const char* const drop_service_cap = "drop_service_cap";
inline const char* const drop_conn_cap = "drop_conn_cap";   // new TCP connections over the service's cap
inline std::string flood_chain(const std::string& service) { return "flood_" + service; }
}  // namespace ivozfw::ruleset::names
