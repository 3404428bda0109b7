// SPDX-License-Identifier: GPL-2.0-or-later
// A plan as people and pipelines read it: `ivozfw diff` text and `--json`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plan/plan.h"

namespace ivozfw::plan {

/// nft-like text, one line per object, rules in nft syntax, at most `sample` elements per set.
/// "add_elements": an op's verb as JSON names it.
const char* verb_name(Op::Verb v);
/// "add elements to": for sentences ("add elements to set admin_v4").
std::string verb_words(Op::Verb v);

std::string render_text(const Plan& p, const Table& desired, size_t sample = 5);
nlohmann::json render_json(const Plan& p, const Table& desired, size_t sample = 5);

}  // namespace ivozfw::plan
