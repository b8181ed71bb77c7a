/* libFuzzer harness: arbitrary bytes as a token shard file (make fuzz; build/fuzz/fuzz_shard). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "glassbox/shard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/fuzz-shard.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    gb_shard s;
    if (gb_shard_open(&s, path) == GB_OK) {
        uint64_t sum = 0;
        for (int64_t i = 0; i < s.n_tokens; i++) sum += gb_shard_token(&s, i);
        if (s.n_tokens > 0 && sum == UINT64_MAX) fprintf(stderr, "impossible\n");
        gb_shard_close(&s);
    }
    unlink(path);
    return 0;
}
