/* glassbox — memory: aligned blocks and overflow-checked sizes. */
#ifndef GLASSBOX_MEM_H
#define GLASSBOX_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"

#define GB_ALIGN 64 /* one cache line; also the widest SIMD register (AVX-512) */

/* Allocates `size` bytes aligned to GB_ALIGN (size 0 gives a valid unique block).
 * Returns NULL and records GB_ERR_NOMEM on failure. Release with gb_free. */
void *gb_alloc(size_t size);

/* As gb_alloc, aligned to 2 MiB and advised for transparent huge pages where the system has
 * them (madvise MADV_HUGEPAGE; Linux's default is "madvise"): for large buffers read in
 * streams, the re-laid weights and the KV cache, whose 4 KiB pages otherwise cost a page walk
 * every 4 KiB of a stream (decode's attention reads many short ones: 20 % of its time). */
void *gb_alloc_huge(size_t size);

/* As gb_alloc, zero-filled; checks n*elt for overflow. */
void *gb_calloc(size_t n, size_t elt);

/* Grows *ptr (allocated by gb_xrealloc or NULL) to n*elt bytes with malloc alignment.
 * On failure leaves *ptr untouched and returns GB_ERR_NOMEM. */
gb_status gb_realloc_array(void **ptr, size_t n, size_t elt);

void gb_free(void *p); /* gb_free(NULL) is a no-op */

/* *out = a*b, or false if it overflows size_t. */
static inline int gb_mul_ok(size_t a, size_t b, size_t *out) {
    if (b != 0 && a > SIZE_MAX / b) return 0;
    *out = a * b;
    return 1;
}

#endif
