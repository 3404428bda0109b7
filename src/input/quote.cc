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

std::string shorten_parse_error(std::string_view what) {
    constexpr std::string_view kLastRead = "last read: '";
    size_t at = what.find(kLastRead);
    if (at == what.npos) return std::string(what);
    size_t start = at + kLastRead.size(), end = what.rfind('\'');
    if (end == what.npos || end < start) end = what.size();
    return std::string(what.substr(0, at)) + "last read: " + quote_short(what.substr(start, end - start), 60, '\'') +
           std::string(what.substr(std::min(end + 1, what.size())));
}

}  // namespace ivozfw::input
