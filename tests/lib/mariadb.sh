# SPDX-License-Identifier: GPL-2.0-or-later
# A private MariaDB server for the company-source tests: its own datadir under $T, a unix
# socket only (--skip-networking: nothing listens on any network), no system service and no
# /etc/mysql configuration involved. Source after lib.sh:
#
#   . "$LIB_DIR/mariadb.sh"
#   db_start                          # install + start, IvozProvider tables created
#   db_sql "INSERT INTO ..."          # as the server's root, database ivozprovider
#   db_creds "$T/db.cnf"              # credentials file for ivozfw (mode 600, read-only user)
#   db_pause / db_resume / db_stop    # freeze, thaw, stop (stopped again on exit anyway)

DB_DIR="$T/mariadb"
DB_SOCK="$DB_DIR/mysql.sock"
DB_PID=

for tool in mariadbd mariadb-install-db mariadb; do
    command -v "$tool" >/dev/null || _die_early "missing $tool (apt-get install mariadb-server)"
done

db_stop() {
    [ -n "$DB_PID" ] || return 0
    kill -CONT "$DB_PID" 2>/dev/null
    kill "$DB_PID" 2>/dev/null
    local i
    for i in $(seq 100); do kill -0 "$DB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DB_PID" 2>/dev/null
    DB_PID=
}
db_pause() { kill -STOP "$DB_PID"; }
db_resume() { kill -CONT "$DB_PID"; }

# The database must be down before lib.sh removes $T.
trap 'rc=$?; db_stop; (exit $rc); _cleanup' EXIT

db_sql() {
    mariadb --no-defaults -S "$DB_SOCK" -u root -N -B ivozprovider -e "$1" || fail "SQL failed: $1"
}

# Companies and kam_users_address with IvozProvider's column definitions (schema dump of
# irontec/ivozprovider). Foreign keys to tables the test does not create (Brands,
# Domains...) are left out; the one between the two tables is kept.
_DB_SCHEMA='
CREATE TABLE `Companies` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `brandId` int(10) unsigned NOT NULL,
  `type` varchar(25) NOT NULL DEFAULT '"'vpbx'"',
  `name` varchar(80) NOT NULL,
  `domainId` int(10) unsigned DEFAULT NULL,
  `domain_users` varchar(190) DEFAULT NULL,
  `nif` varchar(25) NOT NULL,
  `defaultTimezoneId` int(10) unsigned DEFAULT NULL,
  `distributeMethod` varchar(25) NOT NULL DEFAULT '"'hash'"',
  `applicationServerId` int(10) unsigned DEFAULT NULL,
  `maxCalls` int(10) unsigned NOT NULL DEFAULT '"'0'"',
  `postalAddress` varchar(255) NOT NULL,
  `postalCode` varchar(10) NOT NULL,
  `town` varchar(255) NOT NULL,
  `province` varchar(255) NOT NULL,
  `country` varchar(255) NOT NULL,
  `countryId` int(10) unsigned DEFAULT NULL,
  `languageId` int(10) unsigned DEFAULT NULL,
  `mediaRelaySetsId` int(10) unsigned DEFAULT NULL,
  `ipFilter` tinyint(1) DEFAULT '"'1'"',
  `onDemandRecord` smallint(6) DEFAULT '"'0'"',
  `onDemandRecordCode` varchar(3) DEFAULT NULL,
  `externallyExtraOpts` text,
  PRIMARY KEY (`id`),
  UNIQUE KEY `company_name_brand` (`name`,`brandId`),
  UNIQUE KEY `domain_unique` (`domain_users`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE `kam_users_address` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `companyId` int(10) unsigned NOT NULL,
  `source_address` VARCHAR(100) NOT NULL,
  `ip_addr` VARCHAR(50),
  `mask` int(10) DEFAULT 32 NOT NULL,
  `port` int(5) DEFAULT 0 NOT NULL,
  `tag` VARCHAR(64) DEFAULT NULL,
  `description` VARCHAR(200) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `companyId` (`companyId`),
  UNIQUE KEY `address4company` (`companyId`,`source_address`),
  CONSTRAINT `kam_users_address_ibfk_1` FOREIGN KEY (`companyId`) REFERENCES `Companies` (`id`)
    ON UPDATE CASCADE ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE USER ivozfw@localhost IDENTIFIED BY "ivozfw-test-pw";
GRANT SELECT ON ivozprovider.* TO ivozfw@localhost;
'

db_start() {
    mkdir -p "$DB_DIR/data" || fail "mkdir $DB_DIR"
    mariadb-install-db --no-defaults --datadir="$DB_DIR/data" --user=root --auth-root-authentication-method=socket \
        --skip-test-db >"$DB_DIR/install.log" 2>&1 || fail "mariadb-install-db: $(tail -5 "$DB_DIR/install.log")"
    mariadbd --no-defaults --datadir="$DB_DIR/data" --user=root --skip-networking --socket="$DB_SOCK" \
        --pid-file="$DB_DIR/mariadbd.pid" --log-error="$DB_DIR/error.log" --innodb-buffer-pool-size=32M \
        --skip-log-bin >/dev/null 2>&1 &
    DB_PID=$!
    wait_until 60 mariadb --no-defaults -S "$DB_SOCK" -u root -e "SELECT 1" ||
        fail "mariadbd did not start: $(tail -5 "$DB_DIR/error.log")"
    mariadb --no-defaults -S "$DB_SOCK" -u root -e "CREATE DATABASE ivozprovider" || fail "CREATE DATABASE"
    db_sql "$_DB_SCHEMA"
}

# db_company ID NAME [IPFILTER] : a company row with the NOT NULL columns filled.
db_company() {
    db_sql "INSERT INTO Companies (id, brandId, name, nif, postalAddress, postalCode, town, province, country, ipFilter)
            VALUES ($1, 1, '$2', 'B0000000', 'street', '00000', 'town', 'province', 'country', ${3:-1})"
}

# db_address COMPANY ADDRESS [ID] : one kam_users_address row.
db_address() {
    db_sql "INSERT INTO kam_users_address (${3:+id, }companyId, source_address) VALUES (${3:+$3, }$1, '$2')"
}

# db_creds FILE [extra lines] : ivozfw's credentials file, owned by root, mode 600.
db_creds() {
    {
        printf '[client]\nsocket = %s\nuser = ivozfw\npassword = ivozfw-test-pw\ndatabase = ivozprovider\n' "$DB_SOCK"
        printf 'connect_timeout = 2\nread_timeout = 2\n'
        [ $# -gt 1 ] && printf '%s\n' "${@:2}"
    } >"$1"
    chown root "$1" && chmod 600 "$1"
}
