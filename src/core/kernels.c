/* glassbox — portable fp32 training kernels (see kernels.h for the contracts).
 *
 * Every `omp parallel for` below runs over a fixed index range with a static schedule, and
 * each output element is produced by exactly one iteration that sums in a fixed order, so
 * the bits never depend on how many threads there are or when they run. */
#include "core/kernels.h"

#include "core/gemm.h"
#include "core/kernels_internal.h"
#include "core/quant.h"
#include "glassbox/mem.h"

#include <math.h>
#include <string.h>

/* ---- ISA choice ------------------------------------------------------------------------ */

static int simd_state = -1; /* -1 not chosen yet, 0 scalar, 1 AVX2+FMA(+F16C) */

static int cpu_has_avx2(void) {
#ifdef GB_KERNELS_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && gb_cpu_has_f16c();
#else
    return 0;
#endif
}

static int simd(void) {
    int s = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = cpu_has_avx2();
        __atomic_store_n(&simd_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

int gb_kernels_use_simd(int on) {
    if (on && !cpu_has_avx2()) return 0;
    __atomic_store_n(&simd_state, on ? 1 : 0, __ATOMIC_RELAXED);
    return 1;
}

const char *gb_kernels_name(void) { return simd() ? "avx2" : "scalar"; }

/* Element-wise kernels run over chunks of this many elements (a multiple of 8), one chunk
 * per task: few enough tasks that the OpenMP overhead stays small. */
enum { EW_CHUNK = 16384 };

/* Σ a·b with eight lanes summed pairwise at the end: a fixed order that a compiler can
 * vectorise without reassociating. */
static inline float dot_f32(const float *restrict a, const float *restrict b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    for (int k = 0; i < n; i++, k++) acc[k] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* y (n) += a · x */
static inline void axpy_f32(float *restrict y, float a, const float *restrict x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* ---- matmul ---------------------------------------------------------------------------- */

/* The linear layers go through core/gemm.h (packed, cache-blocked, AVX2/AVX-512 picked at
 * run time, each output element's sum in an order fixed by the shapes alone). */

void gb_matmul_forward(float *restrict out, const float *restrict in, const float *restrict w,
                       const float *restrict b, int64_t N, int C, int OC) {
    gb_gemm_forward(out, in, w, b, N, C, OC);
}

void gb_matmul_backward(float *restrict dinp, float *restrict dw, float *restrict db,
                        const float *restrict dout, const float *restrict in,
                        const float *restrict w, int64_t N, int C, int OC) {
    if (dinp) gb_gemm_backward_input(dinp, dout, w, 0.0f, N, C, OC);
    gb_gemm_backward_weight(dw, db, dout, in, N, C, OC);
}

/* ---- norms ----------------------------------------------------------------------------- */

enum { NORM_CBLOCK = 16 }; /* channels per task when summing dw/db over rows */

void gb_layernorm_row(float *restrict y, float *restrict mean, float *restrict rstd, const float *restrict x,
                      const float *restrict w, const float *restrict b, int C, float eps) {
#ifdef GB_KERNELS_X86
    if (simd()) {
        gb_layernorm_row_avx2(y, mean, rstd, x, w, b, C, eps);
        return;
    }
#endif
    double s = 0, var = 0;
    for (int c = 0; c < C; c++) s += x[c];
    double mu = s / C;
    for (int c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
    float m = (float)mu, r = (float)(1.0 / sqrt(var / C + eps));
    for (int c = 0; c < C; c++) y[c] = (x[c] - m) * r * w[c] + (b ? b[c] : 0.0f);
    *mean = m, *rstd = r;
}

void gb_layernorm_forward(float *restrict out, float *restrict mean, float *restrict rstd,
                          const float *restrict in, const float *restrict w,
                          const float *restrict b, int64_t N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) gb_layernorm_row(out + n * C, mean + n, rstd + n, in + n * C, w, b, C, eps);
}

void gb_layernorm_backward(float *restrict dinp, float *restrict dw, float *restrict db,
                           const float *restrict dout, const float *restrict in,
                           const float *restrict w, const float *restrict mean,
                           const float *restrict rstd, int64_t N, int C) {
    int v = simd();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = in + n * C, *dy = dout + n * C;
        float m = mean[n], r = rstd[n];
        float *dx = dinp + n * C;
#ifdef GB_KERNELS_X86
        if (v) {
            gb_layernorm_row_backward_avx2(dx, dy, x, w, m, r, C);
            continue;
        }
#endif
        (void)v;
        double sd = 0, sdx = 0; /* mean of dx̂ and of dx̂·x̂ */
        for (int c = 0; c < C; c++) {
            float dn = w[c] * dy[c];
            sd += dn, sdx += dn * ((x[c] - m) * r);
        }
        float a = (float)(sd / C), bb = (float)(sdx / C);
        for (int c = 0; c < C; c++) {
            float xh = (x[c] - m) * r;
            dx[c] += (w[c] * dy[c] - a - xh * bb) * r;
        }
    }
    int ncb = (C + NORM_CBLOCK - 1) / NORM_CBLOCK;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < ncb; cb++) {
        int c0 = cb * NORM_CBLOCK, c1 = c0 + NORM_CBLOCK < C ? c0 + NORM_CBLOCK : C;
#ifdef GB_KERNELS_X86
        if (v) {
            gb_layernorm_dw_avx2(dw, db, dout, in, mean, rstd, N, C, c0, c1 - c0);
            continue;
        }
#endif
        for (int64_t n = 0; n < N; n++) {
            const float *x = in + n * C, *dy = dout + n * C;
            for (int c = c0; c < c1; c++) {
                dw[c] += dy[c] * ((x[c] - mean[n]) * rstd[n]);
                if (db) db[c] += dy[c];
            }
        }
    }
}

float gb_rmsnorm_row(float *restrict y, const float *restrict x, const float *restrict w, int C, float eps) {
#ifdef GB_KERNELS_X86
    if (simd()) return gb_rmsnorm_row_avx2(y, x, w, C, eps);
#endif
    double ss = 0;
    for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
    float r = (float)(1.0 / sqrt(ss / C + eps));
    for (int c = 0; c < C; c++) y[c] = x[c] * r * w[c];
    return r;
}

void gb_rmsnorm_forward(float *restrict out, float *restrict rstd, const float *restrict in,
                        const float *restrict w, int64_t N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) rstd[n] = gb_rmsnorm_row(out + n * C, in + n * C, w, C, eps);
}

void gb_rmsnorm_backward(float *restrict dinp, float *restrict dw, const float *restrict dout,
                         const float *restrict in, const float *restrict w,
                         const float *restrict rstd, int64_t N, int C) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = in + n * C, *dy = dout + n * C;
        float r = rstd[n];
        double sdx = 0;
        for (int c = 0; c < C; c++) sdx += (w[c] * dy[c]) * (x[c] * r);
        float bb = (float)(sdx / C);
        float *dx = dinp + n * C;
        for (int c = 0; c < C; c++) dx[c] += (w[c] * dy[c] - x[c] * r * bb) * r;
    }
    int ncb = (C + NORM_CBLOCK - 1) / NORM_CBLOCK;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < ncb; cb++) {
        int c0 = cb * NORM_CBLOCK, c1 = c0 + NORM_CBLOCK < C ? c0 + NORM_CBLOCK : C;
        for (int64_t n = 0; n < N; n++)
            for (int c = c0; c < c1; c++) dw[c] += dout[n * C + c] * (in[n * C + c] * rstd[n]);
    }
}

/* ---- embeddings ------------------------------------------------------------------------ */

void gb_embedding_forward(float *restrict out, const int32_t *restrict tok,
                          const float *restrict wte, const float *restrict wpe, int B, int T,
                          int C) {
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < (int64_t)B * T; bt++) {
        const float *e = wte + (int64_t)tok[bt] * C, *p = wpe ? wpe + (bt % T) * C : NULL;
        float *y = out + bt * C;
        for (int c = 0; c < C; c++) y[c] = e[c] + (p ? p[c] : 0.0f);
    }
}

void gb_embedding_backward(float *restrict dwte, float *restrict dwpe, const float *restrict dout,
                           const int32_t *restrict tok, int B, int T, int C) {
    /* a token may repeat, so split channels, not rows; rows are added in order */
    int ncb = (C + NORM_CBLOCK - 1) / NORM_CBLOCK;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < ncb; cb++) {
        int c0 = cb * NORM_CBLOCK, c1 = c0 + NORM_CBLOCK < C ? c0 + NORM_CBLOCK : C;
        for (int64_t bt = 0; bt < (int64_t)B * T; bt++) {
            float *d = dwte + (int64_t)tok[bt] * C;
            for (int c = c0; c < c1; c++) d[c] += dout[bt * C + c];
        }
    }
    if (!dwpe) return;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) axpy_f32(dwpe + (int64_t)t * C, 1.0f, dout + ((int64_t)b * T + t) * C, C);
}

/* ---- rotary positions ------------------------------------------------------------------ */

/* rotates the q and k heads of every token by +angle (dir 1) or -angle (dir -1) */
static void rope_apply(float *qkv, const float *restrict cos_t, const float *restrict sin_t, int B,
                       int T, int NH, int NKV, int HS, float dir) {
    int QKV = (NH + 2 * NKV) * HS, half = HS / 2;
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < (int64_t)B * T; bt++) {
        const float *cs = cos_t + (bt % T) * half, *sn = sin_t + (bt % T) * half;
        float *row = qkv + bt * QKV;
        for (int h = 0; h < NH + NKV; h++) { /* q heads then k heads: contiguous */
            float *x = row + (int64_t)h * HS;
            for (int i = 0; i < half; i++) {
                float c = cs[i], s = dir * sn[i], x0 = x[2 * i], x1 = x[2 * i + 1];
                x[2 * i] = x0 * c - x1 * s;
                x[2 * i + 1] = x0 * s + x1 * c;
            }
        }
    }
}

void gb_rope_forward(float *qkv, const float *restrict cos_t, const float *restrict sin_t, int B,
                     int T, int NH, int NKV, int HS) {
    rope_apply(qkv, cos_t, sin_t, B, T, NH, NKV, HS, 1.0f);
}

void gb_rope_backward(float *dqkv, const float *restrict cos_t, const float *restrict sin_t, int B,
                      int T, int NH, int NKV, int HS) {
    /* the rotation is orthogonal: its transpose is the rotation by -angle */
    rope_apply(dqkv, cos_t, sin_t, B, T, NH, NKV, HS, -1.0f);
}

/* ---- activations ----------------------------------------------------------------------- */

#define GELU_K 0.7978845608028654f /* sqrt(2/π) */

static void gelu_forward_ref(float *restrict out, const float *restrict in, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
    }
}

static void gelu_backward_ref(float *restrict dinp, const float *restrict in,
                              const float *restrict dout, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float x = in[i];
        float th = tanhf(GELU_K * (x + 0.044715f * x * x * x));
        float grad = 0.5f * (1.0f + th) +
                     0.5f * x * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = grad * dout[i];
    }
}

void gb_gelu_forward(float *restrict out, const float *restrict in, int64_t n) {
    int64_t nch = (n + EW_CHUNK - 1) / EW_CHUNK;
    int v = simd();
#pragma omp parallel for schedule(static) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t i0 = ch * EW_CHUNK, m = n - i0 < EW_CHUNK ? n - i0 : EW_CHUNK;
#ifdef GB_KERNELS_X86
        if (v) {
            gb_gelu_forward_avx2(out + i0, in + i0, m);
            continue;
        }
#endif
        (void)v;
        gelu_forward_ref(out + i0, in + i0, m);
    }
}

void gb_gelu_backward(float *restrict dinp, const float *restrict in, const float *restrict dout,
                      int64_t n) {
    int64_t nch = (n + EW_CHUNK - 1) / EW_CHUNK;
    int v = simd();
#pragma omp parallel for schedule(static) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t i0 = ch * EW_CHUNK, m = n - i0 < EW_CHUNK ? n - i0 : EW_CHUNK;
#ifdef GB_KERNELS_X86
        if (v) {
            gb_gelu_backward_avx2(dinp + i0, in + i0, dout + i0, m);
            continue;
        }
#endif
        (void)v;
        gelu_backward_ref(dinp + i0, in + i0, dout + i0, m);
    }
}

#define ELT_CHUNK 4096 /* elements per task of the element-wise loops */

/* g[i0, i1) = silu(g)·u, one thread */
static void silu_mul_chunk(float *g, const float *restrict u, int64_t i0, int64_t i1, int v) {
#ifdef GB_KERNELS_X86
    if (v) {
        gb_silu_mul_inplace_avx2(g + i0, u + i0, i1 - i0);
        return;
    }
#endif
    (void)v;
    for (int64_t i = i0; i < i1; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void gb_silu_mul_inplace(float *g, const float *restrict u, int64_t n) {
    int v = simd();
    const int64_t n_chunks = (n + ELT_CHUNK - 1) / ELT_CHUNK;
    if (n_chunks <= 1) { /* decode calls this inside its parallel region: no nested one (0.3 µs) */
        silu_mul_chunk(g, u, 0, n, v);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < n_chunks; c++) {
        const int64_t i0 = c * ELT_CHUNK;
        silu_mul_chunk(g, u, i0, i0 + ELT_CHUNK < n ? i0 + ELT_CHUNK : n, v);
    }
}

/* Element i of an fp32 (f16 0) or fp16 cache. */
static inline float kv_at(const void *p, int64_t i, int f16) {
    return f16 ? gb_fp16_to_fp32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

/* The attention row's scalar loop over either cache. */
static void attention_row_ref(float *restrict out, float *restrict scores, const float *restrict q,
                              const void *restrict k, const void *restrict v, int64_t n, int64_t ld, int HS,
                              float scale, int f16) {
    for (int64_t j = 0; j < n; j++) {
        float d = 0;
        for (int i = 0; i < HS; i++) d += q[i] * kv_at(k, j * ld + i, f16);
        scores[j] = d * scale;
    }
    gb_softmax_row(scores, (int)n);
    memset(out, 0, (size_t)HS * sizeof(float));
    for (int64_t j = 0; j < n; j++)
        for (int i = 0; i < HS; i++) out[i] += scores[j] * kv_at(v, j * ld + i, f16);
}

void gb_attention_row(float *restrict out, float *restrict scores, const float *restrict q,
                      const float *restrict k, const float *restrict v, int64_t n, int64_t ld, int HS,
                      float scale) {
#ifdef GB_KERNELS_X86
    if (simd()) {
        gb_attention_row_avx2(out, scores, q, k, v, n, ld, HS, scale);
        return;
    }
#endif
    attention_row_ref(out, scores, q, k, v, n, ld, HS, scale, 0);
}

void gb_attention_row_f16(float *restrict out, float *restrict scores, const float *restrict q,
                          const uint16_t *restrict k, const uint16_t *restrict v, int64_t n, int64_t ld, int HS,
                          float scale) {
#ifdef GB_KERNELS_X86
    if (simd()) {
        gb_attention_row_f16_avx2(out, scores, q, k, v, n, ld, HS, scale);
        return;
    }
#endif
    attention_row_ref(out, scores, q, k, v, n, ld, HS, scale, 1);
}

void gb_softmax_row(float *x, int n) {
#ifdef GB_KERNELS_X86
    if (simd()) {
        gb_softmax_scaled_avx2(x, gb_logsumexp_avx2(x, n), 1.0f, n);
        return;
    }
#endif
    float mx = -INFINITY, sum = 0;
    for (int j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    for (int j = 0; j < n; j++) sum += (x[j] = expf(x[j] - mx));
    const float inv = 1.0f / sum;
    for (int j = 0; j < n; j++) x[j] *= inv;
}

void gb_swiglu_forward(float *restrict out, const float *restrict in, int64_t N, int F) {
    int v = simd();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *g = in + n * 2 * F, *u = g + F;
        float *y = out + n * F;
#ifdef GB_KERNELS_X86
        if (v) {
            gb_swiglu_forward_avx2(y, g, u, F);
            continue;
        }
#endif
        (void)v;
        for (int i = 0; i < F; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}

void gb_swiglu_backward(float *restrict dinp, const float *restrict in, const float *restrict dout,
                        int64_t N, int F) {
    int v = simd();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *g = in + n * 2 * F, *u = g + F, *dy = dout + n * F;
        float *dg = dinp + n * 2 * F, *du = dg + F;
#ifdef GB_KERNELS_X86
        if (v) {
            gb_swiglu_backward_avx2(dg, du, g, u, dy, F);
            continue;
        }
#endif
        (void)v;
        for (int i = 0; i < F; i++) {
            float sig = 1.0f / (1.0f + expf(-g[i]));
            dg[i] = dy[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
            du[i] = dy[i] * g[i] * sig;
        }
    }
}

/* ---- attention ------------------------------------------------------------------------- */

/* The AVX2 attention bodies take a work space per thread, allocated once per call (a few
 * hundred KiB). If it cannot be allocated that thread's tasks take the scalar path:
 * slower, still correct. */
size_t gb_attention_ws_floats(int T, int HS) {
    size_t TP = ((size_t)T + 15) & ~(size_t)15;
    return (2 * (size_t)HS + 3 * GB_ATTN_QB) * TP;
}

/* one (batch, head) of the forward, scalar: s (T) holds one query's scores at a time */
static void attention_head_forward_ref(float *restrict out, float *restrict lse, float *restrict s,
                                       const float *base, int b, int h, int T, int NH, int NKV,
                                       int HS) {
    int C = NH * HS, KVC = NKV * HS, QKV = C + 2 * KVC, g = h / (NH / NKV);
    float scale = 1.0f / sqrtf((float)HS);
    for (int i = 0; i < T; i++) {
        const float *q = base + (int64_t)i * QKV + h * HS;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) {
            s[j] = dot_f32(q, base + (int64_t)j * QKV + C + g * HS, HS) * scale;
            if (s[j] > mx) mx = s[j];
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) sum += (s[j] = expf(s[j] - mx));
        float inv = (float)(1.0 / sum);
        float *o = out + ((int64_t)b * T + i) * C + h * HS;
        memset(o, 0, (size_t)HS * sizeof(float));
        for (int j = 0; j <= i; j++) axpy_f32(o, s[j] * inv, base + (int64_t)j * QKV + C + KVC + g * HS, HS);
        lse[i] = mx + (float)log(sum);
    }
}

void gb_attention_forward(float *restrict out, float *restrict lse, float *restrict scratch,
                          const float *restrict qkv, int B, int T, int NH, int NKV, int HS) {
    int C = NH * HS, KVC = NKV * HS, QKV = C + 2 * KVC, G = NH / NKV;
    int v = simd();
#pragma omp parallel
    {
        float *ws = v ? gb_alloc(gb_attention_ws_floats(T, HS) * sizeof(float)) : NULL;
        /* one task per (batch, head) */
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH, g = h / G;
            const float *base = qkv + (int64_t)b * T * QKV;
#ifdef GB_KERNELS_X86
            if (ws) {
                gb_attention_head_forward_avx2(out + (int64_t)b * T * C + h * HS, lse + (int64_t)bh * T, ws,
                                               base + h * HS, base + C + g * HS, base + C + KVC + g * HS,
                                               QKV, C, T, HS);
                continue;
            }
#endif
            (void)g;
            attention_head_forward_ref(out, lse + (int64_t)bh * T, scratch + (int64_t)bh * T, base, b, h,
                                       T, NH, NKV, HS);
        }
        gb_free(ws);
    }
}

/* one (batch, kv head) of the backward, scalar (see gb_attention_backward) */
static void attention_group_backward_ref(float *restrict dqkv, const float *restrict dout,
                                         const float *restrict qkv, const float *restrict out,
                                         const float *restrict lse, int b, int g, int T, int NH,
                                         int NKV, int HS) {
    int C = NH * HS, KVC = NKV * HS, QKV = C + 2 * KVC, G = NH / NKV;
    float scale = 1.0f / sqrtf((float)HS);
    const float *base = qkv + (int64_t)b * T * QKV;
    float *dbase = dqkv + (int64_t)b * T * QKV;
    for (int t = 0; t < T; t++) {
        float *row = dbase + (int64_t)t * QKV;
        memset(row + g * G * HS, 0, (size_t)G * HS * sizeof(float));
        memset(row + C + g * HS, 0, (size_t)HS * sizeof(float));
        memset(row + C + KVC + g * HS, 0, (size_t)HS * sizeof(float));
    }
    for (int h = g * G; h < (g + 1) * G; h++) {
        for (int i = 0; i < T; i++) {
            const float *q = base + (int64_t)i * QKV + h * HS;
            float *dq = dbase + (int64_t)i * QKV + h * HS;
            const float *dy = dout + ((int64_t)b * T + i) * C + h * HS;
            const float *y = out + ((int64_t)b * T + i) * C + h * HS;
            float D = dot_f32(dy, y, HS); /* Σ_j p_ij dp_ij */
            float l = lse[((int64_t)b * NH + h) * T + i];
            for (int j = 0; j <= i; j++) {
                const float *k = base + (int64_t)j * QKV + C + g * HS, *v = k + KVC;
                float *dk = dbase + (int64_t)j * QKV + C + g * HS, *dv = dk + KVC;
                float p = expf(dot_f32(q, k, HS) * scale - l);
                float ds = p * (dot_f32(dy, v, HS) - D) * scale;
                axpy_f32(dv, p, dy, HS);
                axpy_f32(dq, ds, k, HS);
                axpy_f32(dk, ds, q, HS);
            }
        }
    }
}

void gb_attention_backward(float *restrict dqkv, const float *restrict dout,
                           const float *restrict qkv, const float *restrict out,
                           const float *restrict lse, int B, int T, int NH, int NKV, int HS) {
    int C = NH * HS, KVC = NKV * HS, QKV = C + 2 * KVC, G = NH / NKV;
    int v = simd();
    /* One task per (batch, kv head): it owns dk, dv of that kv head and dq of the G query
     * heads that read it, so no two tasks write the same element and each sums in order. */
#pragma omp parallel
    {
        float *ws = v ? gb_alloc(gb_attention_ws_floats(T, HS) * sizeof(float)) : NULL;
#pragma omp for schedule(static)
        for (int bg = 0; bg < B * NKV; bg++) {
            int b = bg / NKV, g = bg % NKV;
#ifdef GB_KERNELS_X86
            if (ws) {
                int64_t r0 = (int64_t)b * T * QKV, o0 = (int64_t)b * T * C + (int64_t)g * G * HS;
                gb_attention_group_backward_avx2(dqkv + r0 + g * G * HS, dqkv + r0 + C + g * HS,
                                                 dqkv + r0 + C + KVC + g * HS, ws, dout + o0,
                                                 qkv + r0 + g * G * HS, qkv + r0 + C + g * HS,
                                                 qkv + r0 + C + KVC + g * HS, out + o0,
                                                 lse + ((int64_t)b * NH + (int64_t)g * G) * T, QKV, C,
                                                 T, HS, G);
                continue;
            }
#endif
            (void)v, (void)QKV, (void)G; /* used by the x86 path only */
            attention_group_backward_ref(dqkv, dout, qkv, out, lse, b, g, T, NH, NKV, HS);
        }
        gb_free(ws);
    }
}

/* ---- loss ------------------------------------------------------------------------------ */

float gb_crossentropy_forward(float *restrict lse, const float *restrict logits,
                              const int32_t *restrict targets, int64_t N, int V) {
    int vec = simd();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = logits + n * V;
#ifdef GB_KERNELS_X86
        if (vec) {
            lse[n] = gb_logsumexp_avx2(x, V);
            continue;
        }
#endif
        (void)vec;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (x[i] > mx) mx = x[i];
        double s = 0;
        for (int i = 0; i < V; i++) s += expf(x[i] - mx);
        /* s >= 1: the largest logit contributes exp(0) */
        // cppcheck-suppress invalidFunctionArg
        lse[n] = mx + (float)log(s);
    }
    double loss = 0;
    for (int64_t n = 0; n < N; n++) loss += (double)lse[n] - logits[n * V + targets[n]];
    return (float)(loss / (double)N);
}

void gb_crossentropy_backward(float *logits, const float *restrict lse,
                              const int32_t *restrict targets, int64_t N, int V, float dloss) {
    float scale = dloss / (float)N;
    int vec = simd();
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        float *x = logits + n * V;
#ifdef GB_KERNELS_X86
        if (vec) gb_softmax_scaled_avx2(x, lse[n], scale, V);
        else
#endif
            for (int i = 0; i < V; i++) x[i] = expf(x[i] - lse[n]) * scale;
        (void)vec;
        x[targets[n]] -= scale;
    }
}

/* ---- small vector ops ------------------------------------------------------------------ */

void gb_add_forward(float *restrict out, const float *restrict a, const float *restrict b,
                    int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

enum { SUMSQ_PARTS = 256 };

double gb_sumsq(const float *x, int64_t n) {
    /* SUMSQ_PARTS contiguous parts whose size depends on n only, each summed in order, the
     * partial sums added in order: one parallel region, and the result does not depend on
     * the thread count */
    double part[SUMSQ_PARTS];
    int64_t per = ((n + SUMSQ_PARTS - 1) / SUMSQ_PARTS + 63) & ~(int64_t)63;
    int vec = simd();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int k = 0; k < SUMSQ_PARTS; k++) {
        int64_t i0 = k * per < n ? k * per : n, i1 = i0 + per < n ? i0 + per : n;
#ifdef GB_KERNELS_X86
        if (vec) {
            part[k] = gb_sumsq_avx2(x + i0, i1 - i0);
            continue;
        }
#endif
        (void)vec;
        double sum = 0;
        for (int64_t i = i0; i < i1; i++) sum += (double)x[i] * x[i];
        part[k] = sum;
    }
    double total = 0;
    for (int k = 0; k < SUMSQ_PARTS; k++) total += part[k];
    return total;
}

void gb_scale(float *x, float s, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

static void adamw_body(float *restrict p, const float *restrict g, float *restrict m,
                       float *restrict v, int64_t n, const gb_adamw_scalars *s, int vec) {
#ifdef GB_KERNELS_X86
    if (vec) {
        gb_adamw_update_avx2(p, g, m, v, n, s);
        return;
    }
#endif
    (void)vec;
    gb_adamw_scalars k = *s;
    for (int64_t i = 0; i < n; i++) {
        float pi = p[i] * k.decay_mul;
        float mi = m[i] * k.beta1 + k.one_minus_beta1 * g[i];
        float vi = v[i] * k.beta2 + k.one_minus_beta2 * (g[i] * g[i]);
        float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
        p[i] = pi - k.step_size * (mi / denom);
        m[i] = mi, v[i] = vi;
    }
}

void gb_adamw_update(float *restrict p, const float *restrict g, float *restrict m,
                     float *restrict v, int64_t n, const gb_adamw_scalars *s) {
    int64_t nch = (n + EW_CHUNK - 1) / EW_CHUNK;
    int vec = simd();
#pragma omp parallel for schedule(static) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t i0 = ch * EW_CHUNK, i1 = n - i0 < EW_CHUNK ? n : i0 + EW_CHUNK;
        adamw_body(p + i0, g + i0, m + i0, v + i0, i1 - i0, s, vec);
    }
}

void gb_adamw_update_serial(float *restrict p, const float *restrict g, float *restrict m,
                            float *restrict v, int64_t n, const gb_adamw_scalars *s) {
    adamw_body(p, g, m, v, n, s, simd());
}
