/* glassbox — quantized weights interleaved by 8 rows ("x8"), for decode.
 *
 * A decode step multiplies one activation row by every weight row, streaming the weights from
 * memory once. In the GGUF layout each row's dot product ends in a horizontal reduction and
 * each block's scale is a scalar; with 8 rows interleaved, one 32-byte load holds 4 bytes of
 * each of 8 rows, so lane r of every vector belongs to row r: 8 rows' sums come out whole,
 * their 8 scales convert as one vector, and about half the instructions per weight byte remain
 * (docs/quantization.md has the measurements). The model loader re-lays its matrices this way
 * once (same bytes in all; llama.cpp's CPU "repack" does the same).
 *
 * Layout of a (rows, cols) matrix, rows a multiple of 8: row group g (rows 8g .. 8g+7) is nb
 * x8 blocks, block b holding block b of each of the 8 rows. In a byte array that is L bytes
 * per row in the GGUF block, byte i of row r goes to [32·(i/4) + 4·r + i%4] (4-byte groups of
 * the 8 rows in turn); the scales of the K types are the 8 rows' arrays one after another.
 *
 * F16 is interleaved by 8 columns (16 bytes) of each row: lane i of a vector is column i, and
 * each row keeps its own 8-lane accumulator. Its gain is not scales spared but each activation
 * load serving 8 rows, one stream a thread, and the copy's huge pages (llm.c): decode 1.14-1.16x
 * the file's layout on the 110M layout at 2 threads (1.11x at 1), 1.06x on 1.1B. */
#ifndef GLASSBOX_CORE_QUANT_X8_H
#define GLASSBOX_CORE_QUANT_X8_H

#include "core/quant.h"

typedef struct {
    uint16_t d[8];   /* fp16 scale of each row */
    uint8_t qs[128]; /* interleaved qs[16] */
} gb_block_q4_0x8;

typedef struct {
    uint16_t d[8];
    int8_t qs[256]; /* interleaved qs[32] */
} gb_block_q8_0x8;

typedef struct {
    uint16_t d[8], dmin[8];
    uint8_t scales[96]; /* row r's scales[12] at 12·r */
    uint8_t qs[1024];   /* interleaved qs[128] */
} gb_block_q4_Kx8;

typedef struct {
    uint16_t d[8];
    int8_t scales[128]; /* row r's scales[16] at 16·r */
    uint8_t ql[1024];   /* interleaved ql[128] */
    uint8_t qh[512];    /* interleaved qh[64] */
} gb_block_q6_Kx8;

typedef struct {
    uint16_t v[64]; /* row r's 8 values at 8·r */
} gb_block_f16x8;

_Static_assert(sizeof(gb_block_q4_0x8) == 8 * sizeof(gb_block_q4_0), "Q4_0 x8");
_Static_assert(sizeof(gb_block_q8_0x8) == 8 * sizeof(gb_block_q8_0), "Q8_0 x8");
_Static_assert(sizeof(gb_block_q4_Kx8) == 8 * sizeof(gb_block_q4_K), "Q4_K x8");
_Static_assert(sizeof(gb_block_q6_Kx8) == 8 * sizeof(gb_block_q6_K), "Q6_K x8");
_Static_assert(sizeof(gb_block_f16x8) == 8 * 8 * sizeof(uint16_t), "F16 x8");

/* Whether a (rows, cols) matrix of `type` can be interleaved: Q8_0, Q4_0, Q4_K, Q6_K or F16,
 * rows a multiple of 8, cols of whole blocks (F16: a multiple of 8). */
int gb_quant_x8_supported(uint32_t type, int64_t rows, int64_t cols);

/* dst (the same size as src) = src interleaved; threaded. GB_ERR_ARG if not supported. */
gb_status gb_quant_x8_pack(uint32_t type, void *restrict dst, const void *restrict src, int64_t rows, int64_t cols);

/* Row `row` of an interleaved matrix back in the GGUF layout (gb_quant_row_size bytes). */
void gb_quant_x8_unpack_row(uint32_t type, void *restrict dst, const void *restrict x8, int64_t row, int64_t cols);

/* Rows [r0, r1) of an interleaved F16 matrix as floats, row r at dst + (r − r0)·ld: prefill's
 * fp32 panels (the other types multiply as integers). A group's 8 rows are converted 256
 * columns at a time, so each 4 KiB of it is read from memory once; a conversion call per 8
 * values had cost prefill 5-20 %. */
void gb_quant_x8_f16_rows(float *restrict dst, size_t ld, const void *restrict x8, int64_t r0, int64_t r1,
                          int64_t cols);

/* out[r], r < 8 = row 8g + r of the group `w` (nb blocks of its type) · activation row x: for
 * Q8_0/Q4_0 x is Q8_0 with the side table (xd: block scales as floats; xs: code sums, Q4_0
 * only), for Q4_K/Q6_K it is Q8_K, for F16 the floats themselves. Every integer kernel computes
 * each block's (super-block's) sums exactly and then, lane r, these float steps in block order:
 *   Q8_0, Q4_0: acc = fma((float)isum, F16(d_r)·xd[b], acc)      (Q4_0: isum = Σq·x − 8·xs[b])
 *   Q4_K: acc = fma((float)Σ_s sc_s·Σq·x, F16(d_r)·x.d, acc),
 *         accm = fma((float)Σ_s m_s·Σx_s, F16(dmin_r)·x.d, accm); out = acc − accm
 *   Q6_K: acc = fma((float)(Σ_g sc_g·Σq·x − 32·Σ_g sc_g·bsums_g), F16(d_r)·x.d, acc)
 *   F16: lane i of row r, acc_i = fma(F16(w[r][8b+i]), x[8b+i], acc_i) for b in order; then
 *        out = ((acc_0 + acc_1) + (acc_2 + acc_3)) + ((acc_4 + acc_5) + (acc_6 + acc_7))
 * so every SIMD kernel returns the scalar reference's bits. */
typedef void gb_dot8_kernel(int64_t n, const void *restrict w, const void *restrict x, const float *restrict xd,
                            const int32_t *restrict xs, float *restrict out);
typedef gb_dot8_kernel *gb_dot8_fn;

gb_dot8_kernel gb_dot8_q8_0_ref, gb_dot8_q4_0_ref, gb_dot8_q4_K_ref, gb_dot8_q6_K_ref, gb_dot8_f16_ref;

/* The selected ISA's kernel for `type` (one of the five). */
gb_dot8_fn gb_quant_dot8_fn(uint32_t type);

/* out (M, n_rows) = X (M, n_cols) · Wᵀ with W interleaved: as gb_quant_matmul, independent of
 * the thread count. */
gb_status gb_quant_x8_matmul(uint32_t type, const void *restrict W, const float *restrict X, float *restrict out,
                             int64_t M, int64_t n_rows, int64_t n_cols);

/* gb_quant_gemm with W interleaved: the same bits as gb_quant_gemm on the GGUF layout. */
gb_status gb_quant_gemm_x8(uint32_t type, const void *restrict W, const float *restrict X, float *restrict out,
                           int64_t M, int64_t n_rows, int64_t n_cols);

#endif
