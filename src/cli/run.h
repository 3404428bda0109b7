// SPDX-License-Identifier: GPL-2.0-or-later
// The command line as a function: main() calls it with default options; a test binary may
// hand in other options (another kernel).
#pragma once

#include "cli/commands.h"

namespace ivozfw::cli {

/// Parse argv, run the command, report errors; returns the exit status.
int run(int argc, char** argv, Options o);

}  // namespace ivozfw::cli
