// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer: text -> companies::parse_document, the reader of company files, of a
// companies.d file and of standard input. SourceError is the expected answer to bad input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "companies/companies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto l = ivozfw::companies::parse_document(text, "fuzz.json");
        (void)l.all();
        (void)l.range_count();
    } catch (const ivozfw::companies::SourceError&) {
    }
    return 0;
}
