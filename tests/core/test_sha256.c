/* SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <string.h>


#include "glassbox/sha256.h"
#include "test.h"

static void check_hex(const char *msg, size_t len, const char *want) {
    uint8_t d[32];
    char hex[65];
    gb_sha256(msg, len, d);
    gb_sha256_hex(d, hex);
    CHECK_STR(hex, want);
}

TEST(core_sha256_fips_vectors) {
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_hex(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_hex(four, strlen(four), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(core_sha256_million_a_streamed) {
    /* one million 'a', fed in uneven pieces to exercise the partial-block path */
    static char buf[1024]; /* >= the largest step below */
    memset(buf, 'a', sizeof buf);
    gb_sha256_ctx ctx;
    gb_sha256_init(&ctx);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        gb_sha256_update(&ctx, buf, n);
        left -= n;
        step = step % 997 + 7;
    }
    uint8_t d[32];
    char hex[65];
    gb_sha256_final(&ctx, d);
    gb_sha256_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
