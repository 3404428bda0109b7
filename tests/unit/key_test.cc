// SPDX-License-Identifier: GPL-2.0-or-later
// ruleset::Key, the element key held inline: it must behave exactly like the Bytes it
// replaced (value, order), for the short keys ivozfw compiles and for the long ones a
// foreign concatenation may bring.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "ruleset/model.h"

using namespace ivozfw::ruleset;

namespace {

Bytes random_bytes(std::mt19937& rng, size_t n) {
    Bytes b(n);
    for (auto& x : b) x = uint8_t(rng() % 4);   // few values: many equal prefixes
    return b;
}

}  // namespace

TEST_CASE("key: inline and heap keys keep their bytes through copy, move and assignment") {
    for (size_t n : {0, 1, 4, 16, 17, 40, 64}) {
        Bytes b(n);
        for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 7 + 1);
        Key k = b;
        CHECK(k.size() == n);
        CHECK(k.bytes() == b);
        Key copy = k;
        CHECK(copy == k);
        CHECK(copy.bytes() == b);
        Key moved = std::move(copy);
        CHECK(moved.bytes() == b);
        CHECK(copy.empty());   // NOLINT: a moved-from key is empty
        Key assigned{1, 2, 3};
        assigned = k;
        CHECK(assigned.bytes() == b);
        assigned = Key(Bytes(20, 9));   // inline -> heap -> by move
        CHECK(assigned.bytes() == Bytes(20, 9));
        assigned = moved;
        CHECK(assigned.bytes() == b);
        Key& self = assigned;
        assigned = self;
        CHECK(assigned.bytes() == b);
    }
    static_assert(sizeof(Key) <= sizeof(Bytes));
}

TEST_CASE("key: equality and order are those of the bytes (std::vector's lexicographic order)") {
    std::mt19937 rng(42);
    std::vector<Bytes> bytes;
    for (int i = 0; i < 400; ++i) bytes.push_back(random_bytes(rng, rng() % 24));
    std::vector<Key> keys(bytes.begin(), bytes.end());
    for (size_t i = 0; i < bytes.size(); ++i)
        for (size_t j = 0; j < bytes.size(); j += 7) {
            CHECK((keys[i] == keys[j]) == (bytes[i] == bytes[j]));
            CHECK((keys[i] < keys[j]) == (bytes[i] < bytes[j]));
        }
    auto sorted_bytes = bytes;
    std::sort(sorted_bytes.begin(), sorted_bytes.end());
    std::sort(keys.begin(), keys.end());
    for (size_t i = 0; i < keys.size(); ++i) CHECK(keys[i].bytes() == sorted_bytes[i]);
}
