/* libFuzzer harness: arbitrary bytes as a tokenizer file (make fuzz; build/fuzz/fuzz_tokenizer_load).
 *
 * The input is written to <tmpdir>/tok; if it holds a NUL byte, what follows the first NUL
 * goes to <tmpdir>/merges.txt instead, so encoder.json + merges.txt pairs are reachable.
 * A file that loads must encode and decode exactly: a short fixed text and the input
 * itself (specials allowed), or the harness aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glassbox/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], tok_path[96], merges_path[96];

static int put(const char *path, const uint8_t *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = n ? fwrite(p, 1, n, fp) : 0;
    return fclose(fp) == 0 && w == n ? 0 : -1;
}

static void roundtrip(const gb_tokenizer *t, const void *text, size_t len) {
    gb_ids ids = {0};
    gb_bytes out = {0};
    if (gb_tokenizer_encode(t, text, len, 1, &ids) != GB_OK) abort();
    if (gb_tokenizer_decode(t, ids.data, ids.len, &out) != GB_OK) abort();
    if (out.len != len || (len && memcmp(out.data, text, len) != 0)) abort();
    gb_ids_free(&ids);
    gb_bytes_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        strcpy(dir, "/tmp/fuzz-tokenizer.XXXXXX");
        if (!mkdtemp(dir)) abort();
        snprintf(tok_path, sizeof tok_path, "%s/tok", dir);
        snprintf(merges_path, sizeof merges_path, "%s/merges.txt", dir);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t main_len = nul ? (size_t)(nul - data) : size;
    unlink(merges_path);
    if (put(tok_path, data, main_len) != 0) return 0;
    if (nul && put(merges_path, nul + 1, size - main_len - 1) != 0) return 0;
    gb_tokenizer *t = NULL;
    if (gb_tokenizer_load(&t, tok_path) == GB_OK) {
        static const char text[] = "Hello, world! It's 2024 \xf0\x9f\x98\x80 caf\xc3\xa9\r\n\n  <|endoftext|>\xff";
        roundtrip(t, text, sizeof text - 1);
        roundtrip(t, data, size < 4096 ? size : 4096);
        uint8_t digest[32];
        gb_tokenizer_digest(t, digest);
        gb_tokenizer_free(t);
    }
    return 0;
}
