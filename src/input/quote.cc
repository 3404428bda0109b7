// SPDX-License-Identifier: GPL-2.0-or-later
#include "input/quote.h"

#include <algorithm>

namespace ivozfw::input {

std::string quote_short(std::string_view s, size_t max, char quote) {
    size_t n = s.size() <= max ? s.size() : max;
    // Do not split a UTF-8 sequence: back off over continuation bytes (10xxxxxx).
    if (n < s.size())
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    std::string out(1, quote);
    for (char c : s.substr(0, n)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    out += quote;
    if (n < s.size()) out.insert(out.size() - 1, "…"), out += " (" + std::to_string(s.size()) + " bytes)";
    return out;
}

std::string printable(std::string_view s, size_t max) {
    size_t n = s.size() <= max ? s.size() : max;
    if (n < s.size())
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    std::string out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) {
            out += '?';
        } else if (c == 0xc2 && i + 1 < n && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
            out += '?';   // U+0080..U+009F: C1 controls (CSI is U+009B)
            ++i;
        } else {
            out += char(c);
        }
    }
    return out;
}

std::string shorten_parse_error(std::string_view what) {
    // The two places nlohmann quotes input: a parse error's "last read: '<token>'" (maybe
    // followed by "; expected '['") and a number overflow's "parsing '<number>'".
    for (std::string_view marker : {"last read: '", "number overflow parsing '"}) {
        size_t at = what.find(marker);
        if (at == what.npos) continue;
        size_t start = at + marker.size(), end = what.find("'; expected", start);
        if (end == what.npos) end = what.rfind('\'');
        if (end == what.npos || end < start) end = what.size();
        return std::string(what.substr(0, start - 1)) + quote_short(what.substr(start, end - start), 60, '\'') +
               std::string(what.substr(std::min(end + 1, what.size())));
    }
    return std::string(what);
}

}  // namespace ivozfw::input
