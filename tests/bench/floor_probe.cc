// SPDX-License-Identifier: GPL-2.0-or-later
// The physical floor of a GeoIP load, for tests/bench (not installed): the least userspace
// work that leaves the same GeoIP sets in the kernel.
//   ivozfw-floor walk POLICY     the MaxMind tree walk alone (the policy's geoip section)
//   ivozfw-floor insert POLICY   the walk, then ONE batch: the table and the two interval
//                                sets with every merged interval, nothing read back, no
//                                rules, no plan against a live table, no cache, no lock
// Prints "walk_ms insert_ms intervals_v4 intervals_v6".
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <iostream>

#include "geoip/resolve.h"
#include "nft/netlink.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "ruleset/compile.h"
#include "ruleset/features.h"

using namespace ivozfw;

int main(int argc, char** argv) {
    if (argc != 3 || (std::strcmp(argv[1], "walk") != 0 && std::strcmp(argv[1], "insert") != 0)) {
        std::cerr << "usage: ivozfw-floor walk|insert POLICY\n";
        return 2;
    }
    try {
        auto p = policy::load_file(argv[2]);
        if (!p.geoip) throw std::runtime_error("the policy has no geoip section");
        using Clock = std::chrono::steady_clock;
        auto ms = [](Clock::time_point a, Clock::time_point b) {
            return std::chrono::duration<double, std::milli>(b - a).count();
        };
        auto t0 = Clock::now();
        auto g = geoip::resolve(*p.geoip);
        auto t1 = Clock::now();
        double insert_ms = 0;
        if (std::strcmp(argv[1], "insert") == 0) {
            ruleset::Table t;
            t.name = p.table;
            for (bool v6 : {false, true})
                ruleset::put_set(t, ruleset::address_set(ruleset::names::list_set(ruleset::names::geoip, v6), v6,
                                                         v6 ? g.drop.v6 : g.drop.v4));
            auto pl = plan::plan(t, std::nullopt);
            nft::Netlink nl;
            nl.commit(pl, t, 0);
            insert_ms = ms(t1, Clock::now());
        }
        fmt::print("{:.1f} {:.1f} {} {}\n", ms(t0, t1), insert_ms, g.drop.v4.size(), g.drop.v6.size());
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "ivozfw-floor: " << e.what() << "\n";
        return 1;
    }
}
