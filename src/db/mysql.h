// SPDX-License-Identifier: GPL-2.0-or-later
// The IvozProvider database (MySQL/Percona/MariaDB) through libmariadb: one connection whose
// settings come from an option file libmariadb reads itself ([client] and [ivozfw] groups:
// host or socket, port, user, password, database, ssl-*...). The file holds a password, so
// it must be owned by root and unreadable by others: never argv, where ps shows it.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

typedef struct st_mysql MYSQL;

namespace ivozfw::db {

/// Could not connect, or a statement failed. The message names the server and, for a
/// statement, the table it was about.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Mysql {
public:
    /// Connects (timeouts 5 s connect, 10 s read/write unless the file says otherwise).
    explicit Mysql(const std::string& option_file);
    ~Mysql();
    Mysql(const Mysql&) = delete;
    Mysql& operator=(const Mysql&) = delete;

    /// "socket /run/mysqld/mysqld.sock" or "host:port", for messages.
    const std::string& where() const { return where_; }

    /// Run a statement that returns no rows.
    void exec(const std::string& sql, const std::string& about = "");
    /// Run a SELECT and stream its rows to `row` (a column is nullptr when NULL).
    /// `table` names what was read in errors ("table ApplicationServers: ...").
    void select(const std::string& table, const std::string& sql, const std::function<void(char** row)>& row);

private:
    [[noreturn]] void fail(const std::string& about, const char* what);
    std::unique_ptr<MYSQL, void (*)(MYSQL*)> m_;
    std::string file_, where_;
};

/// Refuse an option file that is not root's alone (owner root, no group/other bits).
void check_private_file(const std::string& path);

}  // namespace ivozfw::db
