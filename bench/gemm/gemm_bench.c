/* glassbox — GEMM benchmark: the machine's fp32 FMA peak, glassbox's GEMM and OpenBLAS's
 * cblas_sgemm on the same shapes in one run (square, and the GPT-2 124M linear layers at
 * B·T = 1024 rows: forward, backward input, backward weight), at 1 and 2 threads.
 *
 *   gemm_bench [--quick] [--threads N] [--reps N]   (bench/gemm/run.sh builds and runs it)
 *   --quick skips the LM-head shapes; --reps: timed runs per library (best is kept);
 *   --only TEXT runs the shapes whose name contains TEXT ("square", "fwd", "lmhd").
 *
 * Debian's OpenBLAS 0.3.21 picks its kernel from CPUID and may not know a recent CPU (it
 * calls new Xeons "Prescott" and runs 3x slower). If it reports such a fallback core on a
 * CPU with AVX2/AVX-512, the bench re-runs itself with OPENBLAS_CORETYPE set to Haswell /
 * SkylakeX, so the peer gets its best; both the detected and the used core are printed. */
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gemm.h"
#include "glassbox/mem.h"
#include "glassbox/sys.h"

/* ---- peak ---------------------------------------------------------------------------- */

#define PEAK_ACC 12 /* independent FMA chains: > latency (4) x FMA units (2) */

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters) {
    __m256 acc[PEAK_ACC];
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-3f);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
        for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    __m256 s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm256_add_ps(s, acc[i]);
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) static float fma_loop_avx512(long iters) {
    __m512 acc[PEAK_ACC * 2];
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-3f);
    for (int i = 0; i < PEAK_ACC * 2; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 32
        for (int i = 0; i < PEAK_ACC * 2; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    __m512 s = acc[0];
    for (int i = 1; i < PEAK_ACC * 2; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

static volatile float sink;

/* Best GFLOP/s of nt threads each running the FMA loop (all at once). */
static double peak_gflops(int nt, int avx512) {
    const long iters = 2 * 1000 * 1000; /* ~5 ms: many short tries, the best is the peak */
    double flops = (double)nt * iters * PEAK_ACC * (avx512 ? 2 * 32 : 16), best = 0;
    for (int rep = 0; rep < 40; rep++) {
        double t0 = gb_time_now();
#pragma omp parallel num_threads(nt)
        sink = avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters);
        double g = flops / (gb_time_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* ---- shapes -------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int tA, tB;
    int64_t M, N, K;
    float beta; /* 1 for gradients, which accumulate */
    int big;    /* skipped by --quick */
} shape;

/* Row-major, C (M,N) = op(A) (M,K) · op(B) (K,N). For a linear layer with in (BT,C),
 * w (OC,C): forward NT (BT, OC, C); backward input NN (BT, C, OC); backward weight TN
 * (OC, C, BT). */
static const shape shapes[] = {
    {"square 1024", 0, 0, 1024, 1024, 1024, 0, 0},
    {"square 2048", 0, 0, 2048, 2048, 2048, 0, 0},
    {"qkv   fwd   1024x768 . 2304x768^T", 0, 1, 1024, 2304, 768, 0, 0},
    {"qkv   bwd-in", 0, 0, 1024, 768, 2304, 0, 0},
    {"qkv   bwd-w", 1, 0, 2304, 768, 1024, 1, 0},
    {"proj  fwd   1024x768 . 768x768^T", 0, 1, 1024, 768, 768, 0, 0},
    {"proj  bwd-in", 0, 0, 1024, 768, 768, 0, 0},
    {"proj  bwd-w", 1, 0, 768, 768, 1024, 1, 0},
    {"fc    fwd   1024x768 . 3072x768^T", 0, 1, 1024, 3072, 768, 0, 0},
    {"fc    bwd-in", 0, 0, 1024, 768, 3072, 0, 0},
    {"fc    bwd-w", 1, 0, 3072, 768, 1024, 1, 0},
    {"fcprj fwd   1024x3072 . 768x3072^T", 0, 1, 1024, 768, 3072, 0, 0},
    {"fcprj bwd-in", 0, 0, 1024, 3072, 768, 0, 0},
    {"fcprj bwd-w", 1, 0, 768, 3072, 1024, 1, 0},
    {"lmhd  fwd   1024x768 . 50257x768^T", 0, 1, 1024, 50257, 768, 0, 1},
    {"lmhd  bwd-in", 0, 0, 1024, 768, 50257, 0, 1},
    {"lmhd  bwd-w", 1, 0, 50257, 768, 1024, 1, 1},
};

static void fill(float *p, int64_t n, unsigned seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
}

/* CPU seconds of the whole process (all threads, spinning included). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One product by glassbox (blas 0) or OpenBLAS (blas 1); wall seconds, *cpu CPU seconds. */
static double run_once(int blas, const shape *s, const float *A, const float *B, float *C,
                       const float *C0, double *cpu) {
    int64_t lda = s->tA ? s->M : s->K, ldb = s->tB ? s->K : s->N;
    memcpy(C, C0, (size_t)(s->M * s->N) * sizeof *C); /* same start for beta = 1 */
    double c0 = cpu_now(), t0 = gb_time_now();
    if (blas)
        cblas_sgemm(CblasRowMajor, s->tA ? CblasTrans : CblasNoTrans,
                    s->tB ? CblasTrans : CblasNoTrans, (int)s->M, (int)s->N, (int)s->K, 1.0f, A,
                    (int)lda, B, (int)ldb, s->beta, C, (int)s->N);
    else
        gb_sgemm(s->tA, s->tB, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, s->beta, C, s->N);
    double dt = gb_time_now() - t0;
    *cpu = cpu_now() - c0;
    return dt;
}

/* Best seconds of each library on one product: wall (tg, tb) and CPU per thread (cg, cb).
 * The two alternate, so a burst of load from elsewhere on the machine hits both alike; a
 * pause between them lets the other library's idle threads stop spinning (OpenBLAS spins
 * ~0.1 s after a call). The first run of each warms caches and thread pools and is not
 * counted unless it is long. CPU time per thread is what a run costs where it gets its
 * cores: on a shared machine the wall figures fall, these much less (printed for 1 thread
 * only: with more, threads that sleep at a barrier make it flattering). */
static void time_pair(const shape *s, const float *A, const float *B, float *C, float *Cb,
                      const float *C0, int reps, int nt, double t[4]) {
    t[0] = t[1] = t[2] = t[3] = 1e30;
    double total = 0;
    for (int rep = 0; rep < 2 * reps && (rep < reps || total < 1.0); rep++) {
        double cg, cb;
        double g = run_once(0, s, A, B, C, C0, &cg);
        usleep(100 * 1000);
        double b = run_once(1, s, A, B, Cb, C0, &cb);
        usleep(100 * 1000);
        total += g + b;
        if (rep == 0 && g < 0.3 && b < 0.3) continue;
        if (g < t[0]) t[0] = g;
        if (b < t[1]) t[1] = b;
        if (cg / nt < t[2]) t[2] = cg / nt;
        if (cb / nt < t[3]) t[3] = cb / nt;
    }
}

static const char *weak_cores[] = {"Prescott", "Katmai", "Coppermine", "Northwood", "Core2",
                                   "Penryn", "Dunnington", "Nehalem", "Atom", "Barcelona",
                                   "Unknown", NULL};

int main(int argc, char **argv) {
    int quick = 0, maxt = 2, reps = 4;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) maxt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--threads N] [--reps N] [--only TEXT]\n", argv[0]);
            return 2;
        }
    }
    if (maxt < 1) maxt = 1;
    if (reps < 1) reps = 1;
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f");
    int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

    const char *core = openblas_get_corename();
    const char *detected = getenv("GB_BENCH_OPENBLAS_DETECTED");
    if (!getenv("OPENBLAS_CORETYPE") && (has2 || has512)) {
        for (int i = 0; weak_cores[i]; i++)
            if (!strcasecmp(core, weak_cores[i])) {
                setenv("GB_BENCH_OPENBLAS_DETECTED", core, 1);
                setenv("OPENBLAS_CORETYPE", has512 ? "SkylakeX" : "Haswell", 1);
                execv("/proc/self/exe", argv);
                perror("re-exec with OPENBLAS_CORETYPE");
                break;
            }
    }
    if (!has2) {
        fprintf(stderr, "this CPU has no AVX2+FMA: the peak loop needs it\n");
        return 1;
    }

    printf("glassbox GEMM bench — kernel %s, up to %d threads (%d cores)\n",
           gb_gemm_kernel_name(), maxt, gb_cores());
    printf("OpenBLAS: core %s%s%s%s; config %s\n", core, detected ? " (detected " : "",
           detected ? detected : "", detected ? ", overridden by OPENBLAS_CORETYPE)" : "",
           openblas_get_config());

    /* % of peak uses maxt x the 1-thread loop: the cores' capability. The measured maxt-thread
     * loop is printed too; it falls short of that only when something else runs. */
    int use512 = has512 && !strcmp(gb_gemm_kernel_name(), "avx512");
    double p1 = peak_gflops(1, use512), pn = maxt > 1 ? peak_gflops(maxt, use512) : p1;
    double peak[2] = {p1, maxt * p1};
    printf("FMA-loop peak (%s): 1 thread %.1f GFLOP/s (%.2f GHz x %d flops/cycle); %d threads "
           "measured %.1f, nominal %.1f GFLOP/s\n",
           use512 ? "AVX-512" : "AVX2", p1, p1 / (use512 ? 64 : 32), use512 ? 64 : 32, maxt, pn,
           peak[1]);

    int thr[2] = {1, maxt}, nthr = maxt > 1 ? 2 : 1;
    printf("\nGF/s, best wall-clock of the runs; 'cpu' = 1-thread GF/s per CPU second, which a\n"
           "busy machine (time-sliced cores) lowers much less than wall-clock\n");
    printf("%-36s %6s %6s %6s |", "shape (C = op(A)·op(B))", "M", "N", "K");
    for (int t = 0; t < nthr; t++)
        if (thr[t] == 1) printf("   gb1t   %%pk    cpu  blas1t    cpu  gb/bl |");
        else printf("   gb%dt   %%pk  blas%dt  gb/bl |", thr[t], thr[t]);
    printf(" max|diff|\n");

    double sum_ratio[2] = {0}, sum_pk[2] = {0};
    int counted = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const shape *s = &shapes[i];
        if ((quick && s->big) || (only && !strstr(s->name, only))) continue;
        int64_t arows = s->tA ? s->K : s->M, acols = s->tA ? s->M : s->K;
        int64_t brows = s->tB ? s->N : s->K, bcols = s->tB ? s->K : s->N;
        float *A = gb_alloc((size_t)(arows * acols) * sizeof(float));
        float *B = gb_alloc((size_t)(brows * bcols) * sizeof(float));
        float *C = gb_alloc((size_t)(s->M * s->N) * sizeof(float));
        float *C0 = gb_alloc((size_t)(s->M * s->N) * sizeof(float));
        float *Cb = gb_alloc((size_t)(s->M * s->N) * sizeof(float));
        if (!A || !B || !C || !C0 || !Cb) {
            fprintf(stderr, "out of memory for %s\n", s->name);
            return 1;
        }
        fill(A, arows * acols, 1 + (unsigned)i);
        fill(B, brows * bcols, 100 + (unsigned)i);
        fill(C0, s->M * s->N, 200 + (unsigned)i);
        double flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
        printf("%-36s %6lld %6lld %6lld |", s->name, (long long)s->M, (long long)s->N,
               (long long)s->K);
        fflush(stdout);
        for (int t = 0; t < nthr; t++) {
            gb_threads_set(thr[t]);
            openblas_set_num_threads(thr[t]);
            double tm[4];
            time_pair(s, A, B, C, Cb, C0, reps, thr[t], tm);
            double tg = tm[0], tb = tm[1];
            double gg = flops / tg / 1e9, gbl = flops / tb / 1e9;
            double pk = 100.0 * gg / peak[t];
            if (thr[t] == 1)
                printf(" %6.1f %5.1f %6.1f  %6.1f %6.1f  %5.2f |", gg, pk, flops / tm[2] / 1e9,
                       gbl, flops / tm[3] / 1e9, tb / tg);
            else
                printf(" %6.1f %5.1f  %6.1f  %5.2f |", gg, pk, gbl, tb / tg);
            fflush(stdout);
            sum_ratio[t] += log(tb / tg);
            sum_pk[t] += pk;
        }
        counted++;
        double md = 0;
        for (int64_t k = 0; k < s->M * s->N; k++) {
            double d = fabs((double)C[k] - (double)Cb[k]);
            if (d > md) md = d;
        }
        printf(" %.2g\n", md);
        gb_free(A), gb_free(B), gb_free(C), gb_free(C0), gb_free(Cb);
    }
    if (!counted) return 0;
    for (int t = 0; t < nthr; t++)
        printf("%d thread%s: mean %.1f %% of peak, geometric-mean glassbox/OpenBLAS speed %.2f\n",
               thr[t], thr[t] > 1 ? "s" : "", sum_pk[t] / counted, exp(sum_ratio[t] / counted));
    return 0;
}
