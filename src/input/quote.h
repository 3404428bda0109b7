// SPDX-License-Identifier: GPL-2.0-or-later
// Echoing untrusted input in messages: a 10 MB string must not become a 10 MB error.
#pragma once

#include <string>
#include <string_view>

namespace ivozfw::input {

/// `s` in double quotes, at most `max` bytes of it (cut on a UTF-8 boundary, control
/// characters shown as `?`); a longer one ends in `…" (N bytes)`.
std::string quote_short(std::string_view s, size_t max = 60, char quote = '"');

/// Text from a source (a company name from a database row) made safe to print in a terminal
/// or the journal: control characters (C0, DEL, and C1 as UTF-8) become `?`, at most `max`
/// bytes (cut on a UTF-8 boundary). No quotes added.
std::string printable(std::string_view s, size_t max = 200);

/// nlohmann's error message with the input it quotes (a parse error's `last read: '...'`
/// token, an overflowing number) cut down by quote_short.
std::string shorten_parse_error(std::string_view what);

}  // namespace ivozfw::input
