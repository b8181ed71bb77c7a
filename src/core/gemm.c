/* glassbox — fp32 GEMM driver: blocking, packing, threads, kernel choice (see gemm.h).
 *
 * Loop nest (GotoBLAS / BLIS), for one gb_sgemm call:
 *
 *   for jc in N step NC                       B block (KC x NC) shared by all threads, in L3
 *     for pc in K step KC                     each output element's K-sum goes block by block
 *       pack B[pc.., jc..] cooperatively      into NR-column micro-panels (two buffers,
 *                                           alternating); barrier
 *       for ic in my rows step MC             A block (MC x KC) private to a thread, in L2
 *         pack A[ic.., pc..]                  into MR-row micro-panels
 *         for jr in my NR-panels              B micro-panel (KC x NR) stays in L1
 *           for ir in MR-panels of the block  micro-kernel: MR x NR accumulators in registers
 *
 * Threads form a tm x tn grid over the output (rows split in MR tiles, NR-panels split
 * within each NC block); the split points are multiples of MR and NR, so the micro-tile grid
 * is the same for every thread count. KC depends only on K and the kernel. Together these make
 * the result the same bits for any thread count: an element's value depends only on its
 * tile's kernel call sequence over pc, which no split changes. */
#include "core/gemm.h"

#include <omp.h>
#include <sched.h>
#include <string.h>

#include "core/gemm_internal.h"
#include "glassbox/mem.h"
#include "glassbox/sys.h"

/* ---- kernels ------------------------------------------------------------------------- */

/* One kernel and the blocking that suits it. mc, kc, nc are upper bounds; the driver evens
 * them out per call (kc from K alone, so the K-sum order never depends on anything else). */
typedef struct {
    const char *name;
    gb_gemm_isa isa;
    int mr, nr;
    int64_t mc, kc, nc;
    gemm_ukernel kernel;
    gemm_dot dot;
    gemm_pack_panel pack_a, pack_b; /* SIMD c-major packing of a full panel, or NULL */
} gemm_impl;

#define SC_MR 4
#define SC_NR 8

/* The portable reference micro-kernel (contract in gemm_internal.h, with a separate multiply
 * and add instead of the fused one: plain C may not have a fast fma). */
static void ukernel_scalar(int64_t kc, const float *restrict a, const float *restrict b,
                           float *restrict c, int64_t ldc, float alpha, float beta,
                           const float *restrict bias) {
    float acc[SC_MR][SC_NR] = {{0}};
    for (int64_t k = 0; k < kc; k++) {
        for (int i = 0; i < SC_MR; i++) {
            float ai = a[i];
            for (int j = 0; j < SC_NR; j++) acc[i][j] += ai * b[j];
        }
        a += SC_MR;
        b += SC_NR;
    }
    for (int i = 0; i < SC_MR; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < SC_NR; j++) {
            float t = acc[i][j];
            if (alpha != 1.0f) t = alpha * t;
            if (beta == 1.0f) t = t + ci[j];
            else if (beta != 0.0f) t = t + beta * ci[j];
            if (bias) t = t + bias[j];
            ci[j] = t;
        }
    }
}

static float dot_scalar(const float *restrict x, const float *restrict y, int64_t n) {
    float t = 0.0f;
    for (int64_t k = 0; k < n; k++) t += x[k] * y[k];
    return t;
}

static const gemm_impl impl_scalar = {"scalar", GB_GEMM_SCALAR, SC_MR, SC_NR, 128, 256, 2048,
                                      ukernel_scalar, dot_scalar, NULL, NULL};
#if defined(__x86_64__) || defined(__i386__)
#define GEMM_X86 1
/* Zen 3 (L1d 32 KiB, L2 512 KiB per core): a 384 x 16 B micro-panel is 24 KiB of L1, a
 * 120 x 384 A block 180 KiB of L2, a 384 x 4096 B block 6 MiB of the shared L3. Measured
 * best of KC 256..512 x MC 72..240 on the GPT-2 shapes. */
static const gemm_impl impl_avx2 = {"avx2", GB_GEMM_AVX2, 6, 16, 120, 384, 4096,
                                    gb_gemm_ukernel_avx2_6x16, gb_gemm_dot_avx2,
                                    gb_gemm_pack6_cmajor_avx2, gb_gemm_pack16_cmajor_avx2};
/* Skylake-SP / Zen 4 (L1d 32-48 KiB, L2 1-2 MiB): 256 x 32 B micro-panel 32 KiB. */
static const gemm_impl impl_avx512 = {"avx512", GB_GEMM_AVX512, 12, 32, 240, 256, 4096,
                                      gb_gemm_ukernel_avx512_12x32, gb_gemm_dot_avx512, NULL,
                                      NULL};
#endif

static const gemm_impl *active;

static int cpu_runs(gb_gemm_isa isa) {
    switch (isa) {
    case GB_GEMM_SCALAR: return 1;
#ifdef GEMM_X86
    case GB_GEMM_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GB_GEMM_AVX512: __builtin_cpu_init(); return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

static const gemm_impl *impl_for(gb_gemm_isa isa) {
    switch (isa) {
#ifdef GEMM_X86
    case GB_GEMM_AVX2: return &impl_avx2;
    case GB_GEMM_AVX512: return &impl_avx512;
#endif
    default: return &impl_scalar;
    }
}

static const gemm_impl *best_impl(void) {
    if (cpu_runs(GB_GEMM_AVX512)) return impl_for(GB_GEMM_AVX512);
    if (cpu_runs(GB_GEMM_AVX2)) return impl_for(GB_GEMM_AVX2);
    return &impl_scalar;
}

/* The first call may race with another first call; both store the same pointer. */
static const gemm_impl *get_impl(void) {
    const gemm_impl *im = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
    if (!im) {
        im = best_impl();
        __atomic_store_n(&active, im, __ATOMIC_RELEASE);
    }
    return im;
}

int gb_gemm_use(gb_gemm_isa isa) {
    if (isa == GB_GEMM_AUTO) {
        __atomic_store_n(&active, best_impl(), __ATOMIC_RELEASE);
        return 1;
    }
    if (!cpu_runs(isa)) return 0;
    __atomic_store_n(&active, impl_for(isa), __ATOMIC_RELEASE);
    return 1;
}

const char *gb_gemm_kernel_name(void) { return get_impl()->name; }

/* ---- packing ------------------------------------------------------------------------- */

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Packing copies a block of op(A) or op(B) into w-wide micro-panels: panel p (w = MR rows of
 * A, or NR columns of B) is kc x w at dst + p*kc*w, dst[k*w + c] = element (k, c0 + p*w + c),
 * lanes past n zero (the kernel always runs full tiles; the padding never reaches C).
 * The source S holds the block one of two ways, which covers all four (op, matrix) cases:
 *   k-major  S[(k0+k)*lds + c]  — Aᵀ stored (K,M), B stored (K,N): rows copy straight;
 *   c-major  S[c*lds + k0+k]    — A stored (M,K), Bᵀ stored (N,K): a transposing gather.
 * Inlined per w so the copies unroll into fixed-width moves. */
static inline __attribute__((always_inline)) void
pack_kmajor(float *restrict dst, const float *restrict S, int64_t lds, int64_t k0, int64_t kc,
            int64_t c0, int64_t n, int64_t p0, int64_t p1, const int w) {
    int64_t pfull = n / w < p1 ? n / w : p1; /* panels before pfull are whole */
    for (int64_t k = 0; k < kc; k++) {
        const float *row = S + (k0 + k) * lds + c0;
        for (int64_t p = p0; p < pfull; p++) /* constant-size memcpy: a few moves, no call */
            memcpy(dst + (p * kc + k) * w, row + p * w, (size_t)w * sizeof(float));
        for (int64_t p = pfull > p0 ? pfull : p0; p < p1; p++) {
            float *d = dst + (p * kc + k) * w;
            for (int c = 0; c < w; c++) d[c] = p * w + c < n ? row[p * w + c] : 0.0f;
        }
    }
}

static inline __attribute__((always_inline)) void
pack_cmajor(float *restrict dst, const float *restrict S, int64_t lds, int64_t k0, int64_t kc,
            int64_t c0, int64_t n, int64_t p0, int64_t p1, const int w, gemm_pack_panel simd) {
    for (int64_t p = p0; p < p1; p++) {
        float *d = dst + p * kc * w;
        const float *src = S + (c0 + p * w) * lds + k0;
        int cols = n - p * w < w ? (int)(n - p * w) : w;
        if (cols == w && simd) {
            simd(d, src, lds, kc);
        } else if (cols == w) {
            for (int64_t k = 0; k < kc; k++) {
                if ((k & 15) == 0) /* w strided rows outrun the hardware prefetcher */
                    for (int c = 0; c < w; c++) __builtin_prefetch(src + c * lds + k + 64);
                for (int c = 0; c < w; c++) d[k * w + c] = src[c * lds + k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int c = 0; c < w; c++) d[k * w + c] = c < cols ? src[c * lds + k] : 0.0f;
        }
    }
}

static void pack(float *restrict dst, const float *restrict S, int64_t lds, int kmajor, int64_t k0,
                 int64_t kc, int64_t c0, int64_t n, int64_t p0, int64_t p1, int w,
                 gemm_pack_panel simd) {
#define PACK_W(W) \
    do { \
        if (kmajor) pack_kmajor(dst, S, lds, k0, kc, c0, n, p0, p1, W); \
        else pack_cmajor(dst, S, lds, k0, kc, c0, n, p0, p1, W, simd); \
    } while (0)
    switch (w) {
    case 4: PACK_W(4); break;
    case 6: PACK_W(6); break;
    case 8: PACK_W(8); break;
    case 12: PACK_W(12); break;
    case 16: PACK_W(16); break;
    case 32: PACK_W(32); break;
    default: PACK_W(w); break;
    }
#undef PACK_W
}

/* ---- driver -------------------------------------------------------------------------- */

typedef struct {
    const gemm_impl *im;
    int transA, transB;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B, *bias;
    int64_t lda, ldb, ldc;
    float *C;
    int64_t kcb, ncb, mcmax; /* K block (from K only), N block, largest A block rows */
    float *bpack[2];         /* kcb x ncb each, shared; K blocks alternate between them */
    float *apack;            /* nthreads x (mcmax x kcb), one per thread */
} gemm_job;

/* The team's barrier, one per K block. It spins briefly, then yields the core: on a busy
 * machine a late thread is usually waiting for a core, and a spinning one would take it
 * (OpenMP's barrier spins for a long while first). */
typedef struct {
    int arrived; /* threads at the barrier in this round */
    int sense;   /* flips when a round completes */
    int n;       /* team size */
} gemm_barrier;

static void barrier_wait(gemm_barrier *b, int *local_sense) {
    int s = !*local_sense;
    *local_sense = s;
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->n) {
        __atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
        return;
    }
    for (int spins = 0; __atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s; spins++) {
        if (spins >= 4000) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
}

/* The micro-kernel's epilogue (gemm_internal.h), in scalar code. */
static inline float epilogue(float t, float alpha, float beta, const float *c, const float *bias) {
    if (alpha != 1.0f) t = alpha * t;
    if (beta == 1.0f) t = t + *c;
    else if (beta != 0.0f) t = t + beta * *c;
    if (bias) t = t + *bias;
    return t;
}

/* Splits n units into parts as even as possible: [start of part p, start of part p+1). */
static int64_t split(int64_t n, int parts, int p) { return n * p / parts; }

/* Chooses the thread grid tm x tn (tm·tn = nt) that minimises the busiest thread's work:
 * its padded tile area times K, plus packing (each thread packs its rows of A once per NC
 * block, and an nt-th of B). Ties go to more row splits, which pack A once in all. */
static void choose_grid(const gemm_impl *im, int64_t M, int64_t N, int64_t K, int nt, int *tm,
                        int *tn) {
    const double pack_cost = 8.0; /* packing one float ~ this many multiply-adds */
    int64_t mt = cdiv(M, im->mr), nb = cdiv(N, im->nc);
    int64_t nt_panels = cdiv(N < im->nc ? N : im->nc, im->nr);
    double best = 0;
    for (int a = nt; a >= 1; a--) {
        if (nt % a) continue;
        int b = nt / a;
        double rows = (double)cdiv(mt, a) * im->mr, cols = (double)cdiv(nt_panels, b) * im->nr;
        double work = rows * cols * (double)nb * (double)K + pack_cost * rows * (double)K * nb +
                      pack_cost * (double)N * (double)K / nt;
        if (a == nt || work < best * 0.999) {
            best = work;
            *tm = a;
            *tn = b;
        }
    }
}

/* One thread's part of the job; every thread of the team runs it (barriers inside). */
static void gemm_thread(const gemm_job *jb, gemm_barrier *bar, int t, int nt) {
    const gemm_impl *im = jb->im;
    const int mr = im->mr, nr = im->nr;
    int tm = 1, tn = 1;
    choose_grid(im, jb->M, jb->N, jb->K, nt, &tm, &tn);
    int ti = t / tn, tj = t % tn;
    int64_t mt = cdiv(jb->M, mr);
    int64_t row0 = split(mt, tm, ti) * mr, row1 = split(mt, tm, ti + 1) * mr;
    if (row1 > jb->M) row1 = jb->M;
    int64_t myrows = row1 - row0;
    /* even A blocks of at most mc rows, in whole micro-tiles */
    int64_t nblk = myrows > 0 ? cdiv(myrows, im->mc) : 1;
    int64_t mcb = cdiv(cdiv(myrows, nblk), mr) * mr;
    float *ap = jb->apack + (int64_t)t * jb->mcmax * jb->kcb;
    float ct[GEMM_MR_MAX * GEMM_NR_MAX] __attribute__((aligned(64)));

    unsigned step = 0;
    int sense = 0;
    for (int64_t jc = 0; jc < jb->N; jc += jb->ncb) {
        int64_t n = jb->N - jc < jb->ncb ? jb->N - jc : jb->ncb;
        int64_t np = cdiv(n, nr);
        int64_t q0 = split(np, tn, tj), q1 = split(np, tn, tj + 1);
        for (int64_t pc = 0; pc < jb->K; pc += jb->kcb) {
            int64_t kc = jb->K - pc < jb->kcb ? jb->K - pc : jb->kcb;
            int first = pc == 0;
            float beta = first ? jb->beta : 1.0f;
            const float *bias = first ? jb->bias : NULL;
            float *bpack = jb->bpack[step++ & 1];
            pack(bpack, jb->B, jb->ldb, !jb->transB, pc, kc, jc, n, split(np, nt, t),
                 split(np, nt, t + 1), nr, im->pack_b);
            if (nt > 1) barrier_wait(bar, &sense);
            for (int64_t ic = row0; ic < row1; ic += mcb) {
                int64_t m = row1 - ic < mcb ? row1 - ic : mcb;
                pack(ap, jb->A, jb->lda, jb->transA, pc, kc, ic, m, 0, cdiv(m, mr), mr, im->pack_a);
                for (int64_t q = q0; q < q1; q++) {
                    const float *bp = bpack + q * kc * nr;
                    int64_t j = jc + q * nr;
                    int cols = jb->N - j < nr ? (int)(jb->N - j) : nr;
                    const float *bj = bias ? bias + j : NULL;
                    for (int64_t ir = 0; ir < m; ir += mr) {
                        int rows = m - ir < mr ? (int)(m - ir) : mr;
                        float *c = jb->C + (ic + ir) * jb->ldc + j;
                        const float *a = ap + ir * kc;
                        if (rows == mr && cols == nr) {
                            im->kernel(kc, a, bp, c, jb->ldc, jb->alpha, beta, bj);
                            continue;
                        }
                        /* edge tile: full tile into ct, then the kernel's epilogue in C */
                        im->kernel(kc, a, bp, ct, nr, 1.0f, 0.0f, NULL);
                        for (int r = 0; r < rows; r++) {
                            float *cr = c + r * jb->ldc;
                            for (int s = 0; s < cols; s++)
                                cr[s] = epilogue(ct[r * nr + s], jb->alpha, beta, cr + s,
                                                 bj ? bj + s : NULL);
                        }
                    }
                }
            }
            /* no barrier here: the next block packs into the other buffer, which every
             * thread had finished reading before any could pass this block's barrier */
        }
    }
}

/* Few rows of A against Bᵀ stored (N,K) — the decode step of inference (M = 1 token): packing
 * would copy all of B for a handful of rows, so each C element is one dot product of two
 * contiguous rows instead, read once. Threads take fixed column chunks. */
enum { SMALL_M = 16 }; /* measured: dot products win up to ~16 rows */

static void gemm_small_m(const gemm_job *jb, int nt) {
    const int64_t CH = 64;
    int64_t nch = cdiv(jb->N, CH);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t j1 = (ch + 1) * CH < jb->N ? (ch + 1) * CH : jb->N;
        for (int64_t j = ch * CH; j < j1; j++) {
            const float *bj = jb->B + j * jb->ldb;
            for (int64_t i = 0; i < jb->M; i++) {
                float *c = jb->C + i * jb->ldc + j;
                float t = jb->im->dot(jb->A + i * jb->lda, bj, jb->K);
                *c = epilogue(t, jb->alpha, jb->beta, c, jb->bias ? jb->bias + j : NULL);
            }
        }
    }
}

/* C = beta·C (+ bias): the whole product when K == 0 or alpha == 0. */
static void scale_c(float *C, int64_t ldc, int64_t M, int64_t N, float beta, const float *bias) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) {
            float v = beta == 0.0f ? 0.0f : beta == 1.0f ? c[j] : beta * c[j];
            c[j] = bias ? v + bias[j] : v;
        }
    }
}

/* The unblocked fallback when no packing memory can be had: slow, but correct, and as
 * deterministic as the rest (one thread per row, k in order). */
static void gemm_naive(const gemm_job *jb) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < jb->M; i++) {
        for (int64_t j = 0; j < jb->N; j++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < jb->K; k++) {
                float a = jb->transA ? jb->A[k * jb->lda + i] : jb->A[i * jb->lda + k];
                float b = jb->transB ? jb->B[j * jb->ldb + k] : jb->B[k * jb->ldb + j];
                acc += a * b;
            }
            float *c = jb->C + i * jb->ldc + j;
            float v = jb->alpha * acc;
            if (jb->beta == 1.0f) v = v + *c;
            else if (jb->beta != 0.0f) v = v + jb->beta * *c;
            if (jb->bias) v = v + jb->bias[j];
            *c = v;
        }
    }
}

/* Packing memory, cached per calling thread so the steady state allocates nothing. */
static _Thread_local struct {
    float *p;
    size_t n; /* floats */
} workspace;

static int workspace_denied; /* tests: act as if allocation failed */

static float *workspace_get(size_t n) {
    if (__atomic_load_n(&workspace_denied, __ATOMIC_RELAXED)) return NULL;
    if (workspace.n >= n) return workspace.p;
    gb_free(workspace.p);
    workspace.p = gb_alloc(n * sizeof(float));
    workspace.n = workspace.p ? n : 0;
    return workspace.p;
}

void gb_gemm_deny_workspace(int deny) { __atomic_store_n(&workspace_denied, deny, __ATOMIC_RELAXED); }

void gb_gemm_release(void) {
    gb_free(workspace.p);
    workspace.p = NULL;
    workspace.n = 0;
}

static void gemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc, const float *bias) {
    GB_ASSERT(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) {
        scale_c(C, ldc, M, N, beta, bias);
        return;
    }
    GB_ASSERT(A && B && C);
    GB_ASSERT(lda >= (transA ? M : K) && ldb >= (transB ? K : N) && ldc >= N);

    const gemm_impl *im = get_impl();
    gemm_job jb = {.im = im, .transA = transA, .transB = transB, .M = M, .N = N, .K = K,
                   .alpha = alpha, .beta = beta, .A = A, .B = B, .bias = bias, .lda = lda,
                   .ldb = ldb, .ldc = ldc, .C = C};
    jb.kcb = cdiv(K, cdiv(K, im->kc)); /* K alone decides: the K-sum order must not vary */
    int64_t nblk = cdiv(N, im->nc);
    jb.ncb = cdiv(cdiv(N, nblk), im->nr) * im->nr;
    jb.mcmax = cdiv(M < im->mc ? M : im->mc, im->mr) * im->mr;

    /* threads: no more than there are tiles, and one for work too small to share */
    int nt = gb_threads_get();
    if ((double)M * (double)N * (double)K < 1e6) nt = 1; /* ~25 us of work: not worth waking threads */
    if (M < SMALL_M && transB && !transA) {
        gemm_small_m(&jb, nt);
        return;
    }
    int64_t tiles = cdiv(M, im->mr) * cdiv(N, im->nr);
    if (nt > tiles) nt = (int)tiles;
    if (nt < 1) nt = 1;

    size_t nb = (size_t)jb.kcb * (size_t)jb.ncb, na = (size_t)jb.kcb * (size_t)jb.mcmax;
    float *ws = workspace_get(2 * nb + (size_t)nt * na);
    if (!ws) {
        gemm_naive(&jb);
        return;
    }
    jb.bpack[0] = ws;
    jb.bpack[1] = ws + nb;
    jb.apack = ws + 2 * nb;
    if (nt == 1) {
        gemm_thread(&jb, NULL, 0, 1);
        return;
    }
    gemm_barrier bar = {0, 0, 0};
#pragma omp parallel num_threads(nt)
    {
#pragma omp single
        bar.n = omp_get_num_threads(); /* the team may be smaller than asked */
        gemm_thread(&jb, &bar, omp_get_thread_num(), omp_get_num_threads());
    }
}

/* ---- public entry points ------------------------------------------------------------- */

void gb_sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
              int64_t ldc) {
    gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}

void gb_gemm_forward(float *restrict out, const float *restrict in, const float *restrict w,
                     const float *restrict bias, int64_t M, int64_t K, int64_t N) {
    gemm(0, 1, M, N, K, 1.0f, in, K, w, K, 0.0f, out, N, bias);
}

void gb_gemm_backward_input(float *restrict din, const float *restrict dout,
                            const float *restrict w, float beta, int64_t M, int64_t K, int64_t N) {
    gemm(0, 0, M, K, N, 1.0f, dout, N, w, K, beta, din, K, NULL);
}

void gb_gemm_backward_weight(float *restrict dw, float *restrict dbias, const float *restrict dout,
                             const float *restrict in, int64_t M, int64_t K, int64_t N) {
    gemm(1, 0, N, K, M, 1.0f, dout, N, in, K, 1.0f, dw, K, NULL);
    if (dbias) gb_gemm_colsum(dbias, dout, M, N);
}

void gb_gemm_colsum(float *restrict dbias, const float *restrict dout, int64_t M, int64_t N) {
    enum { CB = 256 }; /* columns per task: a private accumulator row that stays in L1 */
    int64_t nblk = cdiv(N, CB);
    int nt = (double)M * (double)N < 1e5 ? 1 : gb_threads_get();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t b = 0; b < nblk; b++) {
        float acc[CB];
        int64_t j0 = b * CB, n = N - j0 < CB ? N - j0 : CB;
        for (int64_t j = 0; j < n; j++) acc[j] = 0.0f;
        for (int64_t m = 0; m < M; m++) {
            const float *row = dout + m * N + j0;
            for (int64_t j = 0; j < n; j++) acc[j] += row[j];
        }
        for (int64_t j = 0; j < n; j++) dbias[j0 + j] += acc[j];
    }
}
