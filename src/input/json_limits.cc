// SPDX-License-Identifier: GPL-2.0-or-later
#include "input/json_limits.h"

#include <fmt/format.h>

namespace ivozfw::input {

std::optional<LimitError> check_json_limits(std::string_view text) {
    size_t line = 1, line_start = 0, depth = 0;
    auto at = [&](size_t i, std::string message) {
        return LimitError{line, i - line_start + 1, std::move(message)};
    };
    if (text.size() > kMaxJsonBytes)
        return LimitError{1, 1, fmt::format("{} bytes is too large (at most {} MiB)", text.size(), kMaxJsonBytes >> 20)};
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n') {
            ++line, line_start = i + 1;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) return at(i, fmt::format("nested deeper than {} levels", kMaxJsonDepth));
        } else if (c == ']' || c == '}') {
            if (depth > 0) --depth;
        } else if (c == '"') {
            size_t start = i++;
            for (; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\n') break;   // unterminated: the parser reports it
                if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] != '\n') ++i;
            }
            if (i - start - 1 > kMaxJsonString)
                return at(start, fmt::format("string of {} bytes is too long (at most {})", i - start - 1, kMaxJsonString));
            if (i < text.size() && text[i] == '\n') --i;   // count the line above
        } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
            // nlohmann ends a line comment at \r too: so must the scan, or it would skip
            // what the parser reads.
            while (i + 1 < text.size() && text[i + 1] != '\n' && text[i + 1] != '\r') ++i;
        } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            for (i += 2; i < text.size() && !(text[i] == '*' && i + 1 < text.size() && text[i + 1] == '/'); ++i)
                if (text[i] == '\n') ++line, line_start = i + 1;
            ++i;   // onto the '/' (or past the end of an unterminated comment)
        }
    }
    return std::nullopt;
}

std::string read_bounded(std::istream& in, size_t max, bool* too_big) {
    std::string text;
    char buf[65536];
    *too_big = false;
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, size_t(in.gcount()));
        if (text.size() > max) {
            text.resize(max);
            *too_big = true;
            break;
        }
    }
    return text;
}

}  // namespace ivozfw::input
