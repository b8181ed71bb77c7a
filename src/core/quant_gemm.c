/* glassbox — the quantized prefill product: out (M, N) = X (M, K) · Wᵀ with W of a quantized
 * type, in integer arithmetic (see quant_gemm.h for the packed layouts).
 *
 * Decode multiplies one activation row by each weight row (gb_quant_matvec); prefill has M
 * rows, and there the work is compute-bound: 8-bit integer products (VPMADDUBSW: 32 byte
 * products per instruction) do more per cycle than fp32 FMAs (8), which is why a quantized
 * prefill can beat an F16 one. The activations are quantized to Q8_0 (per-32 scales), as
 * llama.cpp does for Q4_0/Q8_0 weights; for the K types this is finer than the Q8_K (per-256)
 * activations of decode, so prefill and decode logits agree to rounding, not to the bit.
 *
 * Blocking: every thread packs a share of the activation groups; then the weight rows are
 * split among threads in fixed ranges of whole tiles (4 rows, 16 on AMX); a thread packs a
 * panel of QG_PANEL rows, then runs every column group (8 activation rows, L1/L2 resident;
 * two at a time where the tile takes two) past the panel's tiles. Each output is computed
 * whole by one tile call, so the result does not depend on the thread count. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/quant_gemm.h"
#include "core/quant_internal.h"
#include "glassbox/mem.h"
#include "glassbox/sys.h"

#define QG_PANEL 32 /* weight rows packed at once per thread (a multiple of every tile's rows) */

/* ---- scalar tile: the reference every other tile must equal bit for bit ------------------ */

static inline int xcode(const qg_xblk *b, int c, int k) { return b->q[(k / 4) * 32 + c * 4 + k % 4]; }

static int dot_range(qg_kind kind, const qg_wblk *w, const qg_xblk *x, int c, int k0, int k1) {
    int s = 0;
    for (int k = k0; k < k1; k++) s += (kind == QG_S8 ? (int)(int8_t)w->q[k] : (int)w->q[k]) * xcode(x, c, k);
    return s;
}

void gb_qg_tile_scalar(qg_kind kind, int64_t nb, const qg_wblk *restrict w, const qg_xblk *restrict x,
                       float *restrict out, int64_t ldo, int nr, int nc) {
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++) {
            float acc = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const qg_wblk *wb = w + b * QG_RM + r;
                const qg_xblk *xb = x + b;
                if (kind == QG_U6) {
                    acc = fmaf((float)dot_range(kind, wb, xb, c, 0, 16), wb->sc[0] * xb->dx[c], acc);
                    acc = fmaf(wb->mn[0], xb->xs0[c], acc);
                    acc = fmaf((float)dot_range(kind, wb, xb, c, 16, 32), wb->sc[1] * xb->dx[c], acc);
                    acc = fmaf(wb->mn[1], xb->xs1[c], acc);
                } else {
                    acc = fmaf((float)dot_range(kind, wb, xb, c, 0, 32), wb->sc[0] * xb->dx[c], acc);
                    if (kind == QG_U4) acc = fmaf(wb->mn[0], xb->xs[c], acc);
                }
            }
            out[c * ldo + r] = acc;
        }
}

/* ---- packing ------------------------------------------------------------------------------ */

static qg_kind kind_of(uint32_t type) {
    return type == GB_GGML_Q6_K ? QG_U6 : type == GB_GGML_Q8_0 ? QG_S8 : QG_U4;
}

static void set_scale(qg_wblk *o, float sc0, float mn0, float sc1, float mn1) {
    o->sc[0] = sc0, o->mn[0] = mn0, o->sc[1] = sc1, o->mn[1] = mn1;
}

/* 8 packed bytes: lo = their low nibbles, hi = their high nibbles (SWAR). */
static inline void split_nibbles(const uint8_t *src, uint8_t *lo, uint8_t *hi) {
    uint64_t v;
    memcpy(&v, src, 8);
    const uint64_t l = v & 0x0F0F0F0F0F0F0F0FULL, h = (v >> 4) & 0x0F0F0F0F0F0F0F0FULL;
    memcpy(lo, &l, 8), memcpy(hi, &h, 8);
}

/* One weight row of `type` (nb blocks of 32) into o[0], o[rm], o[2·rm], … */
static void pack_row(uint32_t type, const void *row, int64_t nb, int rm, qg_wblk *o) {
    switch (type) {
    case GB_GGML_Q8_0:
        for (int64_t b = 0; b < nb; b++, o += rm) {
            const gb_block_q8_0 *blk = (const gb_block_q8_0 *)row + b;
            const float d = gb_fp16_to_fp32(blk->d);
            memcpy(o->q, blk->qs, 32);
            set_scale(o, d, 0.0f, d, 0.0f);
        }
        break;
    case GB_GGML_Q4_0:
        for (int64_t b = 0; b < nb; b++, o += rm) {
            const gb_block_q4_0 *blk = (const gb_block_q4_0 *)row + b;
            const float d = gb_fp16_to_fp32(blk->d);
            split_nibbles(blk->qs, o->q, o->q + 16);
            split_nibbles(blk->qs + 8, o->q + 8, o->q + 24);
            set_scale(o, d, -8.0f * d, d, -8.0f * d);
        }
        break;
    case GB_GGML_Q4_K:
        for (int64_t i = 0; i < nb / 8; i++) {
            const gb_block_q4_K *blk = (const gb_block_q4_K *)row + i;
            const float d = gb_fp16_to_fp32(blk->d), dmin = gb_fp16_to_fp32(blk->dmin);
            for (int s = 0; s < 8; s += 2, o += 2 * rm) {
                const uint8_t *qs = blk->qs + 16 * s; /* sub-blocks s, s+1: low, high nibbles */
                for (int j = 0; j < 32; j += 8) split_nibbles(qs + j, o->q + j, o[rm].q + j);
                for (int t = 0; t < 2; t++) {
                    uint8_t sc, m;
                    quant_q4_K_scale_min(s + t, blk->scales, &sc, &m);
                    const float ds = d * sc, mn = -(dmin * m);
                    set_scale(o + t * rm, ds, mn, ds, mn);
                }
            }
        }
        break;
    case GB_GGML_Q6_K:
        for (int64_t i = 0; i < nb / 8; i++) {
            const gb_block_q6_K *blk = (const gb_block_q6_K *)row + i;
            const float d = gb_fp16_to_fp32(blk->d);
            for (int h = 0; h < 2; h++)
                for (int t = 0; t < 4; t++, o += rm) {
                    /* code l = nibble t>>1 of ql[64h + 32(t&1) + l] | bits 2t..2t+1 of qh[32h + l] << 4 */
                    const uint8_t *ql = blk->ql + 64 * h + 32 * (t & 1), *qh = blk->qh + 32 * h;
                    for (int l = 0; l < 32; l += 8) {
                        uint64_t vl, vh;
                        memcpy(&vl, ql + l, 8), memcpy(&vh, qh + l, 8);
                        const uint64_t c = ((vl >> 4 * (t >> 1)) & 0x0F0F0F0F0F0F0F0FULL) |
                                           ((vh >> 2 * t) & 0x0303030303030303ULL) << 4;
                        memcpy(o->q + l, &c, 8);
                    }
                    const float s0 = d * blk->scales[8 * h + 2 * t], s1 = d * blk->scales[8 * h + 2 * t + 1];
                    set_scale(o, s0, -32.0f * s0, s1, -32.0f * s1);
                }
        }
        break;
    default: break;
    }
}

/* Rows r0 .. r0 + QG_PANEL (rows past n_rows zero) into tiles of rm rows, block-major per
 * tile. With rowbuf, W is interleaved by 8 rows (quant_x8.h) and each row is first taken out
 * into rowbuf (wrow bytes). */
static void pack_panel(uint32_t type, const char *W, size_t wrow, int64_t r0, int64_t n_rows,
                       int64_t nb, int rm, qg_wblk *panel, uint8_t *rowbuf) {
    for (int64_t t = 0; t < QG_PANEL / rm; t++)
        for (int r = 0; r < rm; r++) {
            const int64_t row = r0 + t * rm + r;
            qg_wblk *o = panel + t * nb * rm + r;
            if (row < n_rows && rowbuf) {
                gb_quant_x8_unpack_row(type, rowbuf, W, row, nb * 32);
                pack_row(type, rowbuf, nb, rm, o);
            } else if (row < n_rows)
                pack_row(type, W + (size_t)row * wrow, nb, rm, o);
            else
                for (int64_t b = 0; b < nb; b++) memset(o + b * rm, 0, sizeof *o);
        }
}

void gb_qg_pack_row_scalar(const float *restrict x, int64_t nb, int c, qg_xblk *restrict o) {
    for (int64_t b = 0; b < nb; b++) {
        gb_block_q8_0 q;
        gb_quantize_row_q8_0(&q, x + 32 * b, 32);
        int s0 = 0, s1 = 0;
        for (int k = 0; k < 32; k++) {
            o[b].q[(k / 4) * 32 + c * 4 + k % 4] = q.qs[k];
            if (k < 16) s0 += q.qs[k];
            else s1 += q.qs[k];
        }
        const float dx = gb_fp16_to_fp32(q.d);
        o[b].dx[c] = dx;
        o[b].xs[c] = dx * (float)(s0 + s1);
        o[b].xs0[c] = dx * (float)s0;
        o[b].xs1[c] = dx * (float)s1;
    }
}

/* ---- the product -------------------------------------------------------------------------- */

static _Thread_local void *scratch;
static _Thread_local size_t scratch_cap;

void gb_quant_gemm_release(void) {
    gb_free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

int gb_quant_gemm_supported(uint32_t type) {
    return type == GB_GGML_Q8_0 || type == GB_GGML_Q4_0 || type == GB_GGML_Q4_K || type == GB_GGML_Q6_K;
}

static gb_status quant_gemm(uint32_t type, int x8, const void *restrict W, const float *restrict X,
                            float *restrict out, int64_t M, int64_t n_rows, int64_t n_cols) {
    if (!gb_quant_gemm_supported(type))
        return gb_errorf(GB_ERR_ARG, "quant gemm: tensor type %u has no integer product", (unsigned)type);
    const int64_t qk = type == GB_GGML_Q4_K || type == GB_GGML_Q6_K ? 256 : 32;
    if (M < 0 || n_rows < 0 || n_cols <= 0 || n_cols % qk)
        return gb_errorf(GB_ERR_ARG, "quant gemm: bad shape %lld x %lld x %lld", (long long)M,
                         (long long)n_rows, (long long)n_cols);
    if (M == 0 || n_rows == 0) return GB_OK;
    const int64_t nb = n_cols / 32, ng = (M + QG_NC - 1) / QG_NC;
    const size_t wrow = gb_quant_row_size(type, n_cols);
    const qg_kind kind = kind_of(type);
    const qg_tile_fn tile = gb_quant_tile_fn();
    const int rm = gb_quant_tile_rows(), tiles_per_panel = QG_PANEL / rm, groups = gb_quant_tile_groups();

    /* scratch: the packed activations, then one weight panel per thread; the calling
     * thread's cache, kept between calls (gb_quant_release frees it) */
    const int64_t n_tiles = (n_rows + rm - 1) / rm;
    int nt = gb_threads_get();
    if (nt < 1) nt = 1;
    if (nt > n_tiles) nt = (int)n_tiles;
    /* per thread: a panel, and for x8 weights a row taken out of its group */
    const size_t gbytes = (size_t)QG_PANEL * (size_t)nb * sizeof(qg_wblk) + (x8 ? (wrow + 63) / 64 * 64 : 0);
    size_t xbytes, pbytes, need;
    if (!gb_mul_ok((size_t)ng, (size_t)nb * sizeof(qg_xblk), &xbytes) || !gb_mul_ok((size_t)nt, gbytes, &pbytes) ||
        (need = xbytes + pbytes) < xbytes)
        return gb_errorf(GB_ERR_NOMEM, "quant gemm: %lld x %lld scratch overflows", (long long)M, (long long)n_cols);
    if (need > scratch_cap) {
        gb_free(scratch);
        scratch_cap = 0;
        if (!(scratch = gb_alloc(need))) return GB_ERR_NOMEM;
        scratch_cap = need;
    }
    char *const buf = scratch; /* scratch is thread-local: the workers get this pointer */
    qg_xblk *xp = (qg_xblk *)buf;
    const qg_pack_fn pack = gb_quant_pack_fn();

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
        /* the activations, a share of the column groups each (rows past M stay zero) */
        for (int64_t g = ng * ith / nth; g < ng * (ith + 1) / nth; g++) {
            memset(xp + g * nb, 0, (size_t)nb * sizeof *xp);
            for (int64_t m = g * QG_NC; m < M && m < (g + 1) * QG_NC; m++)
                pack(X + m * n_cols, nb, (int)(m % QG_NC), xp + g * nb);
        }
#pragma omp barrier
        const int64_t t0 = n_tiles * ith / nth, t1 = n_tiles * (ith + 1) / nth;
        qg_wblk *panel = (qg_wblk *)(buf + xbytes + (size_t)ith * gbytes);
        uint8_t *rowbuf = x8 ? (uint8_t *)(panel + (size_t)QG_PANEL * (size_t)nb) : NULL;
        for (int64_t p0 = t0; p0 < t1; p0 += tiles_per_panel) {
            const int64_t p1 = p0 + tiles_per_panel < t1 ? p0 + tiles_per_panel : t1;
            pack_panel(type, W, wrow, p0 * rm, n_rows, nb, rm, panel, rowbuf);
            for (int64_t g = 0; g < ng; g += groups)
                for (int64_t t = p0; t < p1; t++) {
                    const int64_t nr = n_rows - t * rm, nc = M - g * QG_NC;
                    tile(kind, nb, panel + (t - p0) * nb * rm, xp + g * nb, out + g * QG_NC * n_rows + t * rm,
                         n_rows, nr < rm ? (int)nr : rm, nc < groups * QG_NC ? (int)nc : groups * QG_NC);
                }
        }
    }
    return GB_OK;
}

gb_status gb_quant_gemm(uint32_t type, const void *restrict W, const float *restrict X, float *restrict out,
                        int64_t M, int64_t n_rows, int64_t n_cols) {
    return quant_gemm(type, 0, W, X, out, M, n_rows, n_cols);
}

gb_status gb_quant_gemm_x8(uint32_t type, const void *restrict W, const float *restrict X, float *restrict out,
                           int64_t M, int64_t n_rows, int64_t n_cols) {
    if (M > 0 && !gb_quant_x8_supported(type, n_rows, n_cols))
        return gb_errorf(GB_ERR_ARG, "quant gemm: %s %lld x %lld is not interleaved", gb_ggml_type_name(type),
                         (long long)n_rows, (long long)n_cols);
    return quant_gemm(type, 1, W, X, out, M, n_rows, n_cols);
}
