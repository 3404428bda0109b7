// SPDX-License-Identifier: GPL-2.0-or-later
// plan(desired, live) -> the operations that turn live into desired. Pure: no kernel here.
// Every command that changes the kernel (apply, remove, rollback, later geoip refresh and
// companies sync) goes through plan + nft::commit.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ruleset/model.h"

namespace ivozfw::plan {

using namespace ivozfw::ruleset;

/// One step of a transaction, in the order it goes into the batch.
struct Op {
    enum Verb : uint8_t {
        add_table, delete_table,
        add_counter, delete_counter,
        add_set, delete_set, add_elements, delete_elements,
        add_chain, delete_chain,
        add_rule, replace_rule, delete_rule,
    } verb;
    std::string name;                 // set / chain / counter name (table for *_table)
    std::vector<Element> elements;    // add/delete_elements
    Rule rule;                        // add/replace/delete_rule (handle set for replace/delete)
    /// add_rule: insert before the live rule with this handle; 0 = append at the end.
    uint64_t before_handle = 0;
    std::string why;                  // "hand edit", "definition changed" ...
};

/// What part of the table a caller owns. Default: everything. A GeoIP refresh or a company
/// sync names its sets and nothing else is even looked at.
struct Scope {
    std::optional<std::set<std::string>> sets_only;
};

struct Plan {
    std::string table;
    bool table_exists = false;         // live side had the table
    std::vector<Op> ops;
    bool empty() const { return ops.empty(); }
    /// Elements the kernel will receive (added + deleted), for reports and benchmarks.
    size_t element_count() const;
};

/// Compute the operations. `live` is nullopt when the table does not exist.
Plan plan(const Table& desired, const std::optional<Table>& live, const Scope& scope = {});

/// Delete the whole table (ivozfw remove).
Plan plan_remove(const std::optional<Table>& live, const std::string& table);

}  // namespace ivozfw::plan
