// SPDX-License-Identifier: GPL-2.0-or-later
// plan(desired, live) -> the operations that turn live into desired. Pure: no kernel here.
// Every command that changes the kernel (apply, remove, rollback, later geoip refresh and
// companies sync) goes through plan + nft::commit.
#pragma once

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ruleset/model.h"

namespace ivozfw::plan {

using namespace ivozfw::ruleset;

/// The elements of an add/delete: owned, or, for a set created whole, borrowed from the
/// desired table the plan was made from, so a big set is not held twice. A plan that
/// borrows must not outlive that table; Plan::own() copies what is borrowed. A copy owns
/// its elements (only a move keeps the borrow), so no copy of a plan can dangle.
class Elements {
public:
    Elements() = default;
    Elements(const Elements& o) : own_(o.get()) {}
    Elements& operator=(const Elements& o) {
        if (this != &o) own_ = o.get(), borrowed_ = nullptr;
        return *this;
    }
    Elements(Elements&&) = default;
    Elements& operator=(Elements&&) = default;
    Elements(std::vector<Element> v) : own_(std::move(v)) {}
    Elements(std::initializer_list<Element> l) : own_(l) {}
    static Elements borrow(const std::vector<Element>& v) {
        Elements e;
        e.borrowed_ = &v;
        return e;
    }
    const std::vector<Element>& get() const { return borrowed_ ? *borrowed_ : own_; }
    bool borrowed() const { return borrowed_ != nullptr; }
    operator const std::vector<Element>&() const { return get(); }
    size_t size() const { return get().size(); }
    bool empty() const { return get().empty(); }
    auto begin() const { return get().begin(); }
    auto end() const { return get().end(); }
    const Element& operator[](size_t i) const { return get()[i]; }
    void own() {
        if (borrowed_) own_ = *std::exchange(borrowed_, nullptr);
    }

private:
    std::vector<Element> own_;
    const std::vector<Element>* borrowed_ = nullptr;
};

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
    Elements elements;                // add/delete_elements
    Rule rule;                        // add/replace/delete_rule (handle set for replace/delete)
    /// add_rule: insert before the live rule with this handle; 0 = append at the end.
    uint64_t before_handle = 0;
    std::string why;                  // "hand edit", "definition changed" ...
};
// A growing vector of ops must move them: a copy would copy every borrowed element.
static_assert(std::is_nothrow_move_constructible_v<Op>);

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
    /// Copy every borrowed element list: the plan no longer needs the desired table.
    void own();
};

/// Compute the operations. `live` is nullopt when the table does not exist. The plan
/// borrows the elements of the sets it creates whole from `desired` (see Elements).
Plan plan(const Table& desired, const std::optional<Table>& live, const Scope& scope = {});
Plan plan(Table&& desired, const std::optional<Table>& live, const Scope& scope = {}) = delete;

/// Delete the whole table (ivozfw remove).
Plan plan_remove(const std::optional<Table>& live, const std::string& table);

}  // namespace ivozfw::plan
