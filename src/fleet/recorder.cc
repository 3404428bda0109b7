// SPDX-License-Identifier: GPL-2.0-or-later
#include "fleet/recorder.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "db/mysql.h"

namespace ivozfw::fleet {

namespace {

class BannedAddresses final : public BanRecorder {
public:
    explicit BannedAddresses(std::string file) : file_(std::move(file)) {}

    void record(const std::string& address) override {
        // Our own formatting of an address: nothing here needs quoting, but never trust it.
        if (address.empty() || address.size() > 50 || !std::all_of(address.begin(), address.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '/';
            }))
            throw std::invalid_argument("not an address: " + address);
        try {
            if (!db_) db_.emplace(file_);
            upsert(address);
        } catch (const db::Error&) {
            db_.reset();
            throw;
        }
    }

private:
    void upsert(const std::string& ip) {
        // No unique key on (ip, blocker): a named lock keeps two hosts banning the same
        // address at once from inserting two rows.
        std::string lock = fmt::format("'ivozfw-banned-{}'", ip);
        // GET_LOCK says 1 (ours), 0 (timed out: another host holds it) or NULL (an error):
        // without it two hosts could insert the same row, so only 1 goes on.
        std::string got;
        db_->select("BannedAddresses", fmt::format("SELECT GET_LOCK({}, 5)", lock),
                    [&](char** row) { got = row[0] ? row[0] : "NULL"; });
        if (got != "1")
            throw std::runtime_error(fmt::format("BannedAddresses: the lock {} was not obtained (GET_LOCK said {}): "
                                                 "another host holds it; trying again later",
                                                 lock, got.empty() ? "nothing" : got));
        std::string id;
        db_->select("BannedAddresses",
                    fmt::format("SELECT id FROM BannedAddresses WHERE ip = '{}' AND blocker = 'antiflood' "
                                "ORDER BY id LIMIT 1", ip),
                    [&](char** row) { id = row[0] ? row[0] : ""; });
        if (!id.empty())
            db_->exec(fmt::format("UPDATE BannedAddresses SET lastTimeBanned = NOW() WHERE id = {}", id),
                      "table BannedAddresses");
        else
            db_->exec(fmt::format("INSERT INTO BannedAddresses (brandId, companyId, ip, blocker, lastTimeBanned) "
                                  "VALUES (NULL, NULL, '{}', 'antiflood', NOW())", ip),
                      "table BannedAddresses");
        db_->exec(fmt::format("SELECT RELEASE_LOCK({})", lock), "BannedAddresses lock");
    }

    std::string file_;
    std::optional<db::Mysql> db_;
};

}  // namespace

std::unique_ptr<BanRecorder> open_banned_addresses(const std::string& source) {
    if (!source.starts_with("mysql:")) throw std::invalid_argument(source + ": not mysql:<credentials file>");
    return std::make_unique<BannedAddresses>(source.substr(6));
}

}  // namespace ivozfw::fleet
