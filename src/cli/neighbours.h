// SPDX-License-Identifier: GPL-2.0-or-later
// Other tables on the hooks ivozfw uses, whose verdicts can override ivozfw's: then neither
// table alone decides, and check, apply, status and explain say so.
#pragma once

#include <string>
#include <vector>

#include "nft/netlink.h"

namespace ivozfw::cli {

/// One line per such chain; empty when none (or the chains could not be listed: a line says so).
std::vector<std::string> overriding_neighbours(nft::Kernel& k, const std::string& table);

}  // namespace ivozfw::cli
