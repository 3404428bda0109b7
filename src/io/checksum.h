// SPDX-License-Identifier: GPL-2.0-or-later
// FNV-1a, 64 bits: catches a flipped bit or a torn write in a state file; not a defence
// against an attacker (who could write the state directory, and so the policy, anyway).
#pragma once

#include <cstdint>
#include <string_view>

namespace ivozfw::io {

inline uint64_t checksum(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

}  // namespace ivozfw::io
