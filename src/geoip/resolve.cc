// SPDX-License-Identifier: GPL-2.0-or-later
#include "geoip/resolve.h"

#include <fmt/format.h>
#include <sys/stat.h>

namespace ivozfw::geoip {

std::string file_identity(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return "";
    return fmt::format("{}:{}:{}:{}.{}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

Resolved resolve(const policy::GeoIP& g) {
    std::set<std::string> countries(g.countries.begin(), g.countries.end());
    std::string before = file_identity(g.database);
    Resolved r{{}, walk(g.database, countries, g.field), before};
    if (r.walk.matched.empty())
        throw Error(fmt::format("{}: no network of {} in this database; refusing (a truncated or wrong "
                                "database must not change the firewall)",
                                g.database, fmt::join(g.countries, ",")));
    const auto& special = special_purpose();
    if (g.mode == policy::GeoIP::Mode::deny) {
        r.drop.v4 = net::subtract(r.walk.matched.v4, special.v4);
        r.drop.v6 = net::subtract(r.walk.matched.v6, special.v6);
    } else {
        net::RangeList all4{{0, net::max_value(net::Family::v4)}}, all6{{0, net::max_value(net::Family::v6)}};
        r.drop.v4 = net::subtract(net::subtract(all4, r.walk.matched.v4), special.v4);
        r.drop.v6 = net::subtract(net::subtract(all6, r.walk.matched.v6), special.v6);
    }
    return r;
}

}  // namespace ivozfw::geoip
