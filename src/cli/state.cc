// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/state.h"

#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace ivozfw::cli {

void StateDir::ensure() const {
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("state directory " + path + ": " + std::strerror(errno));
    if (access(path.c_str(), W_OK) != 0)
        throw std::runtime_error("state directory " + path + " is not writable: " + std::strerror(errno));
}

void StateDir::write_json(const std::string& name, const nlohmann::json& j) const {
    ensure();
    io::write_atomic(file(name), j.dump(1) + "\n", 0600);
}

std::optional<nlohmann::json> StateDir::read_json(const std::string& name) const {
    std::ifstream in(file(name));
    if (!in) return std::nullopt;
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(file(name) + ": " + e.what());
    }
}

void StateDir::remove(const std::string& name) const { unlink(file(name).c_str()); }

}  // namespace ivozfw::cli
