/* glassbox — token shards: the training data format written by `glassbox data prepare`.
 *
 * Byte layout (all integers little-endian; see docs/shard-format.md):
 *   offset  size  field
 *        0     8  magic "GBTOKENS"
 *        8     4  version (1)
 *       12     4  token width in bytes: 2 (vocab <= 65536) or 4
 *       16     8  token count N
 *       24     8  vocabulary size V of the tokenizer (every id < V)
 *       32    32  SHA-256 digest of the tokenizer (gb_tokenizer_digest)
 *       64     -  N token ids, each `width` bytes
 * The file is exactly 64 + N·width bytes long. Readers map it and check every field. */
#ifndef GLASSBOX_SHARD_H
#define GLASSBOX_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"

#define GB_SHARD_MAGIC "GBTOKENS"
#define GB_SHARD_VERSION 1
#define GB_SHARD_HEADER_BYTES 64

typedef struct gb_shard {
    uint32_t token_bytes;        /* 2 or 4 */
    int64_t n_tokens;
    int64_t vocab_size;
    uint8_t tokenizer_digest[32];
    const uint8_t *tokens;       /* n_tokens ids of token_bytes each, inside the mapping */
    void *map;
    size_t map_len;
} gb_shard;

/* Writes ids[0..n) atomically; every id must be < vocab_size (else GB_ERR_ARG). */
gb_status gb_shard_write(const char *path, const uint32_t *ids, int64_t n, int64_t vocab_size,
                         const uint8_t tokenizer_digest[32]);

/* Maps and validates a shard: magic, version, width, exact file size, and that every id is
 * below the recorded vocabulary size. Errors name the file and the field. */
gb_status gb_shard_open(gb_shard *s, const char *path);
void gb_shard_close(gb_shard *s); /* safe on a zeroed struct */

static inline uint32_t gb_shard_token(const gb_shard *s, int64_t i) {
    const uint8_t *p = s->tokens + (size_t)i * s->token_bytes;
    return s->token_bytes == 2 ? (uint32_t)p[0] | (uint32_t)p[1] << 8
                               : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                     (uint32_t)p[3] << 24;
}

#endif
