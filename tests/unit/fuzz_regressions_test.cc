// SPDX-License-Identifier: GPL-2.0-or-later
// Every input that once crashed or hung a reader (tests/fuzz/regressions/<target>/, replayed
// by tests/fuzz/run.sh under the sanitizers too) gets a reader's own error, or loads.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "companies/companies.h"
#include "geoip/mmdb.h"
#include "policy/policy.h"
#include "ruleset/compile.h"

using namespace ivozfw;
namespace fs = std::filesystem;

namespace {

const fs::path kRegressions = fs::path(IVOZFW_SOURCE_DIR) / "tests/fuzz/regressions";

std::vector<fs::path> inputs(const char* target) {
    std::vector<fs::path> out;
    if (fs::exists(kRegressions / target))
        for (const auto& f : fs::directory_iterator(kRegressions / target)) out.push_back(f.path());
    return out;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// "ok", or the reader's error; any other exception escapes and fails the test.
template <class Error, class F>
std::string outcome(F f) {
    try {
        f();
        return "ok";
    } catch (const Error& e) {
        return e.what();
    }
}

}  // namespace

TEST_CASE("inputs the fuzzers found are answered with the reader's error") {
    size_t replayed = 0;
    for (const auto& f : inputs("policy")) {
        INFO(f);
        std::string text = slurp(f);
        CHECK_FALSE(outcome<policy::LoadError>([&] { ruleset::compile(policy::load_text(text, "p.json")); }).empty());
        ++replayed;
    }
    for (const auto& f : inputs("companies")) {
        INFO(f);
        std::string text = slurp(f);
        CHECK_FALSE(outcome<companies::SourceError>([&] { companies::parse_document(text, "c.json"); }).empty());
        ++replayed;
    }
    for (const auto& f : inputs("mmdb")) {
        INFO(f);
        CHECK_FALSE(outcome<geoip::Error>([&] { geoip::walk(f.string(), {"US", "CN"}); }).empty());
        ++replayed;
    }
    CHECK(replayed > 0);
}

TEST_CASE("a search tree whose nodes share their children is refused at once, not walked 2^31 times") {
    // MaxMind-DB-test-ipv4-24 with nodes 0-29 both pointing at the next node.
    auto f = kRegressions / "mmdb/shared-children.mmdb";
    CHECK_THAT(outcome<geoip::Error>([&] { geoip::walk(f.string(), {"US"}); }),
               Catch::Matchers::Contains("corrupt search tree: node") && Catch::Matchers::EndsWith("is reached twice"));
}
