// SPDX-License-Identifier: GPL-2.0-or-later
// Every input that once crashed or hung a reader (tests/fuzz/regressions/<target>/, replayed
// by tests/fuzz/run.sh under the sanitizers too) gets a reader's own error, or loads.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "companies/companies.h"
#include "fake_kernel.h"
#include "nft/reconcile.h"
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
    // Each loads, or is refused by its reader with a diagnostic naming the input; any other
    // exception escapes outcome() and fails the test.
    size_t replayed = 0;
    for (const auto& f : inputs("policy")) {
        INFO(f);
        std::string text = slurp(f);
        auto o = outcome<policy::LoadError>([&] { ruleset::compile(policy::load_text(text, "p.json")); });
        CHECK((o == "ok" || o.starts_with("p.json")));
        ++replayed;
    }
    for (const auto& f : inputs("companies")) {
        INFO(f);
        std::string text = slurp(f);
        auto o = outcome<companies::SourceError>([&] { companies::parse_document(text, "c.json"); });
        CHECK((o == "ok" || o.find("c.json") != std::string::npos));
        ++replayed;
    }
    for (const auto& f : inputs("mmdb")) {
        INFO(f);
        auto o = outcome<geoip::Error>([&] { geoip::walk(f.string(), {"US", "CN"}); });
        CHECK((o == "ok" || o.find(f.filename().string()) != std::string::npos));
        ++replayed;
    }
    CHECK(replayed >= 4);
}

TEST_CASE("every policy the fuzzers keep, and every shipped one, converges: a second apply has nothing to do") {
    std::vector<fs::path> files;
    for (const char* dir : {"tests/fuzz/corpus/policy", "tests/fuzz/regressions/policy", "rules", "rules/examples"})
        for (const auto& f : fs::directory_iterator(fs::path(IVOZFW_SOURCE_DIR) / dir))
            if (f.is_regular_file() && f.path().extension() == ".json" && f.path().filename() != "policy.schema.json")
                files.push_back(f.path());
    size_t converged = 0;
    for (const auto& f : files) {
        INFO(f);
        std::optional<policy::Policy> p;
        try {
            p = policy::load_text(slurp(f), "p.json");
        } catch (const policy::LoadError&) {
            continue;
        }
        auto t = ruleset::compile(*p);
        nft::annotate(t);
        test::FakeKernel k;
        nft::ReconcileOptions opt;   // no cache, no lock: the plan and the kernel's rules only
        REQUIRE(nft::reconcile(k, t, opt).committed);
        opt.dry_run = true;
        CHECK(nft::reconcile(k, t, opt).plan.empty());
        ++converged;
    }
    CHECK(converged >= 6);   // the corpus and the shipped policies load
}

TEST_CASE("a search tree whose nodes share their children is refused at once, not walked 2^31 times") {
    // MaxMind-DB-test-ipv4-24 with nodes 0-29 both pointing at the next node.
    auto f = kRegressions / "mmdb/shared-children.mmdb";
    CHECK_THAT(outcome<geoip::Error>([&] { geoip::walk(f.string(), {"US"}); }),
               Catch::Matchers::Contains("corrupt search tree: node") && Catch::Matchers::EndsWith("is reached twice"));
}
