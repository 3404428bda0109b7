// SPDX-License-Identifier: GPL-2.0-or-later
// Internal to policy/: typed access to a parsed JSON tree that records every problem with
// its JSON path instead of stopping at the first one.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace ivozfw::policy::detail {

/// ordered_json keeps objects in file order, so services stay in the order written.
using Json = nlohmann::ordered_json;

std::string child_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, size_t i);

/// The candidate closest to `word` (a typo away), or "" when none is close.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
/// `, did you mean "x"?` for the candidate closest to `word`, or "" when none is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Whether `s` is [first][rest]{0,max-1}: names that end up in nft identifiers.
bool valid_name(std::string_view s, size_t max, bool allow_dash, bool allow_underscore);

/// ISO 3166-1 alpha-2, upper case, assigned (plus XK, which GeoIP databases use).
bool is_country_code(std::string_view cc);

class Reader {
public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    void error(const std::string& path, std::string message);
    void warn(const std::string& path, std::string message);

    bool is_object(const Json& j, const std::string& path);
    bool is_array(const Json& j, const std::string& path);
    std::optional<std::string> string(const Json& j, const std::string& path);
    std::optional<uint64_t> integer(const Json& j, const std::string& path, uint64_t lo, uint64_t hi);
    std::optional<bool> boolean(const Json& j, const std::string& path);

    /// Reports every key of `obj` not in `allowed`, suggesting the closest allowed one.
    void known_keys(const Json& obj, const std::string& path,
                    std::initializer_list<const char*> allowed);
    /// The member `key` of `obj`, reporting it missing when absent.
    const Json* required(const Json& obj, const std::string& path, const char* key);

    /// Read member `key` into `out` when present; on a bad value `out` keeps its default.
    void read(const Json& obj, const std::string& path, const char* key, std::string& out);
    void read(const Json& obj, const std::string& path, const char* key, bool& out);
    template <class T>
    void read(const Json& obj, const std::string& path, const char* key, T& out, uint64_t lo,
              uint64_t hi) {
        auto it = obj.find(key);
        if (it == obj.end()) return;
        if (auto v = integer(*it, child_path(path, key), lo, hi)) out = static_cast<T>(*v);
    }

    std::vector<Diagnostic> errors, warnings;

private:
    Diagnostic diagnostic(Diagnostic::Level level, const std::string& path, std::string message) const;
    void expected(const Json& j, const std::string& path, const char* what);
    std::string origin_;
};

/// Short description of a value for messages: `number 1.5`, `string "x"`, `object`.
std::string describe(const Json& j);

/// The entries of one `lists.<name>` array, taken while parsing instead of as JSON values.
struct ListItems {
    std::string chars;               // the string entries, back to back
    std::vector<uint32_t> ends;      // entry i is chars[ends[i - 1], ends[i])
    std::map<size_t, Json> others;   // the entries that are not strings, by position
    size_t size() const { return ends.size(); }
    std::string_view text(size_t i) const {
        size_t from = i ? ends[i - 1] : 0;
        return std::string_view(chars).substr(from, ends[i] - from);
    }
};

/// A parsed policy document: the tree, with each list's array empty, and the lists' entries.
struct Parsed {
    Json root;
    std::map<std::string, ListItems> lists;
};

/// The validated policy for an already parsed document; problems go to `r`.
Policy build(const Parsed& doc, Reader& r);

// Value readers shared by the section readers (validate.cc).
/// "N/second|minute|hour" -> (N, unit in seconds).
std::optional<std::pair<uint64_t, uint64_t>> read_rate(Reader& r, const Json& j, const std::string& path);
/// A limit's burst must refill within the kernel's longest timeout.
void check_refill(Reader& r, const std::string& path, uint64_t rate, uint64_t unit_s, uint64_t burst);
/// "300s", "5m", "1h", "1d" -> seconds.
std::optional<uint64_t> read_duration(Reader& r, const Json& j, const std::string& path);
/// A required, non-empty string naming a file or data source.
void read_path(Reader& r, const Json& obj, const std::string& path, const char* key, std::string& out);

/// validate_sections.cc: the sections that connect ivozfw to the rest of the platform.
void read_platform(Reader& r, const Json* j, Policy& p);
void read_fleet(Reader& r, const Json* j, Policy& p);
void read_companies(Reader& r, const Json* j, Policy& p);
void read_call_limit(Reader& r, const Json* j, Policy& p);
void read_logging(Reader& r, const Json* j, Policy& p);
void read_watch(Reader& r, const Json* j, Policy& p);

/// normalize.cc: two services on one proto/port (an error); one service twice (a warning).
void check_port_overlaps(Reader& r, const Policy& p);
/// normalize.cc: one range per group of a service's overlapping ports (warned before).
void normalize_ports(Policy& p);
/// normalize.cc: a list no service names and ivozfw gives no meaning of its own (a typo).
void check_lists_used(Reader& r, const Policy& p);

}  // namespace ivozfw::policy::detail
