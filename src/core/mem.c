/* glassbox — aligned allocation and overflow-checked array growth. */
#include "glassbox/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* size bytes aligned to align (a power of two), rounded up to a multiple of it as
 * aligned_alloc wants; *rounded: the bytes allocated. */
static void *alloc_aligned(size_t size, size_t align, size_t *rounded) {
    *rounded = (size + align - 1) / align * align;
    if (*rounded < size) {
        gb_errorf(GB_ERR_NOMEM, "allocation of %zu bytes overflows", size);
        return NULL;
    }
    if (*rounded == 0) *rounded = align;
    void *p = aligned_alloc(align, *rounded);
    if (!p) gb_errorf(GB_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *gb_alloc(size_t size) {
    size_t rounded;
    return alloc_aligned(size, GB_ALIGN, &rounded);
}

void *gb_alloc_huge(size_t size) {
    size_t rounded;
    void *p = alloc_aligned(size, (size_t)2 << 20, &rounded);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
#endif
    return p;
}

void *gb_calloc(size_t n, size_t elt) {
    size_t size;
    if (!gb_mul_ok(n, elt, &size)) {
        gb_errorf(GB_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, elt);
        return NULL;
    }
    void *p = gb_alloc(size);
    if (p) memset(p, 0, size);
    return p;
}

gb_status gb_realloc_array(void **ptr, size_t n, size_t elt) {
    size_t size;
    if (!gb_mul_ok(n, elt, &size))
        return gb_errorf(GB_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, elt);
    void *p = realloc(*ptr, size ? size : 1);
    if (!p) return gb_errorf(GB_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    *ptr = p;
    return GB_OK;
}

void gb_free(void *p) { free(p); }
