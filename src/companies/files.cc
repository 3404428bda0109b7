// SPDX-License-Identifier: GPL-2.0-or-later
// Company sources on disk: a directory of one JSON file per company
// (/etc/ivozfw/companies.d/<id>.json), one JSON document, or standard input.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "companies/companies.h"
#include "input/json_limits.h"
#include "input/quote.h"

namespace ivozfw::companies {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string read_all(std::istream& in, const std::string& origin) {
    bool too_big = false;
    std::string text = input::read_bounded(in, input::kMaxJsonBytes, &too_big);
    if (in.bad()) throw SourceError(origin + ": read error: " + std::strerror(errno));
    if (too_big) throw SourceError(fmt::format("{}: larger than {} MiB", origin, input::kMaxJsonBytes >> 20));
    return text;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SourceError(path + ": " + std::strerror(errno));
    return read_all(in, path);
}

uint64_t read_id(const Json& j, const std::string& where) {
    auto it = j.find("id");
    if (it == j.end()) throw SourceError(where + ": missing \"id\"");
    if (!it->is_number_unsigned()) throw SourceError(where + ".id: must be a non-negative integer");
    return it->get<uint64_t>();
}

bool read_ip_filter(const Json& j, const std::string& where) {
    auto it = j.find("ip_filter");
    if (it == j.end()) return true;
    if (it->is_boolean()) return it->get<bool>();
    if (it->is_number_unsigned() && it->get<uint64_t>() <= 1) return it->get<uint64_t>() == 1;
    throw SourceError(where + ".ip_filter: must be true or false");
}

// One company object. Structural faults fail the source (we cannot tell whose data it is);
// a bad range is only that row.
Company read_company(Loaded& l, const Json& j, const std::string& where) {
    if (!j.is_object()) throw SourceError(where + ": a company must be a JSON object");
    Company c;
    c.id = read_id(j, where);
    if (auto it = j.find("name"); it != j.end()) {
        if (!it->is_string()) throw SourceError(where + ".name: must be a string");
        c.name = input::printable(it->get<std::string>());   // shown in terminals and the journal
    }
    c.ip_filter = read_ip_filter(j, where);
    auto it = j.find("ranges");
    if (it == j.end()) return c;
    if (!it->is_array()) throw SourceError(where + ".ranges: must be an array of strings");
    for (size_t i = 0; i < it->size(); ++i) {
        const Json& r = (*it)[i];
        std::string at = fmt::format("{}.ranges[{}]", where, i);
        if (r.is_string()) add_row(l, c, i + 1, at, r.get_ref<const std::string&>());
        else add_row(l, c, i + 1, at, r.dump());   // reported as not an address
    }
    return c;
}

void insert(Loaded& l, Company c, const std::string& where) {
    uint64_t id = c.id;
    if (!l.companies.emplace(id, std::move(c)).second)
        throw SourceError(fmt::format("{}: company {} is defined more than once", where, id));
}

void read_into(Loaded& l, std::string_view text, const std::string& origin) {
    if (auto e = input::check_json_limits(text))
        throw SourceError(fmt::format("{}:{}:{}: {}", origin, e->line, e->column, e->message));
    Json doc;
    try {
        doc = Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {   // parse_error, or out_of_range for a number like 1e999
        throw SourceError(origin + ": broken JSON: " + input::shorten_parse_error(e.what()));
    }
    const Json* list = &doc;
    std::string base = origin + ": ";
    if (doc.is_object() && doc.contains("companies")) {
        list = &doc["companies"];
        base += "companies";
    }
    if (list->is_object()) return insert(l, read_company(l, *list, base + "$"), origin);
    if (!list->is_array()) throw SourceError(origin + ": expected a company object, an array or {\"companies\": [...]}");
    for (size_t i = 0; i < list->size(); ++i) {
        std::string where = fmt::format("{}[{}]", base, i);
        insert(l, read_company(l, (*list)[i], where), origin);
    }
}

std::vector<fs::path> json_files(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".json" && it->path().filename().string()[0] != '.') out.push_back(it->path());
    if (ec) throw SourceError(dir.string() + ": " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

Loaded parse_document(std::string_view text, const std::string& origin) {
    Loaded l;
    read_into(l, text, origin);
    for (auto& [id, c] : l.companies) c.ranges.normalize();
    l.source = origin;
    return l;
}

Loaded load_stdin() {
    Loaded l;
    read_into(l, read_all(std::cin, "standard input"), "standard input");
    return l;
}

Loaded load_path(const std::string& path) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) throw SourceError(path + ": " + (ec ? ec.message() : "no such file or directory"));
    Loaded l;
    if (!fs::is_directory(st)) {
        read_into(l, read_file(path), path);
        return l;
    }
    for (const auto& f : json_files(path)) read_into(l, read_file(f.string()), f.string());
    return l;
}

}  // namespace ivozfw::companies
