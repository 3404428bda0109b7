// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "companies/companies.h"
#include "platform/platform.h"

using namespace ivozfw;
using companies::parse_document;

namespace {

net::Range r4(const char* s) { return net::parse_prefix(s, nullptr)->range(); }

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/ivozfw-companies-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

}  // namespace

TEST_CASE("one company object, an array and a companies document all load") {
    auto one = parse_document(R"({"id": 42, "name": "Acme", "ranges": ["203.0.113.0/28", "198.51.100.7"]})", "t");
    REQUIRE(one.companies.size() == 1);
    const auto& c = one.companies.at(42);
    CHECK(c.name == "Acme");
    CHECK(c.raw == std::vector<std::string>{"203.0.113.0/28", "198.51.100.7"});
    CHECK(c.ranges.v4 == net::RangeList{r4("198.51.100.7"), r4("203.0.113.0/28")});

    auto arr = parse_document(R"([{"id": 1, "ranges": []}, {"id": 2, "ranges": ["2001:db8::/48"]}])", "t");
    CHECK(arr.companies.size() == 2);
    CHECK(arr.companies.at(2).ranges.v6.size() == 1);

    auto doc = parse_document(R"({"companies": [{"id": 7, "ip_filter": false, "ranges": ["192.0.2.1"]}]})", "t");
    CHECK_FALSE(doc.companies.at(7).ip_filter);
    CHECK(doc.all().empty());   // ip_filter off: never loaded
}

TEST_CASE("bad rows are skipped with a warning naming company and row; the rest loads") {
    auto l = parse_document(R"({"id": 42, "name": "Acme", "ranges":
        ["10.0.0.1/33", "10.0.0.1/24", "not-an-ip", 17, " 192.0.2.0/24 ", "2001:db8::/129"]})", "f.json");
    const auto& c = l.companies.at(42);
    CHECK(c.raw == std::vector<std::string>{"192.0.2.0/24"});
    REQUIRE(l.warnings.size() == 5);
    CHECK(l.warnings[0] == "company 42 (Acme), row 1 (f.json: $.ranges[0]): \"10.0.0.1/33\": prefix length must be "
                           "0-32; row skipped");
    CHECK_THAT(l.warnings[1], Catch::Contains("row 2") && Catch::Contains("did you mean 10.0.0.0/24?"));
    CHECK_THAT(l.warnings[2], Catch::Contains("row 3") && Catch::Contains("not-an-ip"));
    CHECK_THAT(l.warnings[3], Catch::Contains("row 4"));
    CHECK_THAT(l.warnings[4], Catch::Contains("row 6") && Catch::Contains("0-128"));
}

TEST_CASE("the union keeps a range shared by two companies while either has it") {
    auto both = parse_document(R"([{"id": 1, "ranges": ["203.0.113.0/28", "192.0.2.0/25"]},
                                   {"id": 2, "ranges": ["203.0.113.0/28", "192.0.2.128/25"]}])", "t");
    // Adjacent halves merge; the shared /28 appears once.
    CHECK(both.all().v4 == net::RangeList{r4("192.0.2.0/24"), r4("203.0.113.0/28")});
    auto one_left = parse_document(R"([{"id": 1, "ranges": ["192.0.2.0/25"]},
                                       {"id": 2, "ranges": ["203.0.113.0/28", "192.0.2.128/25"]}])", "t");
    CHECK(one_left.all().v4 == net::RangeList{r4("192.0.2.0/24"), r4("203.0.113.0/28")});
    CHECK(one_left.range_count() == 3);
}

TEST_CASE("a source that cannot be read is a SourceError, never a partial load") {
    using companies::SourceError;
    CHECK_THROWS_AS(parse_document("{\"id\": 1, \"ranges\": [", "t"), SourceError);
    CHECK_THROWS_AS(parse_document(R"({"name": "no id"})", "t"), SourceError);
    CHECK_THROWS_AS(parse_document(R"({"id": -1})", "t"), SourceError);
    CHECK_THROWS_AS(parse_document(R"({"id": 1, "ranges": "192.0.2.1"})", "t"), SourceError);
    CHECK_THROWS_AS(parse_document(R"([{"id": 1}, {"id": 1}])", "t"), SourceError);
    CHECK_THROWS_AS(parse_document("42", "t"), SourceError);
    CHECK_THROWS_AS(companies::load("/nonexistent/companies.d"), SourceError);
    CHECK_THROWS_AS(companies::load(""), SourceError);
}

TEST_CASE("a directory loads every *.json file, and one broken file fails the whole source") {
    TempDir d;
    d.write("1.json", R"({"id": 1, "name": "A", "ranges": ["192.0.2.0/24"]})");
    d.write("2.json", R"({"id": 2, "name": "B", "ranges": ["198.51.100.0/24"]})");
    d.write("notes.txt", "ignored");
    d.write(".3.json", "ignored: hidden (editor temp files)");
    auto l = companies::load(d.path.string());
    CHECK(l.companies.size() == 2);
    CHECK(l.all().v4.size() == 2);
    d.write("3.json", R"({"id": 3, "ranges": [)");
    CHECK_THROWS_WITH(companies::load(d.path.string()), Catch::Contains("3.json") && Catch::Contains("broken JSON"));
}

TEST_CASE("database credentials must be in a private root-owned file") {
    TempDir d;
    d.write("db.cnf", "[client]\nuser = ivozfw\npassword = secret\ndatabase = ivozprovider\n");
    auto f = (d.path / "db.cnf").string();
    std::filesystem::permissions(f, std::filesystem::perms(0644));
    if (geteuid() == 0) CHECK_THROWS_WITH(platform::load_companies("mysql:" + f), Catch::Contains("mode 0644"));
    else CHECK_THROWS_WITH(platform::load_companies("mysql:" + f), Catch::Contains("owned by root"));
    std::filesystem::permissions(f, std::filesystem::perms(0600));
    if (geteuid() == 0) {
        // libmariadb would ignore settings above every [group]: refused, naming the line.
        d.write("db.cnf", "user = x\ndatabase = y\n[client]\npassword = p\n");
        CHECK_THROWS_WITH(platform::load_companies("mysql:" + f), Catch::Contains("db.cnf:1: setting outside any [group]"));
        d.write("db.cnf", "[client]\nuser = x\ndatabase = y\nsocket = " + (d.path / "none.sock").string() +
                              "\nconnect_timeout = 1\n");
        CHECK_THROWS_WITH(platform::load_companies("mysql:" + f), Catch::Contains("cannot connect") && Catch::Contains("none.sock"));
    }
}

TEST_CASE("companies: one row wider than a /8 is skipped; a source exempting more than a /8 in all is refused") {
    TempDir d;
    d.write("1.json", R"({"id": 1, "name": "Wide", "ranges": ["10.0.0.0/7", "192.0.2.0/24"]})");
    auto l = companies::load((d.path / "1.json").string());
    REQUIRE(l.companies.count(1));
    CHECK(l.companies.at(1).raw == std::vector<std::string>{"192.0.2.0/24"});
    REQUIRE(l.warnings.size() == 1);
    CHECK_THAT(l.warnings[0], Catch::Contains("10.0.0.0/7") && Catch::Contains("wider than /8"));
    // three /9 rows: each under the per-row cap, 1.5 times a /8 together
    d.write("2.json", R"({"id": 2, "name": "Many", "ranges": ["10.0.0.0/9", "10.128.0.0/9", "11.0.0.0/9"]})");
    try {
        companies::load(d.path.string());
        FAIL("a source exempting more than a /8 was loaded");
    } catch (const companies::SourceError& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("exempts 25166080 IPv4 addresses in total, more than a /8"));
    }
}

TEST_CASE("companies: a name's control characters never reach a terminal or the journal") {
    TempDir d;
    d.write("1.json", "{\"id\": 1, \"name\": \"Acme\\u001b[2J\\u009b31m\\nFAKE LOG LINE\", \"ranges\": [\"192.0.2.0/24\"]}");
    auto l = companies::load((d.path / "1.json").string());
    const auto& name = l.companies.at(1).name;
    CHECK(name == "Acme?[2J?31m?FAKE LOG LINE");
}
