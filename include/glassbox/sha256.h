/* glassbox — SHA-256 (FIPS 180-4). Used for file hashes, weight fingerprints and the
 * openness record, so it is written here rather than pulled from a crypto library. */
#ifndef GLASSBOX_SHA256_H
#define GLASSBOX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"

typedef struct gb_sha256_ctx {
    uint32_t h[8];
    uint64_t nbytes;   /* message length so far */
    uint8_t block[64]; /* pending partial block */
    size_t nblock;
} gb_sha256_ctx;

void gb_sha256_init(gb_sha256_ctx *ctx);
void gb_sha256_update(gb_sha256_ctx *ctx, const void *data, size_t len);
void gb_sha256_final(gb_sha256_ctx *ctx, uint8_t digest[32]);

/* One-shot digest of a buffer. */
void gb_sha256(const void *data, size_t len, uint8_t digest[32]);
/* 64 lowercase hex digits + NUL */
void gb_sha256_hex(const uint8_t digest[32], char hex[65]);
/* Digest of a whole file; GB_ERR_IO naming the path on failure. */
gb_status gb_sha256_file(const char *path, uint8_t digest[32]);

#endif
