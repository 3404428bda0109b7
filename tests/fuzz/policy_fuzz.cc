// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer: text -> policy::load_text (limits, parse, validation) -> compile.
// A LoadError is the expected answer to bad input; anything else escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/policy.h"
#include "ruleset/compile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto p = ivozfw::policy::load_text(text, "fuzz.json");
        (void)ivozfw::ruleset::compile(p);
        (void)ivozfw::ruleset::antiflood_summary(p);
    } catch (const ivozfw::policy::LoadError&) {
    }
    return 0;
}
