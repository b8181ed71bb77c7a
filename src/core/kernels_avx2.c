/* glassbox — AVX2 + FMA bodies of the training kernels (contracts in kernels_internal.h;
 * kernels.c picks them at run time and owns the threads). Built with plain -O2: every
 * function carries target("avx2,fma,f16c"), so the rest of the library runs on any x86-64.
 *
 * exp is the Cephes single-precision polynomial (|rel. error| < 2 ulp on [-87, 88]);
 * below -87.3 it returns 0 (the true value is a denormal), NaN stays NaN. tanh and the
 * sigmoid are built on it. Tails use masked loads and stores with the same arithmetic,
 * so every element's bits are independent of where a range starts and ends. */
#include "core/kernels_internal.h"

#ifdef GB_KERNELS_X86
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define TGT __attribute__((target("avx2,fma,f16c")))

/* lanes < rem set (rem in 0..8) */
TGT static inline __m256i tail_mask(int64_t rem) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rem < 8 ? rem : 8)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* p[0..rem) (rem may be <= 0 or >= 8); unmasked when the vector is full: AMD's masked
 * stores are slow */
TGT static inline __m256 ldm(const float *p, int64_t rem) {
    return rem >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(rem));
}

TGT static inline void stm(float *p, int64_t rem, __m256 v) {
    if (rem >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, tail_mask(rem), v);
}

TGT static inline __m256 exp256(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.0f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, _mm256_min_ps(hi, x)); /* NaN passes through (second operand) */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/* tanh(u) = 1 - 2 / (1 + exp(2u)) */
TGT static inline __m256 tanh256(__m256 u) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp256(_mm256_add_ps(u, u));
    return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, e)));
}

/* 1 / (1 + exp(-g)) */
TGT static inline __m256 sigmoid256(__m256 g) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

/* lanes summed pairwise in a fixed order */
TGT static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TGT static inline double hsum_pd(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

TGT static inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* acc (4 doubles ×2) += the 8 floats of v */
TGT static inline void add_pd8(__m256d *a0, __m256d *a1, __m256 v) {
    *a0 = _mm256_add_pd(*a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *a1 = _mm256_add_pd(*a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* ---- activations ----------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/π) */
#define GELU_C 0.044715f

TGT static inline __m256 gelu_th(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    return tanh256(_mm256_mul_ps(_mm256_set1_ps(GELU_K), _mm256_fmadd_ps(_mm256_set1_ps(GELU_C), x3, x)));
}

TGT void gb_gelu_forward_avx2(float *restrict out, const float *restrict in, int64_t n) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 8) {
        __m256 x = ldm(in + i, n - i);
        __m256 y = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, gelu_th(x)));
        stm(out + i, n - i, y);
    }
}

TGT void gb_gelu_backward_avx2(float *restrict dinp, const float *restrict in,
                               const float *restrict dout, int64_t n) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 k = _mm256_set1_ps(GELU_K), c3 = _mm256_set1_ps(3.0f * GELU_C);
    for (int64_t i = 0; i < n; i += 8) {
        __m256 x = ldm(in + i, n - i), dy = ldm(dout + i, n - i);
        __m256 th = gelu_th(x), xx = _mm256_mul_ps(x, x);
        /* 0.5 (1 + th) + 0.5 x (1 - th²) K (1 + 3c x²) */
        __m256 sech2 = _mm256_fnmadd_ps(th, th, one);
        __m256 inner = _mm256_mul_ps(k, _mm256_fmadd_ps(c3, xx, one));
        __m256 g = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(half, x), sech2), inner,
                                   _mm256_mul_ps(half, _mm256_add_ps(one, th)));
        stm(dinp + i, n - i, _mm256_mul_ps(g, dy));
    }
}

TGT void gb_swiglu_forward_avx2(float *restrict out, const float *restrict g,
                                const float *restrict u, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256 gv = ldm(g + i, n - i), uv = ldm(u + i, n - i);
        stm(out + i, n - i, _mm256_mul_ps(_mm256_mul_ps(gv, sigmoid256(gv)), uv));
    }
}

/* Rows of the cache a head's loops ask for ahead of use. Decode reads each layer's cache from
 * memory (the weights streamed since evicted it), one short stream per head that the hardware
 * prefetcher picks up late. With the single pass over v below: 1.07-1.10x a head at 64-512
 * keys with the cache in memory (one thread, alternated with the previous code); decode level
 * within its noise (110M, positions 0-383: 0.97-1.04x). The scores' pass over k also asks for
 * v's rows, and both streams' first rows are asked for at once before it: two streams in
 * flight instead of one, and the pass over v finds its rows in cache (a layer's 6 heads, 16-256
 * keys, cache in memory, one thread: 0.84-0.97x the time; decode 110M Q4_K 1.01x). */
#define ATT_PREFETCH_ROWS 8

/* The cache is fp32 or fp16 (f16, a constant where these are inlined: each body is compiled
 * for one element type). Element i of row p, 8 lanes from i; kv_ldm: rem lanes, zeros after
 * (an fp16 tail through a small copy). */
#define KV_ROW(p, j, ld, f16) ((const char *)(p) + (size_t)(j) * (size_t)(ld) * ((f16) ? 2u : 4u))
TGT static inline __m256 kv_ld8(const void *p, int64_t i, int f16) {
    return f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i))) : _mm256_loadu_ps((const float *)p + i);
}
TGT static inline __m256 kv_ldm(const void *p, int64_t i, int64_t rem, int f16) {
    if (!f16) return ldm((const float *)p + i, rem);
    if (rem >= 8) return kv_ld8(p, i, 1);
    uint16_t t[8] = {0};
    memcpy(t, (const uint16_t *)p + i, (size_t)rem * sizeof(uint16_t));
    return kv_ld8(t, 0, 1);
}

TGT static inline void prefetch_row(const void *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

/* out[0..64) = Σ_j p_j v_j[0..64): a full 64-lane piece of the head, without the tail's
 * conditions. With the cache in L1, scores8 and this took a 64-key row of a 64-lane head from
 * 42 to 19 cycles a key (in memory, as in decode, the row waits for the lines either way). */
TGT __attribute__((always_inline)) static inline void
pv64(float *restrict out, const float *restrict p, const void *restrict v, int64_t n, int64_t ld, int f16) {
    __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0, o6 = o0, o7 = o0;
    for (int64_t j = 0; j < n; j++) {
        const __m256 pj = _mm256_set1_ps(p[j]);
        const void *vj = KV_ROW(v, j, ld, f16);
        if (j + ATT_PREFETCH_ROWS < n) prefetch_row(KV_ROW(vj, ATT_PREFETCH_ROWS, ld, f16), f16 ? 128 : 256);
        o0 = _mm256_fmadd_ps(pj, kv_ld8(vj, 0, f16), o0);
        o1 = _mm256_fmadd_ps(pj, kv_ld8(vj, 8, f16), o1);
        o2 = _mm256_fmadd_ps(pj, kv_ld8(vj, 16, f16), o2);
        o3 = _mm256_fmadd_ps(pj, kv_ld8(vj, 24, f16), o3);
        o4 = _mm256_fmadd_ps(pj, kv_ld8(vj, 32, f16), o4);
        o5 = _mm256_fmadd_ps(pj, kv_ld8(vj, 40, f16), o5);
        o6 = _mm256_fmadd_ps(pj, kv_ld8(vj, 48, f16), o6);
        o7 = _mm256_fmadd_ps(pj, kv_ld8(vj, 56, f16), o7);
    }
    _mm256_storeu_ps(out, o0), _mm256_storeu_ps(out + 8, o1), _mm256_storeu_ps(out + 16, o2);
    _mm256_storeu_ps(out + 24, o3), _mm256_storeu_ps(out + 32, o4), _mm256_storeu_ps(out + 40, o5);
    _mm256_storeu_ps(out + 48, o6), _mm256_storeu_ps(out + 56, o7);
}

/* sc[0..8) = (q·k_r)·scale for the 8 keys k_r = k + r·ld, HS a multiple of 8: one accumulator a
 * key, 8 lanes of the head per FMA, then the 8 accumulators summed across lanes at once
 * (lane r of the result: key r's ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) — a
 * horizontal sum a key had cost more than its 8 FMAs. pf: ask for the keys (and the values
 * of the same rows) ATT_PREFETCH_ROWS ahead. */
TGT __attribute__((always_inline)) static inline void
scores8(float *sc, const float *restrict q, const void *restrict k, const void *v, int64_t ld, int HS, float scale,
        int pf, int f16) {
    const size_t row_bytes = (size_t)HS * (f16 ? 2u : 4u);
    if (pf)
        for (int r = 0; r < 8; r++) {
            prefetch_row(KV_ROW(k, ATT_PREFETCH_ROWS + r, ld, f16), row_bytes);
            prefetch_row(KV_ROW(v, ATT_PREFETCH_ROWS + r, ld, f16), row_bytes);
        }
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int i = 0; i < HS; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
        a0 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 0, ld, f16), i, f16), a0);
        a1 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 1, ld, f16), i, f16), a1);
        a2 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 2, ld, f16), i, f16), a2);
        a3 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 3, ld, f16), i, f16), a3);
        a4 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 4, ld, f16), i, f16), a4);
        a5 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 5, ld, f16), i, f16), a5);
        a6 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 6, ld, f16), i, f16), a6);
        a7 = _mm256_fmadd_ps(qv, kv_ld8(KV_ROW(k, 7, ld, f16), i, f16), a7);
    }
    const __m256 s0123 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    const __m256 s4567 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    const __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20), _mm256_permute2f128_ps(s0123, s4567, 0x31));
    _mm256_storeu_ps(sc, _mm256_mul_ps(sum, _mm256_set1_ps(scale)));
}

/* The attention row over an fp32 or fp16 cache. */
TGT __attribute__((always_inline)) static inline void
attention_row(float *restrict out, float *restrict scores, const float *restrict q, const void *restrict k,
              const void *restrict v, int64_t n, int64_t ld, int HS, float scale, int f16) {
    const size_t row_bytes = (size_t)HS * (f16 ? 2u : 4u);
    int64_t j = 0;
    if (HS % 8 == 0) {
        for (int64_t r = 0; r < ATT_PREFETCH_ROWS && r < n; r++)
            prefetch_row(KV_ROW(k, r, ld, f16), row_bytes), prefetch_row(KV_ROW(v, r, ld, f16), row_bytes);
        for (; j + 8 <= n; j += 8)
            scores8(scores + j, q, KV_ROW(k, j, ld, f16), KV_ROW(v, j, ld, f16), ld, HS, scale,
                    j + ATT_PREFETCH_ROWS + 8 <= n, f16);
    }
    /* the rest (and heads of other sizes): two keys at a time, 8 lanes of the head per FMA,
     * masked tail of the head */
    for (; j + 2 <= n; j += 2) {
        const void *k0 = KV_ROW(k, j, ld, f16), *k1 = KV_ROW(k, j + 1, ld, f16);
        if (j + ATT_PREFETCH_ROWS + 1 < n) {
            prefetch_row(KV_ROW(k0, ATT_PREFETCH_ROWS, ld, f16), row_bytes);
            prefetch_row(KV_ROW(k1, ATT_PREFETCH_ROWS, ld, f16), row_bytes);
        }
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (int i = 0; i < HS; i += 8) {
            const __m256 qv = ldm(q + i, HS - i);
            a0 = _mm256_fmadd_ps(qv, kv_ldm(k0, i, HS - i, f16), a0);
            a1 = _mm256_fmadd_ps(qv, kv_ldm(k1, i, HS - i, f16), a1);
        }
        scores[j] = hsum(a0) * scale, scores[j + 1] = hsum(a1) * scale;
    }
    for (; j < n; j++) {
        __m256 a0 = _mm256_setzero_ps();
        for (int i = 0; i < HS; i += 8) a0 = _mm256_fmadd_ps(ldm(q + i, HS - i), kv_ldm(KV_ROW(k, j, ld, f16), i, HS - i, f16), a0);
        scores[j] = hsum(a0) * scale;
    }
    gb_softmax_scaled_avx2(scores, gb_logsumexp_avx2(scores, (int)n), 1.0f, (int)n);
    /* out = Σ p_j v_j, 64 lanes of the head at a time: one pass over v for heads up to 64 (a
     * pass per 32 lanes read each row's lines twice, apart); a tail under 64 lanes with
     * conditions. Named accumulators: an array indexed in a loop stays on the stack at -O2. */
    for (int i0 = 0; i0 < HS; i0 += 64) {
        const int w = HS - i0;
        if (w >= 64) {
            pv64(out + i0, scores, (const char *)v + (size_t)i0 * (f16 ? 2u : 4u), n, ld, f16);
            continue;
        }
        const size_t ahead = (size_t)w * (f16 ? 2u : 4u);
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0, o6 = o0, o7 = o0;
        for (int64_t jj = 0; jj < n; jj++) {
            const __m256 p = _mm256_set1_ps(scores[jj]);
            const void *vj = KV_ROW(v, jj, ld, f16);
            if (jj + ATT_PREFETCH_ROWS < n) prefetch_row(KV_ROW(vj, ATT_PREFETCH_ROWS, ld, f16) + (size_t)i0 * (f16 ? 2u : 4u), ahead);
#define ACC(u, o) if (w > 8 * (u)) o = _mm256_fmadd_ps(p, kv_ldm(vj, i0 + 8 * (u), w - 8 * (u), f16), o)
            ACC(0, o0); ACC(1, o1); ACC(2, o2); ACC(3, o3); ACC(4, o4); ACC(5, o5); ACC(6, o6); ACC(7, o7);
#undef ACC
        }
#define OUT(u, o) if (w > 8 * (u)) stm(out + i0 + 8 * (u), w - 8 * (u), o)
        OUT(0, o0); OUT(1, o1); OUT(2, o2); OUT(3, o3); OUT(4, o4); OUT(5, o5); OUT(6, o6); OUT(7, o7);
#undef OUT
    }
}

TGT void gb_attention_row_avx2(float *restrict out, float *restrict scores, const float *restrict q,
                               const float *restrict k, const float *restrict v, int64_t n, int64_t ld, int HS,
                               float scale) {
    attention_row(out, scores, q, k, v, n, ld, HS, scale, 0);
}

TGT void gb_attention_row_f16_avx2(float *restrict out, float *restrict scores, const float *restrict q,
                                   const uint16_t *restrict k, const uint16_t *restrict v, int64_t n, int64_t ld,
                                   int HS, float scale) {
    attention_row(out, scores, q, k, v, n, ld, HS, scale, 1);
}

TGT void gb_silu_mul_inplace_avx2(float *g, const float *restrict u, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256 gv = ldm(g + i, n - i), uv = ldm(u + i, n - i);
        stm(g + i, n - i, _mm256_mul_ps(_mm256_mul_ps(gv, sigmoid256(gv)), uv));
    }
}

TGT void gb_swiglu_backward_avx2(float *restrict dg, float *restrict du, const float *restrict g,
                                 const float *restrict u, const float *restrict dout, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 8) {
        __m256 gv = ldm(g + i, n - i), uv = ldm(u + i, n - i);
        __m256 dy = ldm(dout + i, n - i), sig = sigmoid256(gv);
        /* dg = dy u sig (1 + g (1 - sig)); du = dy g sig */
        __m256 t = _mm256_fmadd_ps(gv, _mm256_sub_ps(one, sig), one);
        stm(dg + i, n - i, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dy, uv), sig), t));
        stm(du + i, n - i, _mm256_mul_ps(_mm256_mul_ps(dy, gv), sig));
    }
}

/* ---- optimizer ------------------------------------------------------------------------- */

TGT void gb_adamw_update_avx2(float *restrict p, const float *restrict g, float *restrict m,
                              float *restrict v, int64_t n, const gb_adamw_scalars *s) {
    const __m256 dm = _mm256_set1_ps(s->decay_mul), b1 = _mm256_set1_ps(s->beta1);
    const __m256 ob1 = _mm256_set1_ps(s->one_minus_beta1), b2 = _mm256_set1_ps(s->beta2);
    const __m256 ob2 = _mm256_set1_ps(s->one_minus_beta2), eps = _mm256_set1_ps(s->eps);
    const __m256 step = _mm256_set1_ps(s->step_size), bc2 = _mm256_set1_ps(s->bc2_sqrt);
    for (int64_t i = 0; i < n; i += 8) {
        int64_t rem = n - i;
        __m256 gi = ldm(g + i, rem);
        __m256 pi = _mm256_mul_ps(ldm(p + i, rem), dm);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(ldm(m + i, rem), b1), _mm256_mul_ps(ob1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(ldm(v + i, rem), b2),
                                  _mm256_mul_ps(ob2, _mm256_mul_ps(gi, gi)));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
        stm(p + i, rem, _mm256_sub_ps(pi, _mm256_mul_ps(step, _mm256_div_ps(mi, denom))));
        stm(m + i, rem, mi);
        stm(v + i, rem, vi);
    }
}

TGT double gb_sumsq_avx2(const float *x, int64_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 u = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
        __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(u)), d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1));
        __m256d d2 = _mm256_cvtps_pd(_mm256_castps256_ps128(w)), d3 = _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1));
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(d0, d0)), a1 = _mm256_add_pd(a1, _mm256_mul_pd(d1, d1));
        a2 = _mm256_add_pd(a2, _mm256_mul_pd(d2, d2)), a3 = _mm256_add_pd(a3, _mm256_mul_pd(d3, d3));
    }
    for (; i < n; i += 8) { /* masked lanes read 0 */
        __m256 u = ldm(x + i, n - i);
        __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(u)), d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1));
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(d0, d0)), a1 = _mm256_add_pd(a1, _mm256_mul_pd(d1, d1));
    }
    return hsum_pd(_mm256_add_pd(_mm256_add_pd(a0, a2), _mm256_add_pd(a1, a3)));
}

/* ---- softmax / cross-entropy ----------------------------------------------------------- */

TGT float gb_logsumexp_avx2(const float *restrict x, int V) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 m0 = ninf, m1 = ninf;
    int i = 0;
    for (; i + 16 <= V; i += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i < V; i += 8) {
        __m256i mk = tail_mask(V - i);
        m0 = _mm256_max_ps(m0, _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, mk), _mm256_castsi256_ps(mk)));
    }
    float mx = hmax(_mm256_max_ps(m0, m1));
    __m256 vm = _mm256_set1_ps(mx);
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (i = 0; i + 16 <= V; i += 16) {
        add_pd8(&a0, &a1, exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm)));
        add_pd8(&a2, &a3, exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm)));
    }
    for (; i < V; i += 8) {
        __m256i mk = tail_mask(V - i);
        __m256 e = exp256(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), vm));
        add_pd8(&a0, &a1, _mm256_and_ps(e, _mm256_castsi256_ps(mk)));
    }
    double s = hsum_pd(_mm256_add_pd(_mm256_add_pd(a0, a2), _mm256_add_pd(a1, a3)));
    return mx + (float)log(s); /* s >= 1: the largest logit contributes exp(0) */
}

TGT void gb_softmax_scaled_avx2(float *x, float lse, float scale, int V) {
    const __m256 l = _mm256_set1_ps(lse), sc = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= V; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), l)), sc));
    if (i < V) {
        __m256i mk = tail_mask(V - i);
        __m256 e = exp256(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), l));
        _mm256_maskstore_ps(x + i, mk, _mm256_mul_ps(e, sc));
    }
}

/* ---- layernorm ------------------------------------------------------------------------- */

TGT void gb_layernorm_row_avx2(float *restrict y, float *mean, float *rstd, const float *restrict x,
                               const float *restrict w, const float *restrict b, int C, float eps) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    for (int c = 0; c < C; c += 8) add_pd8(&a0, &a1, ldm(x + c, C - c));
    double mu = hsum_pd(_mm256_add_pd(a0, a1)) / C;
    /* variance about the double mean, as the scalar kernel: (x - mu) in double */
    __m256d vm = _mm256_set1_pd(mu), v0 = _mm256_setzero_pd(), v1 = v0;
    for (int c = 0; c < C; c += 8) {
        __m256i mk = tail_mask(C - c);
        __m256 xv = ldm(x + c, C - c);
        __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), vm);
        __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), vm);
        /* masked lanes read 0: (0 - mu)² must not count */
        __m256d m0 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(mk)));
        __m256d m1 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(mk, 1)));
        v0 = _mm256_add_pd(v0, _mm256_and_pd(m0, _mm256_mul_pd(d0, d0)));
        v1 = _mm256_add_pd(v1, _mm256_and_pd(m1, _mm256_mul_pd(d1, d1)));
    }
    double var = hsum_pd(_mm256_add_pd(v0, v1)) / C;
    float m = (float)mu, r = (float)(1.0 / sqrt(var + eps));
    __m256 mv = _mm256_set1_ps(m), rv = _mm256_set1_ps(r);
    for (int c = 0; c < C; c += 8) {
        __m256 xh = _mm256_mul_ps(_mm256_sub_ps(ldm(x + c, C - c), mv), rv);
        __m256 t = _mm256_mul_ps(xh, ldm(w + c, C - c));
        if (b) t = _mm256_add_ps(t, ldm(b + c, C - c));
        stm(y + c, C - c, t);
    }
    *mean = m, *rstd = r;
}

TGT float gb_rmsnorm_row_avx2(float *restrict y, const float *restrict x, const float *restrict w, int C,
                              float eps) {
    const float r = (float)(1.0 / sqrt(gb_sumsq_avx2(x, C) / C + eps));
    const __m256 rv = _mm256_set1_ps(r);
    for (int c = 0; c < C; c += 8) stm(y + c, C - c, _mm256_mul_ps(_mm256_mul_ps(ldm(x + c, C - c), rv), ldm(w + c, C - c)));
    return r;
}

TGT void gb_layernorm_row_backward_avx2(float *restrict dx, const float *restrict dy,
                                        const float *restrict x, const float *restrict w,
                                        float mean, float rstd, int C) {
    __m256 mv = _mm256_set1_ps(mean), rv = _mm256_set1_ps(rstd);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, t0 = s0, t1 = s0;
    for (int c = 0; c < C; c += 8) {
        __m256 dn = _mm256_mul_ps(ldm(w + c, C - c), ldm(dy + c, C - c));
        __m256 xh = _mm256_mul_ps(_mm256_sub_ps(ldm(x + c, C - c), mv), rv);
        add_pd8(&s0, &s1, dn);
        add_pd8(&t0, &t1, _mm256_mul_ps(dn, xh));
    }
    __m256 a = _mm256_set1_ps((float)(hsum_pd(_mm256_add_pd(s0, s1)) / C));
    __m256 bb = _mm256_set1_ps((float)(hsum_pd(_mm256_add_pd(t0, t1)) / C));
    for (int c = 0; c < C; c += 8) {
        __m256 dn = _mm256_mul_ps(ldm(w + c, C - c), ldm(dy + c, C - c));
        __m256 xh = _mm256_mul_ps(_mm256_sub_ps(ldm(x + c, C - c), mv), rv);
        __m256 g = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(dn, a), _mm256_mul_ps(xh, bb)), rv);
        stm(dx + c, C - c, _mm256_add_ps(ldm(dx + c, C - c), g));
    }
}

TGT void gb_layernorm_dw_avx2(float *restrict dw, float *restrict db, const float *restrict dout,
                              const float *restrict in, const float *restrict mean,
                              const float *restrict rstd, int64_t N, int C, int c0, int nc) {
    __m256 w0 = ldm(dw + c0, nc), w1 = ldm(dw + c0 + 8, nc - 8);
    __m256 b0 = db ? ldm(db + c0, nc) : _mm256_setzero_ps(), b1 = db ? ldm(db + c0 + 8, nc - 8) : b0;
    for (int64_t n = 0; n < N; n++) {
        const float *x = in + n * C + c0, *dy = dout + n * C + c0;
        __m256 m = _mm256_set1_ps(mean[n]), r = _mm256_set1_ps(rstd[n]);
        __m256 d0 = ldm(dy, nc), d1 = ldm(dy + 8, nc - 8);
        __m256 x0 = _mm256_mul_ps(_mm256_sub_ps(ldm(x, nc), m), r);
        __m256 x1 = _mm256_mul_ps(_mm256_sub_ps(ldm(x + 8, nc - 8), m), r);
        w0 = _mm256_add_ps(w0, _mm256_mul_ps(d0, x0)), w1 = _mm256_add_ps(w1, _mm256_mul_ps(d1, x1));
        b0 = _mm256_add_ps(b0, d0), b1 = _mm256_add_ps(b1, d1);
    }
    stm(dw + c0, nc, w0), stm(dw + c0 + 8, nc - 8, w1);
    if (db) stm(db + c0, nc, b0), stm(db + c0 + 8, nc - 8, b1);
}

/* ---- attention ------------------------------------------------------------------------- */

/* Work space of one task (see gb_attention_ws_floats in kernels.c):
 *   kt, vt (HS, TP): k and v of the head transposed, columns T..TP-1 zero
 *   s, p (QB, TP):   scores / probabilities of a block of query rows
 *   dp, ds (QB, TP): their gradients (backward)
 * TP = T rounded up to 16, so a 16-wide score tile never runs past a row. */
enum { QB = GB_ATTN_QB };

static inline int64_t round16(int64_t n) { return (n + 15) & ~(int64_t)15; }

/* dst (HS, TP) = src (T, HS) with row stride ld, transposed; zero columns T..TP-1 */
static void transpose_head(float *restrict dst, const float *restrict src, int64_t ld, int T, int HS,
                           int64_t TP) {
    for (int d = 0; d < HS; d++) {
        float *row = dst + (int64_t)d * TP;
        for (int j = 0; j < T; j++) row[j] = src[(int64_t)j * ld + d];
        for (int64_t j = T; j < TP; j++) row[j] = 0.0f;
    }
}

/* s (nr, jn16) = A (nr rows, stride lda) · bt (HS, TP)  (bt holds Bᵀ), nr <= QB;
 * 4-row by 16-column register tiles; s rows are TP apart. Rows beyond nr are not read. */
TGT static void tile_scores(float *restrict s, const float *a, int64_t lda, const float *restrict bt,
                            int nr, int64_t jn16, int HS, int64_t TP) {
    for (int r0 = 0; r0 < nr; r0 += 4) {
        const float *ar[4];
        for (int r = 0; r < 4; r++) ar[r] = a + (int64_t)(r0 + r < nr ? r0 + r : nr - 1) * lda;
        for (int64_t j = 0; j < jn16; j += 16) {
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00;
            __m256 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            const float *bp = bt + j;
            for (int d = 0; d < HS; d++, bp += TP) {
                __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
                __m256 x = _mm256_broadcast_ss(ar[0] + d);
                c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(ar[1] + d);
                c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(ar[2] + d);
                c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(ar[3] + d);
                c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
            }
            float *sr = s + (int64_t)r0 * TP + j;
            __m256 c[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
            for (int r = 0; r < 4 && r0 + r < nr; r++) {
                _mm256_storeu_ps(sr + r * TP, c[r][0]);
                _mm256_storeu_ps(sr + r * TP + 8, c[r][1]);
            }
        }
    }
}

/* y (HS) = scale · Σ_{j<n} w[j] · x_j, x_j rows of stride ld (overwrites y) */
TGT static void weighted_rows(float *restrict y, const float *restrict w, const float *x, int64_t ld,
                              int n, int HS, float scale) {
    const __m256 sc = _mm256_set1_ps(scale);
    int d = 0;
    /* 64 columns at a time where possible: 8 independent FMA chains hide the latency */
    for (; HS - d >= 64; d += 64) {
        __m256 a[8];
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++) a[u] = _mm256_setzero_ps();
        const float *xp = x + d;
        for (int j = 0; j < n; j++, xp += ld) {
            __m256 wj = _mm256_broadcast_ss(w + j);
    #pragma GCC unroll 8
        for (int u = 0; u < 8; u++) a[u] = _mm256_fmadd_ps(wj, _mm256_loadu_ps(xp + 8 * u), a[u]);
        }
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++) _mm256_storeu_ps(y + d + 8 * u, _mm256_mul_ps(a[u], sc));
    }
    for (; d < HS; d += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *xp = x + d;
        int rem = HS - d;
        if (rem >= 32) {
            for (int j = 0; j < n; j++, xp += ld) {
                __m256 wj = _mm256_broadcast_ss(w + j);
                a0 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(xp), a0);
                a1 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(xp + 8), a1);
                a2 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(xp + 16), a2);
                a3 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(xp + 24), a3);
            }
        } else {
            for (int j = 0; j < n; j++, xp += ld) {
                __m256 wj = _mm256_broadcast_ss(w + j);
                a0 = _mm256_fmadd_ps(wj, ldm(xp, rem), a0);
                a1 = _mm256_fmadd_ps(wj, ldm(xp + 8, rem - 8), a1);
                a2 = _mm256_fmadd_ps(wj, ldm(xp + 16, rem - 16), a2);
                a3 = _mm256_fmadd_ps(wj, ldm(xp + 24, rem - 24), a3);
            }
        }
        stm(y + d, rem, _mm256_mul_ps(a0, sc));
        stm(y + d + 8, rem - 8, _mm256_mul_ps(a1, sc));
        stm(y + d + 16, rem - 16, _mm256_mul_ps(a2, sc));
        stm(y + d + 24, rem - 24, _mm256_mul_ps(a3, sc));
    }
}

/* y (HS) += Σ_{r<n} w[r·TP] · x_r, x_r rows of stride ld */
TGT static void accumulate_rows(float *restrict y, const float *restrict w, int64_t TP, const float *x,
                                int64_t ld, int n, int HS) {
    int d = 0;
    for (; HS - d >= 64; d += 64) { /* 8 independent FMA chains */
        __m256 a[8];
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++) a[u] = _mm256_loadu_ps(y + d + 8 * u);
        const float *xp = x + d;
        for (int r = 0; r < n; r++, xp += ld) {
            __m256 wr = _mm256_broadcast_ss(w + (int64_t)r * TP);
    #pragma GCC unroll 8
        for (int u = 0; u < 8; u++) a[u] = _mm256_fmadd_ps(wr, _mm256_loadu_ps(xp + 8 * u), a[u]);
        }
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++) _mm256_storeu_ps(y + d + 8 * u, a[u]);
    }
    for (; d < HS; d += 32) {
        int rem = HS - d;
        __m256 a0 = ldm(y + d, rem), a1 = ldm(y + d + 8, rem - 8);
        __m256 a2 = ldm(y + d + 16, rem - 16), a3 = ldm(y + d + 24, rem - 24);
        const float *xp = x + d;
        if (rem >= 32) {
            for (int r = 0; r < n; r++, xp += ld) {
                __m256 wr = _mm256_broadcast_ss(w + (int64_t)r * TP);
                a0 = _mm256_fmadd_ps(wr, _mm256_loadu_ps(xp), a0);
                a1 = _mm256_fmadd_ps(wr, _mm256_loadu_ps(xp + 8), a1);
                a2 = _mm256_fmadd_ps(wr, _mm256_loadu_ps(xp + 16), a2);
                a3 = _mm256_fmadd_ps(wr, _mm256_loadu_ps(xp + 24), a3);
            }
        } else {
            for (int r = 0; r < n; r++, xp += ld) {
                __m256 wr = _mm256_broadcast_ss(w + (int64_t)r * TP);
                a0 = _mm256_fmadd_ps(wr, ldm(xp, rem), a0);
                a1 = _mm256_fmadd_ps(wr, ldm(xp + 8, rem - 8), a1);
                a2 = _mm256_fmadd_ps(wr, ldm(xp + 16, rem - 16), a2);
                a3 = _mm256_fmadd_ps(wr, ldm(xp + 24, rem - 24), a3);
            }
        }
        stm(y + d, rem, a0);
        stm(y + d + 8, rem - 8, a1);
        stm(y + d + 16, rem - 16, a2);
        stm(y + d + 24, rem - 24, a3);
    }
}

TGT static float dot_hs(const float *a, const float *b, int HS) {
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < HS; d += 8) acc = _mm256_fmadd_ps(ldm(a + d, HS - d), ldm(b + d, HS - d), acc);
    return hsum(acc);
}

TGT void gb_attention_head_forward_avx2(float *restrict out, float *restrict lse, float *restrict ws,
                                        const float *q, const float *k, const float *v, int64_t ld,
                                        int64_t ldo, int T, int HS) {
    int64_t TP = round16(T);
    float *kt = ws, *s = ws + 2 * (int64_t)HS * TP;
    const float scale = 1.0f / sqrtf((float)HS);
    const __m256 vscale = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    transpose_head(kt, k, ld, T, HS, TP);
    for (int i0 = 0; i0 < T; i0 += QB) {
        int nr = T - i0 < QB ? T - i0 : QB;
        tile_scores(s, q + (int64_t)i0 * ld, ld, kt, nr, round16(i0 + nr), HS, TP);
        for (int r = 0; r < nr; r++) {
            int i = i0 + r, n = i + 1; /* keys 0..i */
            float *sr = s + (int64_t)r * TP;
            __m256 mx = ninf;
            for (int j = 0; j < n; j += 8) {
                __m256 m = _mm256_castsi256_ps(tail_mask(n - j));
                __m256 x = _mm256_blendv_ps(ninf, _mm256_mul_ps(_mm256_loadu_ps(sr + j), vscale), m);
                _mm256_storeu_ps(sr + j, x);
                mx = _mm256_max_ps(mx, x);
            }
            float m = hmax(mx);
            __m256 vm = _mm256_set1_ps(m), sum = _mm256_setzero_ps();
            for (int j = 0; j < n; j += 8) { /* masked lanes hold -inf: exp gives 0 */
                __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(sr + j), vm));
                _mm256_storeu_ps(sr + j, e);
                sum = _mm256_add_ps(sum, e);
            }
            float tot = hsum(sum);
            lse[i] = m + logf(tot);
            weighted_rows(out + (int64_t)i * ldo, sr, v, ld, n, HS, 1.0f / tot);
        }
    }
}

TGT void gb_attention_group_backward_avx2(float *dq, float *dk, float *dv, float *restrict ws,
                                          const float *dout, const float *q, const float *k,
                                          const float *v, const float *out, const float *lse,
                                          int64_t ld, int64_t ldo, int T, int HS, int G) {
    int64_t TP = round16(T);
    float *kt = ws, *vt = ws + (int64_t)HS * TP, *p = vt + (int64_t)HS * TP;
    float *dp = p + QB * TP, *ds = dp + QB * TP;
    const float scale = 1.0f / sqrtf((float)HS);
    const __m256 vscale = _mm256_set1_ps(scale), zero = _mm256_setzero_ps();
    transpose_head(kt, k, ld, T, HS, TP);
    transpose_head(vt, v, ld, T, HS, TP);
    for (int j = 0; j < T; j++) {
        memset(dk + (int64_t)j * ld, 0, (size_t)HS * sizeof(float));
        memset(dv + (int64_t)j * ld, 0, (size_t)HS * sizeof(float));
    }
    for (int h = 0; h < G; h++) {
        const float *qh = q + (int64_t)h * HS, *doh = dout + (int64_t)h * HS, *oh = out + (int64_t)h * HS;
        const float *lh = lse + (int64_t)h * T;
        float *dqh = dq + (int64_t)h * HS;
        for (int i0 = 0; i0 < T; i0 += QB) {
            int nr = T - i0 < QB ? T - i0 : QB, jn = i0 + nr;
            int64_t jn16 = round16(jn);
            tile_scores(p, qh + (int64_t)i0 * ld, ld, kt, nr, jn16, HS, TP);
            tile_scores(dp, doh + (int64_t)i0 * ldo, ldo, vt, nr, jn16, HS, TP);
            for (int r = 0; r < nr; r++) {
                int i = i0 + r;
                float *pr = p + (int64_t)r * TP, *dpr = dp + (int64_t)r * TP, *dsr = ds + (int64_t)r * TP;
                __m256 D = _mm256_set1_ps(dot_hs(doh + (int64_t)i * ldo, oh + (int64_t)i * ldo, HS));
                __m256 l = _mm256_set1_ps(lh[i]);
                for (int j = 0; j < jn; j += 8) { /* keys past i: p = ds = 0 */
                    __m256 m = _mm256_castsi256_ps(tail_mask(i + 1 - j));
                    __m256 pv = exp256(_mm256_fmsub_ps(_mm256_loadu_ps(pr + j), vscale, l));
                    pv = _mm256_blendv_ps(zero, pv, m);
                    __m256 dsv = _mm256_mul_ps(_mm256_mul_ps(pv, _mm256_sub_ps(_mm256_loadu_ps(dpr + j), D)), vscale);
                    _mm256_storeu_ps(pr + j, pv);
                    _mm256_storeu_ps(dsr + j, dsv);
                }
                weighted_rows(dqh + (int64_t)i * ld, dsr, k, ld, i + 1, HS, 1.0f);
            }
            /* dk_j += Σ_r ds[r][j] q_r, dv_j += Σ_r p[r][j] dout_r over rows i0+r >= j */
            for (int j = 0; j < jn; j++) {
                int r0 = j > i0 ? j - i0 : 0;
                accumulate_rows(dk + (int64_t)j * ld, ds + (int64_t)r0 * TP + j, TP,
                                qh + (int64_t)(i0 + r0) * ld, ld, nr - r0, HS);
                accumulate_rows(dv + (int64_t)j * ld, p + (int64_t)r0 * TP + j, TP,
                                doh + (int64_t)(i0 + r0) * ldo, ldo, nr - r0, HS);
            }
        }
    }
}
#endif
