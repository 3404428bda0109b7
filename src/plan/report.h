// SPDX-License-Identifier: GPL-2.0-or-later
// A plan as people and pipelines read it: `ivozfw diff` text and `--json`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plan/plan.h"

namespace ivozfw::plan {

/// nft-like text, one line per object, rules in nft syntax, at most `sample` elements per set.
std::string render_text(const Plan& p, const Table& desired, size_t sample = 5);
nlohmann::json render_json(const Plan& p, const Table& desired, size_t sample = 5);

}  // namespace ivozfw::plan
