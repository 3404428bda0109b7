// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw: everything is in the library; see cli/run.cc.
#include "cli/run.h"

int main(int argc, char** argv) { return ivozfw::cli::run(argc, argv, {}); }
