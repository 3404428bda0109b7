// SPDX-License-Identifier: GPL-2.0-or-later
#include "policy/reach.h"

#include <fmt/format.h>

namespace ivozfw::policy {

Reach reaches(const Policy& p, const net::Address& src, Proto proto, uint16_t port) {
    const char* pname = proto == Proto::tcp ? "tcp" : "udp";
    for (const auto& svc : p.services) {
        const auto& ranges = proto == Proto::tcp ? svc.tcp : svc.udp;
        bool hit = false;
        for (const auto& r : ranges) hit = hit || (port >= r.lo && port <= r.hi);
        if (!hit) continue;
        if (svc.from.empty()) return {true, fmt::format("service {} ({}/{}) is open to everyone", svc.name, pname, port)};
        for (const auto& list : svc.from) {
            auto it = p.lists.find(list);
            if (it != p.lists.end() && it->second.contains(src))
                return {true, fmt::format("service {} ({}/{}) from list {}", svc.name, pname, port, list)};
        }
        return {false, fmt::format("service {} ({}/{}) only accepts lists {}", svc.name, pname, port,
                                   fmt::join(svc.from, ", "))};
    }
    return {false, fmt::format("no service is exposed on {}/{}", pname, port)};
}

}  // namespace ivozfw::policy
