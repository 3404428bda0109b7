// SPDX-License-Identifier: GPL-2.0-or-later
#include "companies/companies.h"

namespace ivozfw::companies {

net::AddressSet Loaded::all() const {
    net::AddressSet out;
    for (const auto& [id, c] : companies) {
        if (!c.ip_filter) continue;
        for (const auto& r : c.ranges.v4) out.add(net::Family::v4, r);
        for (const auto& r : c.ranges.v6) out.add(net::Family::v6, r);
    }
    out.normalize();
    return out;
}

Loaded load(const std::string& source) {
    throw SourceError(source + ": company sources are not implemented yet");
}

}  // namespace ivozfw::companies
