/* glassbox side of bench/tokenizer/encode.sh: load a tokenizer, encode a text file on one
 * thread REPEATS times, print the best time. One line of key=value pairs, like the peer's.
 * Usage: bench_encode TOKENIZER TEXT_FILE REPEATS */
#include <stdio.h>
#include <stdlib.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/sys.h"
#include "glassbox/tokenizer.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bench_encode TOKENIZER TEXT_FILE REPEATS\n");
        return 2;
    }
    int repeats = atoi(argv[3]);
    char *text;
    size_t len;
    gb_tokenizer *t;
    if (gb_read_file(argv[2], 0, &text, &len) != GB_OK) goto fail;
    double t0 = gb_time_now();
    if (gb_tokenizer_load(&t, argv[1]) != GB_OK) goto fail;
    double load_s = gb_time_now() - t0, best = 1e30;
    int64_t n = 0;
    for (int r = 0; r < repeats; r++) {
        gb_ids ids = {0};
        t0 = gb_time_now();
        if (gb_tokenizer_encode(t, text, len, 0, &ids) != GB_OK) goto fail;
        double s = gb_time_now() - t0;
        if (s < best) best = s;
        n = ids.len;
        gb_ids_free(&ids);
    }
    printf("bytes=%zu ids=%lld load_s=%.4f encode_s=%.4f mb_s=%.2f\n", len, (long long)n, load_s, best,
           (double)len / 1e6 / best);
    gb_tokenizer_free(t);
    gb_free(text);
    return 0;
fail:
    fprintf(stderr, "bench_encode: %s\n", gb_last_error());
    return 1;
}
