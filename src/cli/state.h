// SPDX-License-Identifier: GPL-2.0-or-later
// /var/lib/ivozfw: what was applied last, and the rollback snapshot of `apply --confirm`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace ivozfw::cli {

/// A state file that exists but cannot be believed.
struct Damaged : std::runtime_error {
    using std::runtime_error::runtime_error;
};

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
    /// As write_json, with a "sum" member over the rest (io/checksum.h).
    void write_sealed(const std::string& name, nlohmann::json j) const;
    /// A sealed file: nullopt when it does not exist; throws Damaged when it does not parse,
    /// has no sum or a wrong one (one byte changed by a disk or a hand).
    std::optional<nlohmann::json> read_sealed(const std::string& name) const;
    void remove(const std::string& name) const;
};

}  // namespace ivozfw::cli
