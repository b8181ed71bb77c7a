/* glassbox — the packed layouts and tile kernels of the quantized prefill product
 * (gb_quant_gemm). Shared by quant_gemm.c (packing, threading, the scalar kernels) and
 * quant_gemm_avx2.c. Not part of the API.
 *
 * Weights and activations are re-laid once per call so that one 8-lane int32 vector holds the
 * block sums of 8 activation rows ("columns" here) at once:
 *
 *   activations: every group of 8 rows, every 32-element block b, keeps the 32 Q8_0 codes of
 *   each row interleaved by four: q[g][c][j] = code of row c, element 4g + j (g < 8, c < 8,
 *   j < 4), so a 4-byte weight group broadcast to all lanes meets every row's 4 codes in one
 *   VPMADDUBSW. Beside them the row scales dx and the scaled code sums dx·Σq (whole block and
 *   per 16-element half) as floats.
 *
 *   weights: every row, every block b: the 32 codes as bytes in element order — unsigned for
 *   the 4- and 6-bit types (Q4_0 nibbles, Q4_K nibbles, Q6_K 6-bit codes), signed for Q8_0 —
 *   with a scale and an offset per 16-element half, so that the weight is sc·q + mn.
 *   Q4_0: sc = d, mn = −8d; Q4_K: sc = d·sc_s, mn = −dmin·m_s; Q6_K: sc = d·scale_g,
 *   mn = −32·sc; Q8_0: sc = d, mn = 0.
 *
 * A weight row's dot with an activation row is then, block by block,
 *   acc = fma(Σ q·x, sc·dx, acc); acc = fma(mn, dx·Σx, acc)
 * with Σ q·x an exact integer (per block for the 32-scale types, per half for Q6_K). Every
 * kernel performs exactly these float operations in this order, so the AVX2 tiles return the
 * scalar tiles' bits. */
#ifndef GLASSBOX_CORE_QUANT_GEMM_H
#define GLASSBOX_CORE_QUANT_GEMM_H

#include <stdint.h>

/* Weight rows per tile (QG_RM_AMX for the AMX tile) and activation rows per column group. */
#define QG_RM 4
#define QG_RM_AMX 16
#define QG_NC 8

typedef struct {
    int8_t q[256]; /* [g][c][j]: row c's code of element 4g + j */
    float dx[8];   /* Q8_0 scale of each row's block */
    float xs[8];   /* dx·Σ codes over the block */
    float xs0[8];  /* dx·Σ codes over elements 0..15 */
    float xs1[8];  /* dx·Σ codes over elements 16..31 */
} qg_xblk;

typedef struct {
    uint8_t q[32]; /* codes in element order (Q8_0: int8 bits) */
    float sc[2];   /* scale of elements 0..15, 16..31 */
    float mn[2];   /* offset of elements 0..15, 16..31 */
} qg_wblk;

typedef enum {
    QG_U4, /* codes 0..15, one scale per block (Q4_0, Q4_K) */
    QG_U6, /* codes 0..63, a scale per half (Q6_K) */
    QG_S8, /* codes −128..127, one scale per block, no offset (Q8_0) */
} qg_kind;

/* out[c·ldo + r] for the weight rows of a tile (w: block-major, the tile's rows — QG_RM, or
 * QG_RM_AMX — consecutive for each block index) and the activation rows of one column group
 * (x: nb blocks) or, for a tile that takes two (quant_internal.h: qg_groups), of consecutive
 * groups (x, x + nb: row c in group c / QG_NC), r < nr, c < nc. */
typedef void (*qg_tile_fn)(qg_kind kind, int64_t nb, const qg_wblk *restrict w,
                           const qg_xblk *restrict x, float *restrict out, int64_t ldo, int nr, int nc);

/* Quantizes one activation row (nb blocks of 32) to Q8_0 and stores it as row c of the column
 * group o (the dx and sums included). */
typedef void (*qg_pack_fn)(const float *restrict x, int64_t nb, int c, qg_xblk *restrict o);

/* Frees the calling thread's cached prefill scratch (called by gb_quant_release). */
void gb_quant_gemm_release(void);

void gb_qg_pack_row_scalar(const float *restrict x, int64_t nb, int c, qg_xblk *restrict o);
void gb_qg_tile_scalar(qg_kind kind, int64_t nb, const qg_wblk *restrict w,
                       const qg_xblk *restrict x, float *restrict out, int64_t ldo, int nr, int nc);
#if defined(__x86_64__) || defined(__i386__)
/* Equal to the scalar packer for finite x (NaN may take another block maximum). */
void gb_qg_pack_row_avx2(const float *restrict x, int64_t nb, int c, qg_xblk *restrict o);
void gb_qg_tile_avx2(qg_kind kind, int64_t nb, const qg_wblk *restrict w,
                     const qg_xblk *restrict x, float *restrict out, int64_t ldo, int nr, int nc);
/* The same bits with AMX-INT8 on 16-row tiles. */
void gb_qg_tile_amx(qg_kind kind, int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                    float *restrict out, int64_t ldo, int nr, int nc);
#endif

#endif
