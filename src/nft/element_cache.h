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
    uint32_t genid = 0;         // the generation it is valid at
    uint32_t file_genid = 0;    // the generation written in the file (genid moves on by bump)
    std::string table;
    std::map<std::string, std::vector<ruleset::Element>> sets;   // non-dynamic sets only

    /// Does it describe this namespace at this generation?
    bool valid_for(const std::string& table, uint32_t genid, uint64_t cookie) const;

    /// The non-dynamic sets of the table the commit produced (plan::apply of the plan).
    static ElementCache of(std::optional<ruleset::Table> after, const std::string& table);

    /// Binary file with its length and a checksum, written with io::write_atomic (renamed
    /// into place, not fsynced: after a power cut the boot id differs and it is not believed).
    /// Throws std::runtime_error when it cannot be written.
    /// `whole`: sets whose elements are taken from there instead (a set the commit created
    /// whole holds exactly the desired table's elements: written from it, never copied).
    void save(const std::string& path,
              const std::map<std::string, const std::vector<ruleset::Element>*>& whole = {}) const;

    /// The header only (no elements, no checksum check): is the cache valid at a generation?
    /// For commands that change dynamic sets only and need no cached elements.
    static std::optional<ElementCache> peek(const std::string& path);
    /// After a commit that changed only dynamic sets (never cached) and moved the generation
    /// by exactly one from a valid cache: the file stays, valid at `now` (side file .gen).
    static void bump(const std::string& path, const ElementCache& valid, uint32_t now);
    static uint32_t moved_on(const std::string& path, const ElementCache& header);

    struct Loaded;
    /// A missing file is no cache; a file that fails its checks (length, checksum, sizes) is
    /// no cache either, and `problem` says why so the caller can warn: never believed.
    static Loaded load(const std::string& path);
};

struct ElementCache::Loaded {
    std::optional<ElementCache> cache;
    std::string problem;   // non-empty: the file existed but was corrupt
};

std::string boot_id();

}  // namespace ivozfw::nft
