// SPDX-License-Identifier: GPL-2.0-or-later
// A live table as JSON, exact enough to put it back (apply --confirm's rollback): rules
// keep their raw kernel expressions, sets their elements.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "ruleset/model.h"

namespace ivozfw::ruleset {

/// {"exists": false} when there was no table.
nlohmann::json snapshot_to_json(const std::optional<Table>& t, const std::string& name);
/// Throws std::runtime_error on a malformed snapshot.
std::optional<Table> snapshot_from_json(const nlohmann::json& j, std::string* name);

/// The snapshot as compared after a restore: every attribute of every object (rules as their
/// raw kernel expressions and comments, set and counter comments), except the elements of
/// dynamic sets, which the packet path owns.
nlohmann::json comparable(nlohmann::json snapshot);

}  // namespace ivozfw::ruleset
