// SPDX-License-Identifier: GPL-2.0-or-later
#include "policy/reader.h"

#include "input/quote.h"

#include <algorithm>
#include <cctype>

namespace ivozfw::policy::detail {

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string child_path(const std::string& parent, std::string_view key) {
    // Keys come from the input: a long one is shown quoted and cut short.
    std::string k = key.size() > 60 ? input::quote_short(key) : std::string(key);
    return parent.empty() ? k : parent + "." + k;
}

std::string index_path(const std::string& parent, size_t i) {
    return parent + "[" + std::to_string(i) + "]";
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
    // Up to a third of the word may be wrong (at least 2 edits): closer than that is a typo,
    // further is a different word and a suggestion would mislead.
    size_t limit = std::max<size_t>(2, word.size() / 3), best = limit + 1;
    const std::string* pick = nullptr;
    for (const auto& c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best) best = d, pick = &c;
    }
    return pick ? *pick : "";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string pick = closest(word, candidates);
    return pick.empty() ? "" : ", did you mean \"" + pick + "\"?";
}

bool valid_name(std::string_view s, size_t max, bool allow_dash, bool allow_underscore) {
    if (s.empty() || s.size() > max || s[0] < 'a' || s[0] > 'z') return false;
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (allow_dash && c == '-') ||
               (allow_underscore && c == '_');
    });
}

std::string describe(const Json& j) {
    if (j.is_object() || j.is_array() || j.is_null()) return j.type_name();
    std::string v = j.dump();
    if (v.size() > 40) v = v.substr(0, 37) + "...";
    return std::string(j.type_name()) + " " + v;
}

Diagnostic Reader::diagnostic(Diagnostic::Level level, const std::string& path,
                              std::string message) const {
    return {level, path.empty() ? origin_ : origin_ + ": " + path, std::move(message)};
}

void Reader::error(const std::string& path, std::string message) {
    errors.push_back(diagnostic(Diagnostic::Level::error, path, std::move(message)));
}

void Reader::warn(const std::string& path, std::string message) {
    warnings.push_back(diagnostic(Diagnostic::Level::warning, path, std::move(message)));
}

void Reader::expected(const Json& j, const std::string& path, const char* what) {
    error(path, std::string("expected ") + what + ", got " + describe(j));
}

bool Reader::is_object(const Json& j, const std::string& path) {
    if (!j.is_object()) expected(j, path, "an object");
    return j.is_object();
}

bool Reader::is_array(const Json& j, const std::string& path) {
    if (!j.is_array()) expected(j, path, "an array");
    return j.is_array();
}

std::optional<std::string> Reader::string(const Json& j, const std::string& path) {
    if (j.is_string()) return j.get<std::string>();
    expected(j, path, "a string");
    return std::nullopt;
}

std::optional<uint64_t> Reader::integer(const Json& j, const std::string& path, uint64_t lo,
                                        uint64_t hi) {
    if (!j.is_number_integer()) {
        expected(j, path, "an integer");
        return std::nullopt;
    }
    // Negative numbers are number_integer; everything else fits uint64_t.
    bool negative = !j.is_number_unsigned() && j.get<int64_t>() < 0;
    uint64_t v = negative ? 0 : j.get<uint64_t>();
    if (negative || v < lo || v > hi) {
        error(path, j.dump() + " is out of range (" + std::to_string(lo) + "-" + std::to_string(hi) + ")");
        return std::nullopt;
    }
    return v;
}

std::optional<bool> Reader::boolean(const Json& j, const std::string& path) {
    if (j.is_boolean()) return j.get<bool>();
    expected(j, path, "true or false");
    return std::nullopt;
}

void Reader::known_keys(const Json& obj, const std::string& path,
                        std::initializer_list<const char*> allowed) {
    std::vector<std::string> names(allowed.begin(), allowed.end());
    for (const auto& [key, value] : obj.items()) {
        if (std::find(names.begin(), names.end(), key) != names.end()) continue;
        std::string hint = did_you_mean(key, names);
        if (hint.empty()) {
            hint = " (expected one of:";
            for (const auto& n : names) hint += " " + n;
            hint += ")";
        }
        error(child_path(path, key), "unknown key" + hint);
    }
}

const Json* Reader::required(const Json& obj, const std::string& path, const char* key) {
    auto it = obj.find(key);
    if (it != obj.end()) return &*it;
    error(path, std::string("missing required key \"") + key + "\"");
    return nullptr;
}

void Reader::read(const Json& obj, const std::string& path, const char* key, std::string& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return;
    if (auto v = string(*it, child_path(path, key))) out = *v;
}

void Reader::read(const Json& obj, const std::string& path, const char* key, bool& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return;
    if (auto v = boolean(*it, child_path(path, key))) out = *v;
}

}  // namespace ivozfw::policy::detail
