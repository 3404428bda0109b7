// SPDX-License-Identifier: GPL-2.0-or-later
// Bounds on JSON read from files, stdin or a database, checked before nlohmann parses it:
// deep nesting would exhaust the stack of anything that recurses over the tree (a policy
// nested 300,000 deep crashed), and huge strings only end up echoed in messages.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace ivozfw::input {

constexpr size_t kMaxJsonBytes = 16u << 20;   // a policy or company document
constexpr size_t kMaxJsonDepth = 64;          // policies need 4 levels, company files 3
constexpr size_t kMaxJsonString = 4096;       // any string or key, in bytes as written

/// Where a document breaks a bound: 1-based line and column, and what.
struct LimitError {
    size_t line = 1, column = 1;
    std::string message;
};

/// Scans `text` once, skipping strings and // or /* */ comments, for nesting deeper than
/// kMaxJsonDepth, strings longer than kMaxJsonString and a size over kMaxJsonBytes.
/// Syntax is left to the parser.
std::optional<LimitError> check_json_limits(std::string_view text);

/// All of `in`, but at most `max` bytes: *too_big is set (and the text cut) past that.
std::string read_bounded(std::istream& in, size_t max, bool* too_big);

}  // namespace ivozfw::input
