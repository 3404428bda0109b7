// SPDX-License-Identifier: GPL-2.0-or-later
// io::write_atomic: never through a planted link, never a torn or shared temp file.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "io/atomic_file.h"

using namespace ivozfw;
namespace fs = std::filesystem;

namespace {
struct Dir {
    std::string path;
    Dir() {
        char t[] = "/tmp/ivozfw-atomic.XXXXXX";
        path = mkdtemp(t);
    }
    ~Dir() { fs::remove_all(path); }
};
}  // namespace

TEST_CASE("write_atomic: a symlink at the path is replaced, its target never written") {
    Dir d;
    std::string victim = d.path + "/victim", out = d.path + "/status.prom";
    io::write_atomic(victim, "precious\n");
    fs::create_symlink(victim, out);   // planted by another account where `status -o` writes
    io::write_atomic(out, "metrics\n");
    CHECK(io::read_file(victim, 1 << 20) == "precious\n");
    CHECK_FALSE(fs::is_symlink(out));
    CHECK(io::read_file(out, 1 << 20) == "metrics\n");
    // Symlinks planted at every name the old code used (PATH.tmp, PATH.tmp.PID): not followed.
    fs::create_symlink(victim, out + ".tmp");
    fs::create_symlink(victim, out + ".tmp." + std::to_string(getpid()));
    io::write_atomic(out, "again\n");
    CHECK(io::read_file(victim, 1 << 20) == "precious\n");
    CHECK(io::read_file(out, 1 << 20) == "again\n");
}

TEST_CASE("write_atomic: threads of one process writing one file never share a temp file") {
    Dir d;
    std::string f = d.path + "/watch.json";
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t)
        ts.emplace_back([&, t] {
            std::string body(4096 + t, char('a' + t));
            for (int i = 0; i < 100; ++i) io::write_atomic(f, body);
        });
    for (auto& t : ts) t.join();
    std::string got = io::read_file(f, 1 << 20);
    REQUIRE(got.size() >= 4096);
    CHECK(got == std::string(got.size(), got[0]));   // one writer's whole content
    size_t left = 0;
    for (const auto& e : fs::directory_iterator(d.path)) left += e.path().filename() != "watch.json";
    CHECK(left == 0);   // no temp file left behind
}
