// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli/state.h"

#include "io/atomic_file.h"
#include "io/checksum.h"

#include <fmt/format.h>

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

namespace {
std::string sum_of(const nlohmann::json& j) { return fmt::format("{:016x}", io::checksum(j.dump())); }
}  // namespace

void StateDir::write_sealed(const std::string& name, nlohmann::json j) const {
    j.erase("sum");
    j["sum"] = sum_of(j);
    write_json(name, j);
}

std::optional<nlohmann::json> StateDir::read_sealed(const std::string& name) const {
    std::optional<nlohmann::json> j;
    try {
        j = read_json(name);
    } catch (const std::exception& e) {
        throw Damaged(std::string(e.what()));
    }
    if (!j) return j;
    if (!j->is_object() || !j->contains("sum") || !(*j)["sum"].is_string())
        throw Damaged(file(name) + ": no checksum");
    std::string sum = (*j)["sum"];
    j->erase("sum");
    if (sum != sum_of(*j)) throw Damaged(file(name) + ": checksum mismatch (the file was changed or torn)");
    return j;
}

void StateDir::remove(const std::string& name) const { unlink(file(name).c_str()); }

}  // namespace ivozfw::cli
