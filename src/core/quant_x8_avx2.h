/* glassbox — what the AVX2 kernels of the 8-row interleaved layouts share (quant_x8_avx2.c,
 * quant_x8_k_avx2.c). Not part of the API. */
#ifndef GLASSBOX_CORE_QUANT_X8_AVX2_H
#define GLASSBOX_CORE_QUANT_X8_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "core/quant_x8.h"

#define X8_TGT __attribute__((target("avx2,fma,f16c")))

/* How far ahead of the block being read its lines are asked for (bytes). For the integer
 * kernels, between 0.5 and 4.5 KiB the gain was the same on the development machine; 2 KiB
 * covers DRAM latency at full bandwidth with room to spare. The F16 kernel, with a third of
 * their instructions a byte, decodes 6-9 % faster asking 1 KiB ahead than 2 (110M and 1.1B,
 * 2 threads, alternated slices; 0.75 KiB as 1, 1.25 and 1.5 between). */
#define X8_PREFETCH 2048
#define X8_PREFETCH_F16 1024

/* The cache lines of [p + ahead, p + ahead + bytes). A prefetch never faults, so reading
 * past the matrix's end is harmless. */
X8_TGT static inline void x8_prefetch(const void *p, size_t bytes, size_t ahead) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + ahead + o, _MM_HINT_T0);
}

/* v, materialised in a register here (an empty asm; no instruction). On weight loads: gcc 12
 * otherwise folds the load into the first of its two uses as a memory operand and loads it
 * again for the second (two vector loads per 32 bytes). On running sums: gcc otherwise
 * reassociates the chain of adds into a tree whose partial sums spill to the stack. Together
 * 4-5 % faster with the Q4_K weights in L1 (Zen 3); the Q4_0 kernel's loads alone, 6-8 % in L2
 * (768 and 2048 wide, alternated in one process; from DRAM level, the bandwidth's limit). */
X8_TGT static inline __m256i in_reg(__m256i v) {
    __asm__("" : "+x"(v));
    return v;
}

/* Four activation codes broadcast to all 8 lanes. */
X8_TGT static inline __m256i x8_bcast4(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm256_set1_epi32(v);
}

/* The 8 rows' fp16 scales times the activation's scale: F16(d[r])·xd, lane r. */
X8_TGT static inline __m256 x8_scales(const uint16_t d[8], float xd) {
    return _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)d)), _mm256_set1_ps(xd));
}

#endif
