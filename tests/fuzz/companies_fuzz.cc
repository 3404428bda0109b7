// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer: text -> companies::parse_document, the reader of company files, of a
// companies.d file and of standard input. SourceError is the expected answer to bad input.
// The same bytes, cut at the first two newlines, are a database row for
// platform::row_address (ip_addr, mask, source_address); and, whole, a message another host
// published on the fleet channel (fleet::decode).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "companies/companies.h"
#include "fleet/message.h"
#include "platform/platform.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto l = ivozfw::companies::parse_document(text, "fuzz.json");
        (void)l.all();
        (void)l.range_count();
    } catch (const ivozfw::companies::SourceError&) {
    }
    std::string fields[3];
    size_t f = 0;
    for (char c : text) {
        if (c == '\n' && f < 2) ++f;
        else fields[f] += c;
    }
    std::string err, note;
    if (auto p = ivozfw::platform::row_address(fields[0].c_str(), fields[1].c_str(), fields[2].c_str(), &err, &note))
        (void)p->range();
    (void)ivozfw::platform::row_address(nullptr, nullptr, fields[2].c_str(), &err, &note);
    // As heard (the signature stops it), then signed with the fleet's key, so the fields are
    // fuzzed too.
    constexpr int64_t now = 1'800'000'000'000;
    const std::string key = "fuzz-fuzz-fuzz-fuzz-fuzz-fuzz-fuzz";
    using ivozfw::fleet::Freshness;
    (void)ivozfw::fleet::decode(text, 64, key, now, Freshness::channel, &err);
    std::string s = ivozfw::fleet::sign(text, key);
    for (auto f : {Freshness::channel, Freshness::stored})
        if (auto m = ivozfw::fleet::decode(s, 64, key, now, f, &err)) (void)ivozfw::fleet::encode(*m, key, now);
    return 0;
}
