// SPDX-License-Identifier: GPL-2.0-or-later
// ivozfw: everything is in the library; see cli/run.cc.
#include <sys/prctl.h>

#include "cli/run.h"

int main(int argc, char** argv) {
    // The kernel names the committing task in every generation event: `ivozfw watch` tells
    // ivozfw's own commits by it, however the binary was started (the rollback watcher is
    // exec'd as /proc/self/exe, which the kernel would call "exe").
    prctl(PR_SET_NAME, "ivozfw", 0, 0, 0);
    return ivozfw::cli::run(argc, argv, {});
}
