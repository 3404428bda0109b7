// SPDX-License-Identifier: GPL-2.0-or-later
// Files that hold secrets (database and Redis credentials) must be root's alone: never
// readable by group or others, where any local user could take the password.
#pragma once

#include <optional>
#include <string>

namespace ivozfw::io {

/// What is wrong with `path` as a secrets file (missing, not a regular file, not owned by
/// root, group/other bits set), naming it as `what` ("database credentials"); nullopt when
/// it is fine. The caller throws its own error type.
std::optional<std::string> private_file_problem(const std::string& path, const std::string& what);

}  // namespace ivozfw::io
