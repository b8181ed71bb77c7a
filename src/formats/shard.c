/* glassbox — token shard reader and writer (layout in include/glassbox/shard.h). */
#include "glassbox/shard.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glassbox/fileio.h"

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

gb_status gb_shard_write(const char *path, const uint32_t *ids, int64_t n, int64_t vocab_size,
                         const uint8_t tokenizer_digest[32]) {
    if (n < 0 || vocab_size <= 0 || vocab_size > (int64_t)UINT32_MAX + 1)
        return gb_errorf(GB_ERR_ARG, "%s: bad token count or vocabulary size", path);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] >= (uint64_t)vocab_size)
            return gb_errorf(GB_ERR_ARG, "%s: token %lld has id %u, outside the vocabulary of %lld", path,
                             (long long)i, ids[i], (long long)vocab_size);
    uint32_t width = vocab_size <= 65536 ? 2 : 4;
    uint8_t header[GB_SHARD_HEADER_BYTES] = {0};
    memcpy(header, GB_SHARD_MAGIC, 8);
    put_u32(header + 8, GB_SHARD_VERSION);
    put_u32(header + 12, width);
    put_u64(header + 16, (uint64_t)n);
    put_u64(header + 24, (uint64_t)vocab_size);
    memcpy(header + 32, tokenizer_digest, 32);

    gb_atomic_file f;
    gb_status rc = gb_atomic_open(&f, path);
    if (rc) return rc;
    fwrite(header, 1, sizeof header, f.fp);
    uint8_t buf[4096] = {0};
    size_t fill = 0;
    for (int64_t i = 0; i < n; i++) {
        for (uint32_t b = 0; b < width; b++) buf[fill++] = (uint8_t)(ids[i] >> (8 * b));
        if (fill == sizeof buf) fwrite(buf, 1, fill, f.fp), fill = 0;
    }
    fwrite(buf, 1, fill, f.fp);
    return gb_atomic_commit(&f); /* reports any write error seen by the stream */
}

gb_status gb_shard_open(gb_shard *s, const char *path) {
    memset(s, 0, sizeof *s);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno));
    gb_status rc = GB_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) { rc = gb_errorf(GB_ERR_IO, "%s: %s", path, strerror(errno)); goto done; }
    if (!S_ISREG(st.st_mode)) { rc = gb_errorf(GB_ERR_FORMAT, "%s: not a regular file", path); goto done; }
    if ((uint64_t)st.st_size < GB_SHARD_HEADER_BYTES) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: too short for a token shard header (%lld bytes)", path,
                       (long long)st.st_size);
        goto done;
    }
    s->map_len = (size_t)st.st_size;
    s->map = mmap(NULL, s->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        rc = gb_errorf(GB_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        goto done;
    }
    const uint8_t *h = s->map;
    if (memcmp(h, GB_SHARD_MAGIC, 8) != 0) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: not a glassbox token shard (bad magic)", path);
        goto done;
    }
    uint32_t version = get_u32(h + 8);
    if (version != GB_SHARD_VERSION) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: unsupported shard version %u (this build reads %d)", path,
                       version, GB_SHARD_VERSION);
        goto done;
    }
    s->token_bytes = get_u32(h + 12);
    uint64_t n = get_u64(h + 16), vocab = get_u64(h + 24);
    if (s->token_bytes != 2 && s->token_bytes != 4) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: token width %u (must be 2 or 4)", path, s->token_bytes);
        goto done;
    }
    if (vocab == 0 || vocab > (uint64_t)UINT32_MAX + 1 || (s->token_bytes == 2 && vocab > 65536)) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: vocabulary size %llu does not fit width %u", path,
                       (unsigned long long)vocab, s->token_bytes);
        goto done;
    }
    uint64_t body = s->map_len - GB_SHARD_HEADER_BYTES;
    if (n > body / s->token_bytes || n * s->token_bytes != body) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: header says %llu tokens but the file holds %llu bytes of ids (truncated or corrupt)",
                       path, (unsigned long long)n, (unsigned long long)body);
        goto done;
    }
    s->n_tokens = (int64_t)n;
    s->vocab_size = (int64_t)vocab;
    memcpy(s->tokenizer_digest, h + 32, 32);
    s->tokens = h + GB_SHARD_HEADER_BYTES;
    for (int64_t i = 0; i < s->n_tokens; i++) {
        uint32_t id = gb_shard_token(s, i);
        if (id >= vocab) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: token %lld has id %u, outside the vocabulary of %llu", path,
                           (long long)i, id, (unsigned long long)vocab);
            goto done;
        }
    }
done:
    close(fd);
    if (rc) gb_shard_close(s);
    return rc;
}

void gb_shard_close(gb_shard *s) {
    if (s->map) munmap(s->map, s->map_len);
    memset(s, 0, sizeof *s);
}
