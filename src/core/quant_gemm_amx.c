/* glassbox — the prefill tile on AMX (Sapphire Rapids on): 16 weight rows × 8 activation
 * rows per call, one TDPBUSD (unsigned codes) or TDPBSSD (Q8_0's signed codes) per block.
 *
 * A tile: the 16 weight rows' codes of one block, straight from the packed panel (rows are
 * QG_RM_AMX consecutive qg_wblk, 48 bytes apart: TILELOADD takes that stride). B tile: the
 * activation block as packed for AVX2 — q[g][c][j], row g holding element 4g + j of each of
 * the 8 activation rows — which is already the layout TDPB*D wants for B (K/4 rows of N × 4
 * bytes). C: 16 × 8 int32, one whole block's integer sums, exact. C goes to memory and each
 * weight row's 8 sums then take the scalar tile's float steps in its order (8 lanes = the 8
 * activation rows): the same bits as the scalar, AVX2 and AVX-512 tiles.
 *
 * Q6_K has a scale per 16 elements, so its blocks are two products of K = 16. The tile
 * configuration is loaded on every call (the worker threads each need it) and released at the
 * end, so no thread keeps the 8 KiB tile state between products. */
#include "core/quant_gemm.h"
#include "core/quant_internal.h"

#if defined(__x86_64__)
#include "core/quant_gemm_x86.h"

#define TGT_AMX __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,amx-tile,amx-int8")))

/* LDTILECFG's 64 bytes: palette 1; then bytes per row of tiles 0..15, then their rows.
 * tmm0, tmm3: C (16 × 8 int32); tmm1, tmm4: A (16 × k bytes); tmm2, tmm5: B (k/4 × 32 bytes).
 * Static so that the compiler has no stores to order before the instruction. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

#define AMX_CONFIG(k) \
    { 1, 0, {0}, {32, (k), 32, 32, (k), 32}, {16, 16, (k) / 4, 16, 16, (k) / 4} }
static const _Alignas(64) amx_config cfg_k32 = AMX_CONFIG(32), cfg_k16 = AMX_CONFIG(16);

/* f[r] for the 16 rows from C sums (int32, 8 per row): the scalar tile's two float steps. */
TGT_AMX static inline void scale_rows(__m256 f[QG_RM_AMX], const int32_t c[QG_RM_AMX][8], const qg_wblk *w,
                                      int h, __m256 dx, __m256 xs, int with_offset) {
    for (int r = 0; r < QG_RM_AMX; r++) {
        const __m256 isum = _mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)c[r]));
        if (with_offset) f[r] = scale_add(f[r], isum, w[r].sc[h], dx, w[r].mn[h], xs);
        else f[r] = _mm256_fmadd_ps(isum, _mm256_mul_ps(_mm256_set1_ps(w[r].sc[h]), dx), f[r]);
    }
}

/* QG_U4 and QG_S8: one product of K = 32 per block, two blocks in flight. */
TGT_AMX static void tile_block32(qg_kind kind, int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                                 __m256 f[QG_RM_AMX]) {
    _Alignas(64) int32_t c0[QG_RM_AMX][8], c1[QG_RM_AMX][8];
    const int off = kind == QG_U4;
    int64_t b = 0;
    _tile_loadconfig(&cfg_k32);
    for (; b + 2 <= nb; b += 2) {
        const qg_wblk *w0 = w + b * QG_RM_AMX, *w1 = w0 + QG_RM_AMX;
        _tile_loadd(1, w0->q, sizeof(qg_wblk));
        _tile_loadd(2, x[b].q, 32);
        _tile_loadd(4, w1->q, sizeof(qg_wblk));
        _tile_loadd(5, x[b + 1].q, 32);
        _tile_zero(0);
        _tile_zero(3);
        if (kind == QG_S8) {
            _tile_dpbssd(0, 1, 2);
            _tile_dpbssd(3, 4, 5);
        } else {
            _tile_dpbusd(0, 1, 2);
            _tile_dpbusd(3, 4, 5);
        }
        _tile_stored(0, c0, 32);
        _tile_stored(3, c1, 32);
        scale_rows(f, (const int32_t(*)[8])c0, w0, 0, _mm256_load_ps(x[b].dx), _mm256_load_ps(x[b].xs), off);
        scale_rows(f, (const int32_t(*)[8])c1, w1, 0, _mm256_load_ps(x[b + 1].dx), _mm256_load_ps(x[b + 1].xs), off);
    }
    for (; b < nb; b++) {
        const qg_wblk *w0 = w + b * QG_RM_AMX;
        _tile_loadd(1, w0->q, sizeof(qg_wblk));
        _tile_loadd(2, x[b].q, 32);
        _tile_zero(0);
        if (kind == QG_S8) _tile_dpbssd(0, 1, 2);
        else _tile_dpbusd(0, 1, 2);
        _tile_stored(0, c0, 32);
        scale_rows(f, (const int32_t(*)[8])c0, w0, 0, _mm256_load_ps(x[b].dx), _mm256_load_ps(x[b].xs), off);
    }
    _tile_release();
}

/* QG_U6: per block, elements 0..15 (groups 0..3) then 16..31, each with its own scale. */
TGT_AMX static void tile_u6(int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x, __m256 f[QG_RM_AMX]) {
    _Alignas(64) int32_t c0[QG_RM_AMX][8], c1[QG_RM_AMX][8];
    _tile_loadconfig(&cfg_k16);
    for (int64_t b = 0; b < nb; b++) {
        const qg_wblk *w0 = w + b * QG_RM_AMX;
        _tile_loadd(1, w0->q, sizeof(qg_wblk));
        _tile_loadd(2, x[b].q, 32);
        _tile_loadd(4, w0->q + 16, sizeof(qg_wblk));
        _tile_loadd(5, x[b].q + 128, 32);
        _tile_zero(0);
        _tile_zero(3);
        _tile_dpbusd(0, 1, 2);
        _tile_dpbusd(3, 4, 5);
        _tile_stored(0, c0, 32);
        _tile_stored(3, c1, 32);
        const __m256 dx = _mm256_load_ps(x[b].dx);
        scale_rows(f, (const int32_t(*)[8])c0, w0, 0, dx, _mm256_load_ps(x[b].xs0), 1);
        scale_rows(f, (const int32_t(*)[8])c1, w0, 1, dx, _mm256_load_ps(x[b].xs1), 1);
    }
    _tile_release();
}

TGT_AMX void gb_qg_tile_amx(qg_kind kind, int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                            float *restrict out, int64_t ldo, int nr, int nc) {
    __m256 f[QG_RM_AMX];
    for (int r = 0; r < QG_RM_AMX; r++) f[r] = _mm256_setzero_ps();
    if (kind == QG_U6) tile_u6(nb, w, x, f);
    else tile_block32(kind, nb, w, x, f);
    for (int r0 = 0; r0 < nr; r0 += QG_RM)
        store_tile(f + r0, out + r0, ldo, nr - r0 < QG_RM ? nr - r0 : QG_RM, nc);
}

#endif
