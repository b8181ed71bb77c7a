/* glassbox — the quantized-kernel table shared by quant.c (scalar, dispatch) and the per-ISA
 * files (quant_avx2.c, quant_avx512.c). Not part of the API. */
#ifndef GLASSBOX_CORE_QUANT_INTERNAL_H
#define GLASSBOX_CORE_QUANT_INTERNAL_H

#include "core/quant.h"
#include "core/quant_gemm.h"
#include "core/quant_x8.h"

#if defined(__x86_64__) || defined(__i386__)
#define QUANT_X86 1
#endif

/* One ISA's kernels. The dot products take n elements (a multiple of the block size). */
typedef struct {
    const char *name;
    gb_quant_isa isa;
    float (*dot_q8_0)(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x);
    float (*dot_q4_0)(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x);
    /* The same products (the same bits) with the activation side table of a matvec: xd[b] the
     * fp16 scale of x's block b as a float, xs[b] the sum of its codes. */
    float (*dot_q8_0_t)(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x,
                        const float *restrict xd);
    float (*dot_q4_0_t)(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x,
                        const float *restrict xd, const int32_t *restrict xs);
    float (*dot_q4_K)(int64_t n, const gb_block_q4_K *restrict w, const gb_block_q8_K *restrict x);
    float (*dot_q6_K)(int64_t n, const gb_block_q6_K *restrict w, const gb_block_q8_K *restrict x);
    float (*dot_f16)(int64_t n, const uint16_t *restrict w, const float *restrict x);
    float (*dot_bf16)(int64_t n, const uint16_t *restrict w, const float *restrict x);
    float (*dot_f32)(int64_t n, const float *restrict w, const float *restrict x);
    void (*fp16_from_f32)(uint16_t *restrict dst, const float *restrict src, int64_t n);
    void (*fp16_to_f32)(float *restrict dst, const uint16_t *restrict src, int64_t n);
    qg_tile_fn qg_tile; /* prefill tile and activation packer (quant_gemm.h) */
    qg_pack_fn qg_pack;
    int qg_rm;          /* weight rows of qg_tile's tiles */
    int qg_groups;      /* activation column groups (of QG_NC rows) qg_tile takes at once: 1, 2 */
    void (*quantize_q8_0)(gb_block_q8_0 *restrict y, const float *restrict x, int64_t n);
    /* quantize_q8_0 and the side table of its n/32 blocks (see dot_q8_0_t): a decode matvec's */
    void (*quantize_q8_0_t)(gb_block_q8_0 *restrict y, float *restrict xd, int32_t *restrict xs,
                            const float *restrict x, int64_t n);
    void (*quantize_q8_K)(gb_block_q8_K *restrict y, const float *restrict x, int64_t n);
    gb_dot8_fn dot8_q8_0, dot8_q4_0, dot8_q4_K, dot8_q6_K, dot8_f16; /* 8 interleaved rows (quant_x8.h) */
} quant_kernels;

/* The selected ISA's prefill tile (of gb_quant_tile_rows() weight rows) and packer. */
qg_tile_fn gb_quant_tile_fn(void);
int gb_quant_tile_rows(void);
int gb_quant_tile_groups(void);
qg_pack_fn gb_quant_pack_fn(void);

#ifdef QUANT_X86
extern const quant_kernels gb_quant_kernels_avx2;
extern const quant_kernels gb_quant_kernels_avx512;
extern const quant_kernels gb_quant_kernels_amx;
/* gb_quantize_row_q8_0 and _q8_K, same bits (non-finite blocks are handed to them) */
void gb_quantize_row_q8_0_avx2(gb_block_q8_0 *restrict y, const float *restrict x, int64_t n);
void gb_quantize_row_q8_0_t_avx2(gb_block_q8_0 *restrict y, float *restrict xd, int32_t *restrict xs,
                                 const float *restrict x, int64_t n);
/* The scalar reference of quantize_q8_0_t. */
void gb_quantize_row_q8_0_t(gb_block_q8_0 *restrict y, float *restrict xd, int32_t *restrict xs,
                            const float *restrict x, int64_t n);
void gb_quantize_row_q8_K_avx2(gb_block_q8_K *restrict y, const float *restrict x, int64_t n);
/* The group kernels of the interleaved layouts (quant_x8_avx2.c, quant_x8_k_avx2.c). */
gb_dot8_kernel gb_dot8_q8_0_avx2, gb_dot8_q4_0_avx2, gb_dot8_q4_K_avx2, gb_dot8_q6_K_avx2, gb_dot8_f16_avx2;
/* The AVX2 kernels the AVX-512 table keeps (the matvec path does not use the first two). */
float gb_avx2_dot_q8_0(int64_t n, const gb_block_q8_0 *restrict w, const gb_block_q8_0 *restrict x);
float gb_avx2_dot_q4_0(int64_t n, const gb_block_q4_0 *restrict w, const gb_block_q8_0 *restrict x);
float gb_avx2_dot_f16(int64_t n, const uint16_t *restrict w, const float *restrict x);
float gb_avx2_dot_bf16(int64_t n, const uint16_t *restrict w, const float *restrict x);
float gb_avx2_dot_f32(int64_t n, const float *restrict w, const float *restrict x);
void gb_avx2_fp16_from_f32(uint16_t *restrict dst, const float *restrict src, int64_t n);
void gb_avx2_fp16_to_f32(float *restrict dst, const uint16_t *restrict src, int64_t n);
#endif

/* Q4_K's packed 6-bit scale and min of sub-block j (0..7). */
static inline void quant_q4_K_scale_min(int j, const uint8_t *restrict q, uint8_t *restrict sc,
                                        uint8_t *restrict m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif
