// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer: bytes -> an in-memory file -> geoip::walk (MMDB_open, the tree walk, record
// decoding) and geoip::lookup. geoip::Error is the expected answer to a bad database.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "geoip/mmdb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = memfd_create("fuzz.mmdb", MFD_CLOEXEC);
    if (fd < 0) __builtin_trap();
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) __builtin_trap();
        off += size_t(n);
    }
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        (void)ivozfw::geoip::walk(path, {"US", "CN", "GB"});
    } catch (const ivozfw::geoip::Error&) {
    }
    try {
        std::string err;
        auto a = ivozfw::net::parse_address("81.2.69.160");
        (void)ivozfw::geoip::lookup(path, *a, "country.iso_code");
    } catch (const ivozfw::geoip::Error&) {
    }
    close(fd);
    return 0;
}
