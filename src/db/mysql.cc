// SPDX-License-Identifier: GPL-2.0-or-later
#include "db/mysql.h"

#include "io/private_file.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <mysql.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <type_traits>

namespace ivozfw::db {

void check_private_file(const std::string& path) {
    if (auto problem = io::private_file_problem(path, "database credentials")) throw Error(*problem);
}

namespace {

// What ivozfw itself takes from the option file, which libmariadb reads for the connection:
// the server, only to say in messages which one failed (libmariadb forgets it when the
// connection fails), and read_timeout, which libmariadb's option files have no key for. A
// setting above every [group] would be ignored by libmariadb without a word: refused here.
struct FileView {
    std::string where;
    unsigned read_timeout = 10;   // seconds; also the write timeout
};

FileView view_of(const std::string& file) {
    std::ifstream in(file);
    std::string line, host, socket, port;
    FileView v;
    bool in_group = false;
    size_t n = 0;
    auto value = [](const std::string& l, size_t eq) {
        auto v = l.substr(eq + 1);
        v.erase(0, v.find_first_not_of(" \t\"'"));
        v.erase(v.find_last_not_of(" \t\r\"'") + 1);
        return v;
    };
    while (std::getline(in, line)) {
        ++n;
        auto first = line.find_first_not_of(" \t");
        if (first == line.npos || line[first] == '#' || line[first] == ';') continue;
        if (line[first] == '[') in_group = true;
        auto eq = line.find('=');
        if (eq == line.npos) continue;
        if (!in_group)
            throw Error(fmt::format("{}:{}: setting outside any [group]: libmariadb reads [client] and [ivozfw] "
                                    "only; put \"[client]\" above it", file, n));
        std::string key = line.substr(0, eq);
        key.erase(0, key.find_first_not_of(" \t"));
        key.erase(key.find_last_not_of(" \t") + 1);
        std::replace(key.begin(), key.end(), '-', '_');
        if (key == "host") host = value(line, eq);
        else if (key == "socket") socket = value(line, eq);
        else if (key == "port") port = value(line, eq);
        else if (key == "read_timeout") {
            auto t = value(line, eq);
            auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v.read_timeout);
            if (ec != std::errc{} || p != t.data() + t.size() || v.read_timeout == 0)
                throw Error(fmt::format("{}:{}: read_timeout must be a number of seconds", file, n));
        }
    }
    v.where = !socket.empty() && (host.empty() || host == "localhost")
                  ? socket
                  : fmt::format("{}:{}", host.empty() ? "localhost" : host, port.empty() ? "3306" : port);
    return v;
}

// libmariadb brings libssl, libcrypto and libz, and loading them cost every command about
// 3 ms (a ban is 10 ms in all): it is opened at the first connection, by the commands that
// read the database, and by them only.
struct Lib {
    decltype(&::mysql_init) init;
    decltype(&::mysql_options) options;
    decltype(&::mysql_real_connect) real_connect;
    decltype(&::mysql_error) error;
    decltype(&::mysql_errno) errno_;
    decltype(&::mysql_real_query) real_query;
    decltype(&::mysql_store_result) store_result;
    decltype(&::mysql_use_result) use_result;
    decltype(&::mysql_fetch_row) fetch_row;
    decltype(&::mysql_free_result) free_result;
    decltype(&::mysql_close) close;
};

constexpr const char* kSoname = "libmariadb.so.3";

const Lib& lib() {
    static const Lib l = [] {
        void* h = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
        if (!h) throw Error(fmt::format("database: cannot load {} (package libmariadb3): {}", kSoname, dlerror()));
        Lib l{};
        auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
            if (!fn) throw Error(fmt::format("database: {} has no {}", kSoname, name));
        };
        sym(l.init, "mysql_init");
        sym(l.options, "mysql_options");
        sym(l.real_connect, "mysql_real_connect");
        sym(l.error, "mysql_error");
        sym(l.errno_, "mysql_errno");
        sym(l.real_query, "mysql_real_query");
        sym(l.store_result, "mysql_store_result");
        sym(l.use_result, "mysql_use_result");
        sym(l.fetch_row, "mysql_fetch_row");
        sym(l.free_result, "mysql_free_result");
        sym(l.close, "mysql_close");
        return l;
    }();
    return l;
}

}  // namespace

Mysql::Mysql(const std::string& option_file) : m_(nullptr, nullptr), file_(option_file) {
    check_private_file(option_file);
    const Lib& db = lib();
    m_ = std::unique_ptr<MYSQL, void (*)(MYSQL*)>(db.init(nullptr), db.close);
    if (!m_) throw Error("database: out of memory");
    FileView v = view_of(option_file);
    where_ = v.where;
    unsigned connect_timeout = 5, io_timeout = v.read_timeout;
    MYSQL* m = m_.get();
    db.options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    db.options(m, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    db.options(m, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    db.options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    // Only this file: no /etc/mysql/my.cnf or ~/.my.cnf settings leak in.
    db.options(m, MYSQL_READ_DEFAULT_FILE, option_file.c_str());
    db.options(m, MYSQL_READ_DEFAULT_GROUP, "ivozfw");
    if (!db.real_connect(m, nullptr, nullptr, nullptr, nullptr, 0, nullptr, 0))
        throw Error(fmt::format("database {} (credentials {}): cannot connect: {}", where_, file_, db.error(m)));
}

Mysql::~Mysql() = default;

void Mysql::fail(const std::string& about, const char* what) {
    throw Error(fmt::format("database {}: {}{}: {}", where_, about.empty() ? "" : about + ": ", what,
                            lib().error(m_.get())));
}

void Mysql::exec(const std::string& sql, const std::string& about) {
    const Lib& db = lib();
    if (db.real_query(m_.get(), sql.data(), sql.size()) != 0) fail(about, "statement failed");
    if (MYSQL_RES* res = db.store_result(m_.get())) db.free_result(res);
}

void Mysql::select(const std::string& table, const std::string& sql, const std::function<void(char** row)>& row) {
    std::string about = "table " + table;
    const Lib& db = lib();
    if (db.real_query(m_.get(), sql.data(), sql.size()) != 0) fail(about, "query failed");
    std::unique_ptr<MYSQL_RES, decltype(db.free_result)> res(db.use_result(m_.get()), db.free_result);
    if (!res) fail(about, "query failed");
    while (MYSQL_ROW r = db.fetch_row(res.get())) row(r);
    // mysql_fetch_row also returns NULL when the connection drops mid-result.
    if (db.errno_(m_.get()) != 0) fail(about, "reading the result failed");
}

}  // namespace ivozfw::db
