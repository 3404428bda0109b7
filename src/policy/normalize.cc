// SPDX-License-Identifier: GPL-2.0-or-later
// What the kernel would hold differently than written, normalized or named at `check`, so
// that `apply` holds exactly what check said and a second apply finds nothing to do.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "policy/reader.h"

namespace ivozfw::policy::detail {

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
