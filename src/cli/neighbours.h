// SPDX-License-Identifier: GPL-2.0-or-later
// Other tables on the hooks ivozfw uses whose verdicts can override ivozfw's (a drop policy
// on input or forward: then neither table alone decides), or that change which port ivozfw
// judges (a nat prerouting chain): check, apply, status and explain say so.
#pragma once

#include <string>
#include <vector>

#include "nft/netlink.h"

namespace ivozfw::cli {

/// One line per such chain; empty when none (or the chains could not be listed: a line says so).
std::vector<std::string> overriding_neighbours(nft::Kernel& k, const std::string& table);

}  // namespace ivozfw::cli
