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
#   db_restart                        # start again after db_stop, same data
#
# Row helpers (an argument NULL is written as SQL NULL, anything else as a quoted string):
#   db_company ID NAME [IPFILTER [TYPE]]          Companies (IPFILTER 1, 0 or NULL)
#   db_address COMPANY SOURCE [ID]                kam_users_address, ip_addr NULL
#   db_address_split COMPANY SOURCE IPADDR MASK [ID]   kam_users_address with ip_addr/mask
#   db_trusted ID COMPANY IP                      kam_trusted (wholesale client address)
#   db_appserver ID IP NAME                       ApplicationServers
#   db_proxy users|trunks ID IP [NAME]            ProxyUsers / ProxyTrunks
#   db_carrier ID IP [MASK]                       kam_trunks_address (grp 1)
#   db_carrier_server ID IP HOSTNAME              CarrierServers (carrier 1), as IvozProvider writes it
#   db_bulk_companies FIRST N PER BASE            N companies x PER /30 ranges (one statement each)
#   db_bulk_appservers FIRST N BASE, db_bulk_carriers FIRST N BASE   N single addresses

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

# The tables ivozfw reads, with IvozProvider's column definitions (schema dump and Doctrine
# migrations of irontec/ivozprovider). Foreign keys to tables the test does not create
# (Brands, Domains, DDIProviderAddresses...) are left out; those to Companies are kept.
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
CREATE TABLE `kam_trusted` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `src_ip` varchar(50) DEFAULT NULL,
  `proto` varchar(4) DEFAULT NULL,
  `from_pattern` varchar(64) DEFAULT NULL,
  `ruri_pattern` varchar(64) DEFAULT NULL,
  `tag` varchar(64) DEFAULT NULL,
  `description` varchar(200) DEFAULT NULL,
  `priority` int(11) NOT NULL DEFAULT 0,
  `companyId` int(10) unsigned NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `src_ip` (`src_ip`),
  KEY `trusted_companyId` (`companyId`),
  CONSTRAINT `FK_10A58A572480E723` FOREIGN KEY (`companyId`) REFERENCES `Companies` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE `ApplicationServers` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `ip` varchar(50) NOT NULL,
  `name` varchar(64) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `applicationServer_ip` (`ip`),
  UNIQUE KEY `name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE `ProxyUsers` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(100) DEFAULT NULL,
  `ip` varchar(50) DEFAULT NULL,
  `advertisedIp` varchar(50) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ip` (`ip`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE `ProxyTrunks` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(100) DEFAULT NULL,
  `ip` varchar(50) NOT NULL,
  `advertisedIp` varchar(50) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ip` (`ip`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE `kam_trunks_address` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `grp` int(10) unsigned NOT NULL DEFAULT 1,
  `ip_addr` varchar(50) DEFAULT NULL,
  `mask` int(11) NOT NULL DEFAULT 32,
  `port` int(5) NOT NULL DEFAULT 0,
  `tag` varchar(64) DEFAULT NULL,
  `ddiProviderAddressId` int(10) unsigned NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `UNIQ_873EF06250736B8` (`ddiProviderAddressId`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE `CarrierServers` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `ip` varchar(50) DEFAULT NULL,
  `hostname` varchar(64) DEFAULT NULL,
  `port` smallint(5) unsigned DEFAULT NULL,
  `uriScheme` smallint(5) unsigned DEFAULT NULL,
  `transport` smallint(5) unsigned DEFAULT NULL,
  `sendPAI` tinyint(1) unsigned DEFAULT 0,
  `sendRPID` tinyint(1) unsigned DEFAULT 0,
  `authNeeded` varchar(255) NOT NULL DEFAULT "no",
  `authUser` varchar(64) DEFAULT NULL,
  `authPassword` varchar(64) DEFAULT NULL,
  `sipProxy` varchar(128) DEFAULT NULL,
  `outboundProxy` varchar(128) DEFAULT NULL,
  `fromUser` varchar(64) DEFAULT NULL,
  `fromDomain` varchar(190) DEFAULT NULL,
  `carrierId` int(10) unsigned DEFAULT NULL,
  `brandId` int(10) unsigned DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE USER ivozfw@localhost IDENTIFIED BY "ivozfw-test-pw";
GRANT SELECT ON ivozprovider.* TO ivozfw@localhost;
'

db_start() {
    mkdir -p "$DB_DIR/data" "$DB_DIR/tmp" || fail "mkdir $DB_DIR"
    mariadb-install-db --no-defaults --datadir="$DB_DIR/data" --user=root --auth-root-authentication-method=socket \
        --skip-test-db >"$DB_DIR/install.log" 2>&1 || fail "mariadb-install-db: $(tail -5 "$DB_DIR/install.log")"
    _db_run
    mariadb --no-defaults -S "$DB_SOCK" -u root -e "CREATE DATABASE ivozprovider" || fail "CREATE DATABASE"
    db_sql "$_DB_SCHEMA"
}

# db_restart : start the server again after db_stop, on the same data.
db_restart() { _db_run; }

_db_run() {
    # --tmpdir: its on-disk temporary tables (big ORDER BY results) stay out of the shared /tmp.
    mariadbd --no-defaults --datadir="$DB_DIR/data" --tmpdir="$DB_DIR/tmp" --user=root --skip-networking --socket="$DB_SOCK" \
        --pid-file="$DB_DIR/mariadbd.pid" --log-error="$DB_DIR/error.log" --innodb-buffer-pool-size=32M \
        --skip-log-bin >/dev/null 2>&1 &
    DB_PID=$!
    wait_until 60 mariadb --no-defaults -S "$DB_SOCK" -u root -e "SELECT 1" ||
        fail "mariadbd did not start: $(tail -5 "$DB_DIR/error.log")"
}

# _q VALUE : VALUE as an SQL literal: NULL stays NULL, anything else quoted (' doubled).
_q() {
    if [ "$1" = NULL ]; then printf 'NULL'; else printf "'%s'" "${1//\'/\'\'}"; fi
}

# db_company ID NAME [IPFILTER [TYPE]] : a company row with the NOT NULL columns filled.
# IPFILTER 1 (default), 0 or NULL; TYPE vpbx (default), retail, wholesale or residential.
db_company() {
    db_sql "INSERT INTO Companies (id, brandId, type, name, nif, postalAddress, postalCode, town, province, country, ipFilter)
            VALUES ($1, 1, $(_q "${4:-vpbx}"), $(_q "$2"), 'B0000000', 'street', '00000', 'town', 'province', 'country', ${3:-1})"
}

# db_address COMPANY ADDRESS [ID] : one kam_users_address row, ip_addr NULL.
db_address() {
    db_sql "INSERT INTO kam_users_address (${3:+id, }companyId, source_address) VALUES (${3:+$3, }$1, $(_q "$2"))"
}

# db_address_split COMPANY SOURCE IPADDR MASK [ID] : a kam_users_address row as IvozProvider
# writes it for Kamailio, ip_addr + mask next to source_address; IPADDR may be NULL.
db_address_split() {
    db_sql "INSERT INTO kam_users_address (${5:+id, }companyId, source_address, ip_addr, mask)
            VALUES (${5:+$5, }$1, $(_q "$2"), $(_q "$3"), $4)"
}

# db_trusted ID COMPANY IP : a kam_trusted row (a wholesale client's address).
db_trusted() {
    db_sql "INSERT INTO kam_trusted (id, companyId, src_ip, description) VALUES ($1, $2, $(_q "$3"), 'test')"
}

# db_appserver ID IP NAME : an ApplicationServers row.
db_appserver() {
    db_sql "INSERT INTO ApplicationServers (id, ip, name) VALUES ($1, $(_q "$2"), $(_q "$3"))"
}

# db_proxy users|trunks ID IP [NAME] : a ProxyUsers or ProxyTrunks row.
db_proxy() {
    local table
    case $1 in
    users) table=ProxyUsers ;;
    trunks) table=ProxyTrunks ;;
    *) fail "db_proxy: users or trunks, not $1" ;;
    esac
    db_sql "INSERT INTO $table (id, name, ip) VALUES ($2, $(_q "${4:-proxy$1$2}"), $(_q "$3"))"
}

# db_carrier ID IP [MASK] : a kam_trunks_address row (a carrier address, grp 1); its
# ddiProviderAddressId (unique, NOT NULL) is the row id.
db_carrier() {
    db_sql "INSERT INTO kam_trunks_address (id, grp, ip_addr, mask, ddiProviderAddressId)
            VALUES ($1, 1, $(_q "$2"), ${3:-32}, $1)"
}

# db_carrier_server ID IP HOSTNAME : a CarrierServers row (an outbound carrier's server,
# carrier 1) as IvozProvider writes it: sipProxy HOSTNAME, hostname its host part; with an
# outbound proxy IP:5060, ip its address (NULL: none).
db_carrier_server() {
    local ob=NULL
    [ "$2" = NULL ] || ob=$(_q "$2:5060")
    db_sql "INSERT INTO CarrierServers (id, ip, hostname, sipProxy, outboundProxy, carrierId, brandId)
            VALUES ($1, $(_q "$2"), $(_q "$3"), $(_q "$3"), $ob, 1, 1)"
}

# db_bulk_companies FIRST N PER BASE : companies FIRST..FIRST+N-1 (named bulkID), each with
# PER non-adjacent /30 ranges (nothing merges): company i, range k (0-based) is
# BASE + 8 * (PER * (i - FIRST) + k), BASE an IPv4 address; ip_addr/mask filled as
# IvozProvider does. One statement per table over MariaDB's sequence engine.
db_bulk_companies() {
    local first=$1 last=$(($1 + $2 - 1)) per=$3 base=$4
    db_sql "INSERT INTO Companies (id, brandId, name, nif, postalAddress, postalCode, town, province, country, ipFilter)
            SELECT seq, 1, CONCAT('bulk', seq), 'B', 's', '0', 't', 'p', 'c', 1 FROM seq_${first}_to_${last}"
    db_sql "INSERT INTO kam_users_address (companyId, source_address, ip_addr, mask)
            SELECT c.seq, CONCAT(INET_NTOA(INET_ATON('$base') + 8 * ($per * (c.seq - $first) + k.seq)), '/30'),
                   INET_NTOA(INET_ATON('$base') + 8 * ($per * (c.seq - $first) + k.seq)), 30
            FROM seq_${first}_to_${last} c JOIN seq_0_to_$((per - 1)) k ORDER BY c.seq, k.seq"
}

# db_bulk_appservers FIRST N BASE, db_bulk_carriers FIRST N BASE : rows FIRST..FIRST+N-1
# holding the single addresses BASE + 2 * (id - FIRST) (non-adjacent: nothing merges).
db_bulk_appservers() {
    db_sql "INSERT INTO ApplicationServers (id, ip, name)
            SELECT seq, INET_NTOA(INET_ATON('$3') + 2 * (seq - $1)), CONCAT('as', seq) FROM seq_${1}_to_$(($1 + $2 - 1))"
}
db_bulk_carriers() {
    db_sql "INSERT INTO kam_trunks_address (id, grp, ip_addr, mask, ddiProviderAddressId)
            SELECT seq, 1, INET_NTOA(INET_ATON('$3') + 2 * (seq - $1)), 32, seq FROM seq_${1}_to_$(($1 + $2 - 1))"
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

# db_banned_table : IvozProvider's BannedAddresses (migration Version20200305163752 plus the
# later `aor` column; no unique key, FK to Brands left out), and the ivozfw user may read,
# insert and update it (what `ivozfw bansync` needs for its upsert; no DELETE).
db_banned_table() {
    db_sql "CREATE TABLE \`BannedAddresses\` (
  \`id\` int(10) unsigned NOT NULL AUTO_INCREMENT,
  \`brandId\` int(10) unsigned DEFAULT NULL,
  \`companyId\` int(10) unsigned DEFAULT NULL,
  \`ip\` varchar(50) DEFAULT NULL,
  \`blocker\` varchar(50) DEFAULT NULL COMMENT '[enum:antiflood|ipfilter|antibruteforce]',
  \`aor\` varchar(300) DEFAULT NULL,
  \`description\` varchar(100) DEFAULT NULL,
  \`lastTimeBanned\` datetime DEFAULT NULL COMMENT '(DC2Type:datetime)',
  PRIMARY KEY (\`id\`),
  KEY \`IDX_63B7B3C79CBEC244\` (\`brandId\`),
  KEY \`IDX_63B7B3C72480E723\` (\`companyId\`),
  KEY \`bannedAddress_lastTimeBanned\` (\`lastTimeBanned\`),
  KEY \`bannedAddress_ip_blocker\` (\`ip\`,\`blocker\`),
  CONSTRAINT \`FK_63B7B3C72480E723\` FOREIGN KEY (\`companyId\`) REFERENCES \`Companies\` (\`id\`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_unicode_ci;
GRANT SELECT, INSERT, UPDATE ON ivozprovider.BannedAddresses TO ivozfw@localhost;"
}

# db_banned IP BLOCKER [LASTTIME [AOR [DESCRIPTION]]] : a BannedAddresses row as a proxy
# writes it (brand and company NULL); LASTTIME an SQL expression (default NOW()).
db_banned() {
    db_sql "INSERT INTO BannedAddresses (ip, blocker, lastTimeBanned, aor, description)
            VALUES ($(_q "$1"), $(_q "$2"), ${3:-NOW()}, $(_q "${4:-NULL}"), $(_q "${5:-NULL}"))"
}
