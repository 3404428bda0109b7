// SPDX-License-Identifier: GPL-2.0-or-later
// The IvozProvider database as a company source (MySQL/Percona/MariaDB via libmariadb):
// kam_users_address rows of the companies whose Companies.ipFilter is set.
#include <fcntl.h>
#include <fmt/format.h>
#include <mysql.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>

#include "companies/companies.h"
#include "input/quote.h"

namespace ivozfw::companies {

namespace {

// LEFT JOIN: a filtering company without rows still shows up (with no ranges).
constexpr const char* kQuery =
    "SELECT c.id, c.name, a.id, a.source_address FROM Companies c "
    "LEFT JOIN kam_users_address a ON a.companyId = c.id WHERE c.ipFilter = 1 ORDER BY c.id, a.id";

struct Credentials {
    std::string host, socket, user, password, database;
    unsigned port = 0, connect_timeout = 5, read_timeout = 10;
    std::string where() const { return socket.empty() ? fmt::format("{}:{}", host.empty() ? "localhost" : host, port ? port : 3306) : socket; }
};

// Credentials may only come from a root-owned file nobody else can read: never argv,
// where any local user sees them in ps.
std::string read_private_file(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw SourceError(path + ": " + std::strerror(errno));
    struct stat st;
    std::string text;
    bool ok = fstat(fd, &st) == 0;
    if (ok && (st.st_uid != 0 || (st.st_mode & 077))) {
        close(fd);
        throw SourceError(fmt::format("{}: database credentials file has owner uid {} and mode {:04o}; it must be "
                                      "owned by root and not readable by group or others (chown root; chmod 600)",
                                      path, st.st_uid, st.st_mode & 07777));
    }
    char buf[4096];
    ssize_t n = 0;
    while (ok && (n = read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
    close(fd);
    if (!ok || n < 0) throw SourceError(path + ": " + std::strerror(errno));
    return text;
}

std::string strip(std::string s) {
    auto b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
    s = b == s.npos ? "" : s.substr(b, e - b + 1);
    if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
    return s;
}

unsigned to_unsigned(const std::string& v, const std::string& at) {
    unsigned out = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || p != v.data() + v.size()) throw SourceError(at + ": " + input::quote_short(v) + " is not a number");
    return out;
}

void set_key(Credentials& c, const std::string& k, const std::string& v, const std::string& at) {
    std::map<std::string, std::string*> text{{"host", &c.host}, {"socket", &c.socket}, {"user", &c.user},
                                             {"password", &c.password}, {"database", &c.database}};
    std::map<std::string, unsigned*> num{{"port", &c.port}, {"connect_timeout", &c.connect_timeout},
                                         {"read_timeout", &c.read_timeout}};
    if (auto it = text.find(k); it != text.end()) *it->second = v;
    else if (auto n = num.find(k); n != num.end()) *n->second = to_unsigned(v, at);
    else throw SourceError(at + ": unknown key " + input::quote_short(k) + " (host, socket, port, user, password, database, "
                           "connect_timeout, read_timeout)");
}

// INI-like: [section] lines and # ; comments ignored, key = value.
Credentials parse_credentials(const std::string& path) {
    Credentials c;
    std::string text = read_private_file(path);
    size_t line_no = 0, pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string line = strip(text.substr(pos, end == text.npos ? text.npos : end - pos));
        pos = end == text.npos ? text.size() : end + 1;
        ++line_no;
        if (line.empty() || line[0] == '#' || line[0] == ';' || line[0] == '[') continue;
        std::string at = fmt::format("{}:{}", path, line_no);
        auto eq = line.find('=');
        if (eq == line.npos) throw SourceError(at + ": expected key = value");
        set_key(c, strip(line.substr(0, eq)), strip(line.substr(eq + 1)), at);
    }
    if (c.user.empty() || c.database.empty()) throw SourceError(path + ": user and database are required");
    return c;
}

using Conn = std::unique_ptr<MYSQL, decltype(&mysql_close)>;

Conn connect(const Credentials& c, const std::string& path) {
    Conn m(mysql_init(nullptr), &mysql_close);
    if (!m) throw SourceError("database: out of memory");
    unsigned write_timeout = c.read_timeout;
    mysql_options(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &c.connect_timeout);
    mysql_options(m.get(), MYSQL_OPT_READ_TIMEOUT, &c.read_timeout);
    mysql_options(m.get(), MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
    mysql_options(m.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    if (!mysql_real_connect(m.get(), opt(c.host), c.user.c_str(), c.password.c_str(), c.database.c_str(), c.port,
                            opt(c.socket), 0))
        throw SourceError(fmt::format("database {} (credentials {}): cannot connect: {}", c.where(), path,
                                      mysql_error(m.get())));
    return m;
}

uint64_t to_id(const char* s) {
    uint64_t v = 0;
    if (s) std::from_chars(s, s + std::strlen(s), v);
    return v;
}

void add_db_row(Loaded& l, MYSQL_ROW row, std::map<uint64_t, size_t>& rows_seen) {
    uint64_t id = to_id(row[0]);
    auto [it, fresh] = l.companies.try_emplace(id);
    Company& c = it->second;
    if (fresh) c.id = id, c.name = row[1] ? row[1] : "";
    if (!row[2]) return;   // company without addresses
    size_t n = ++rows_seen[id];
    std::string where = fmt::format("kam_users_address.id={}", row[2]);
    add_row(l, c, n, where, row[3] ? row[3] : "");
}

}  // namespace

Loaded load_mysql(const std::string& path) {
    Credentials cred = parse_credentials(path);
    Conn m = connect(cred, path);
    auto fail = [&](const char* what) {
        return SourceError(fmt::format("database {}: {}: {}", cred.where(), what, mysql_error(m.get())));
    };
    if (mysql_real_query(m.get(), kQuery, std::strlen(kQuery)) != 0) throw fail("query failed");
    std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> res(mysql_use_result(m.get()), &mysql_free_result);
    if (!res) throw fail("query failed");
    Loaded l;
    std::map<uint64_t, size_t> rows_seen;
    while (MYSQL_ROW row = mysql_fetch_row(res.get())) add_db_row(l, row, rows_seen);
    // mysql_fetch_row also returns NULL when the connection drops mid-result.
    if (mysql_errno(m.get()) != 0) throw fail("reading the result failed");
    return l;
}

}  // namespace ivozfw::companies
