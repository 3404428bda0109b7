// SPDX-License-Identifier: GPL-2.0-or-later
// Ports and lists as the kernel will hold them: conflicts refused, overlaps normalized, and
// what would filter nothing named at `check`, so that `apply` holds exactly what check said
// and a second apply finds nothing to do.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "input/quote.h"
#include "policy/reader.h"

namespace ivozfw::policy::detail {

using input::quote_short;

namespace {

// Overlapping ranges of one service (already warned "listed twice"): one element each in
// the services map would overlap, which the kernel refuses ("File exists"), and an exact
// duplicate would be sent again by every apply. Each group of overlapping ranges becomes one
// range, at the place its first member was written. O(n log n): a list may be long.
void merge_overlaps(std::vector<PortRange>& ports) {
    std::vector<size_t> order(ports.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ports[a].lo < ports[b].lo; });
    std::vector<std::pair<size_t, PortRange>> groups;   // first position written, merged range
    for (size_t i : order) {
        if (!groups.empty() && ports[i].lo <= groups.back().second.hi) {
            auto& g = groups.back();
            g.first = std::min(g.first, i);
            g.second.hi = std::max(g.second.hi, ports[i].hi);
        } else {
            groups.push_back({i, ports[i]});
        }
    }
    if (groups.size() == ports.size()) return;
    std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    ports.clear();
    for (const auto& g : groups) ports.push_back(g.second);
}

}  // namespace

/// Two services on one proto/port would make the service map ambiguous.
void check_port_overlaps(Reader& r, const Policy& p) {
    struct Claim {
        PortRange ports;
        const Service* service;
        std::string path;
    };
    for (const char* proto : {"tcp", "udp"}) {
        std::vector<Claim> claims;
        for (const auto& s : p.services) {
            const auto& ports = std::string_view(proto) == "tcp" ? s.tcp : s.udp;
            for (size_t i = 0; i < ports.size(); ++i)
                claims.push_back({ports[i], &s, index_path("services." + s.name + "." + proto, i)});
        }
        std::stable_sort(claims.begin(), claims.end(),
                         [](const Claim& a, const Claim& b) { return a.ports.lo < b.ports.lo; });
        const Claim* reach = nullptr;  // the earlier claim reaching furthest up
        for (const auto& c : claims) {
            if (reach && c.ports.lo <= reach->ports.hi) {
                unsigned lo = c.ports.lo, hi = std::min(c.ports.hi, reach->ports.hi);
                std::string what = lo == hi ? std::string(proto) + " port " + std::to_string(lo) + " is"
                                            : std::string(proto) + " ports " + std::to_string(lo) + "-" +
                                                  std::to_string(hi) + " are";
                if (reach->service == c.service)
                    r.warn(c.path, what + " listed twice (the service holds it once)");
                else
                    r.error(c.path, what + " claimed by both " + quote_short(reach->service->name) +
                                        " and " + quote_short(c.service->name));
            }
            if (!reach || c.ports.hi > reach->ports.hi) reach = &c;
        }
    }
}

void normalize_ports(Policy& p) {
    for (auto& s : p.services) {
        merge_overlaps(s.tcp);
        merge_overlaps(s.udp);
    }
}

void check_lists_used(Reader& r, const Policy& p) {
    std::set<std::string> used(std::begin(kBuiltinLists), std::end(kBuiltinLists));
    for (const auto& s : p.services) used.insert(s.from.begin(), s.from.end());
    std::vector<std::string> known(used.begin(), used.end());
    for (const auto& [name, set] : p.lists)
        if (!used.count(name))
            r.warn(child_path("lists", name),
                   "no service uses this list (\"from\") and ivozfw gives it no meaning of its own: it filters "
                   "nothing" + did_you_mean(name, known));
}

}  // namespace ivozfw::policy::detail
