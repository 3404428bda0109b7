// SPDX-License-Identifier: GPL-2.0-or-later
// /var/lib/ivozfw: what was applied last, and the rollback snapshot of `apply --confirm`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ivozfw::cli {

/// The file ivozfw's writers take turns on (io/lock.h), in the state directory.
constexpr const char* kWriterLock = "writers.lock";

struct StateDir {
    std::string path;
    std::string file(const std::string& name) const { return path + "/" + name; }
    /// Create the directory (0700) if needed; throws with a clear message when it can't.
    void ensure() const;
    /// Write atomically (temp file + rename), mode 0600.
    void write_json(const std::string& name, const nlohmann::json& j) const;
    std::optional<nlohmann::json> read_json(const std::string& name) const;
    void remove(const std::string& name) const;
};

}  // namespace ivozfw::cli
