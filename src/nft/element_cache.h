// SPDX-License-Identifier: GPL-2.0-or-later
// What ivozfw's own sets held right after its last commit, valid while nothing at all has
// been committed since in that network namespace. Reading a big interval set back costs the
// kernel O(n^2) (each dump chunk walks the tree from the start): with a valid cache, a
// GeoIP refresh or a company sync needs no element dump at all.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "ruleset/model.h"

namespace ivozfw::nft {

struct ElementCache {
    std::string boot_id;        // genids restart at boot...
    uint64_t netns_cookie = 0;  // ...and per namespace; the cookie is never reused
    uint32_t genid = 0;         // the generation our commit produced
    std::string table;
    std::map<std::string, std::vector<ruleset::Element>> sets;   // non-dynamic sets only

    /// Does it describe this namespace at this generation?
    bool valid_for(const std::string& table, uint32_t genid, uint64_t cookie) const;

    /// Sets of `live` with the element ops of `plan` applied: what the kernel holds after
    /// the commit. Dynamic sets are left out.
    static ElementCache after(const std::optional<ruleset::Table>& live, const plan::Plan& plan,
                              const ruleset::Table& desired);

    /// Binary file, written atomically. load returns nullopt for a missing or unreadable file.
    void save(const std::string& path) const;
    static std::optional<ElementCache> load(const std::string& path);
};

std::string boot_id();

}  // namespace ivozfw::nft
