// SPDX-License-Identifier: GPL-2.0-or-later
// Test helper: what loading a policy text says is wrong.
#pragma once

#include <string>
#include <vector>

#include "policy/policy.h"

namespace ivozfw::test {

/// Every error of loading `text` as "where: error: message"; empty when it loads.
inline std::vector<std::string> errors_of(const std::string& text) {
    try {
        policy::load_text(text, "p.json");
    } catch (const policy::LoadError& e) {
        std::vector<std::string> out;
        for (const auto& d : e.diagnostics) out.push_back(d.str());
        return out;
    }
    return {};
}

}  // namespace ivozfw::test
