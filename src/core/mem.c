/* glassbox — aligned allocation and overflow-checked array growth. */
#include "glassbox/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *gb_alloc(size_t size) {
    /* aligned_alloc wants a multiple of the alignment */
    size_t rounded = (size + GB_ALIGN - 1) / GB_ALIGN * GB_ALIGN;
    if (rounded < size) {
        gb_errorf(GB_ERR_NOMEM, "allocation of %zu bytes overflows", size);
        return NULL;
    }
    if (rounded == 0) rounded = GB_ALIGN;
    void *p = aligned_alloc(GB_ALIGN, rounded);
    if (!p) gb_errorf(GB_ERR_NOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *gb_alloc_huge(size_t size) {
    const size_t huge = (size_t)2 << 20;
    size_t rounded = (size + huge - 1) / huge * huge;
    if (rounded < size) {
        gb_errorf(GB_ERR_NOMEM, "allocation of %zu bytes overflows", size);
        return NULL;
    }
    if (rounded == 0) rounded = huge;
    void *p = aligned_alloc(huge, rounded);
    if (!p) {
        gb_errorf(GB_ERR_NOMEM, "out of memory allocating %zu bytes", size);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
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
