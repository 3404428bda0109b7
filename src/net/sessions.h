// SPDX-License-Identifier: GPL-2.0-or-later
// Established TCP connections to given local ports, from the kernel's socket table
// (/proc/net/tcp and tcp6 of the caller's network namespace): the SSH sessions the lockout
// guard protects, found without trusting the environment (sudo's env_reset, `su -` and a
// serial console all lose SSH_CONNECTION).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "net/ip.h"

namespace ivozfw::net {

struct Session {
    Address remote;
    uint16_t local_port = 0;
    bool operator==(const Session&) const = default;
};

/// Parse one /proc/net/tcp or tcp6 table. IPv4-mapped remotes come back as IPv4.
std::vector<Session> parse_tcp_table(const std::string& text, bool v6, const std::set<uint16_t>& local_ports);

/// Both tables under `proc` ("/proc"); a table that cannot be read is skipped.
std::vector<Session> established_tcp(const std::set<uint16_t>& local_ports, const std::string& proc = "/proc");

}  // namespace ivozfw::net
