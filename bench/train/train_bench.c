/* glassbox — training-step benchmark driver (bench/train/run.sh runs it next to PyTorch).
 *
 *   train_bench peak  [--threads N]
 *       the machine's fp32 peak: an AVX2 FMA loop (as bench/gemm) and the best
 *       gb_sgemm rate on a 2048³ product; prints "fma_peak_gflops=…" "sgemm_gflops=…"
 *   train_bench train --preset NAME --batch B --seq T [--steps S] [--warmup W] [--threads N]
 *       [--vocab V] [--seed S] [--tokens FILE]
 *       W untimed then S timed AdamW steps (zero_grad, forward, backward, clip 1.0, step)
 *       on the same B·T+1 tokens every step (FILE: little-endian int32, else seeded random;
 *       inputs are ids 0..N-1, targets 1..N); prints tokens/s (best and median step), peak RSS and the
 *       model FLOPs per token (see flops_per_token).
 *
 * Output is key=value lines so the script can parse them. */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/gemm.h"
#include "glassbox/mem.h"
#include "glassbox/model.h"
#include "glassbox/rng.h"
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

static volatile float sink;

static double fma_peak(int nt) {
    const long iters = 2 * 1000 * 1000;
    double flops = (double)nt * iters * PEAK_ACC * 16, best = 0;
    for (int rep = 0; rep < 40; rep++) {
        double t0 = gb_time_now();
#pragma omp parallel num_threads(nt)
        sink = fma_loop_avx2(iters);
        double g = flops / (gb_time_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

static double sgemm_peak(int n) {
    float *A = gb_alloc((size_t)n * n * sizeof(float)), *B = gb_alloc((size_t)n * n * sizeof(float)),
          *C = gb_alloc((size_t)n * n * sizeof(float));
    if (!A || !B || !C) return 0;
    for (size_t i = 0; i < (size_t)n * n; i++) A[i] = (float)(i % 7) * 0.1f, B[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = gb_time_now();
        gb_sgemm(0, 0, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
        double g = 2.0 * n * n * (double)n / (gb_time_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    gb_free(A), gb_free(B), gb_free(C);
    return best;
}

/* ---- training ------------------------------------------------------------------------ */

/* Model FLOPs per trained token (forward + backward):
 *   6·N_mm + 6·L·C·(T+1)
 * N_mm = parameters that take part in a matrix product (every 2-D tensor except the
 * learned position table; with tied embeddings token_embd counts once, as the LM head).
 * Attention: per layer and token, Q·Kᵀ and P·V cost 2·C·ctx multiply-adds each in the
 * forward and twice that in the backward, over a causal context of (T+1)/2 on average:
 * 3 · 2 · 2·C·(T+1)/2 = 6·C·(T+1). (PaLM's 12·L·C·T counts the masked half too.) */
static double flops_per_token(const gb_model *m, int T) {
    int64_t nmm = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].ndim == 2 && strcmp(m->tensors[i].name, "position_embd.weight"))
            nmm += m->tensors[i].numel;
    return 6.0 * (double)nmm + 6.0 * m->cfg.n_layer * (double)m->cfg.d_model * (T + 1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what) {
    fprintf(stderr, "train_bench: %s: %s\n", what, gb_last_error());
    return 1;
}

/* Fills tok (n) from a file of little-endian int32 ids (run.sh writes it, PyTorch reads the
 * same file) or, without one, from the seeded stream. */
static int load_tokens(int32_t *tok, int64_t n, const char *path, int V, uint64_t seed) {
    if (!path) {
        gb_rng r;
        gb_rng_seed(&r, seed);
        for (int64_t i = 0; i < n; i++) tok[i] = (int32_t)gb_rng_below(&r, (uint64_t)V);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    int ok = f && fread(tok, sizeof *tok, (size_t)n, f) == (size_t)n;
    if (f) fclose(f);
    for (int64_t i = 0; ok && i < n; i++) ok = tok[i] >= 0 && tok[i] < V;
    if (!ok) fprintf(stderr, "train_bench: %s: need %lld int32 ids in [0, %d)\n", path, (long long)n, V);
    return !ok;
}

static int train(const char *preset, int B, int T, int steps, int warmup, int vocab, uint64_t seed,
                 const char *tokens) {
    gb_model_config c;
    if (gb_model_config_preset(&c, preset)) return die("preset");
    if (vocab > 0) c.vocab_size = vocab;
    if (T > c.n_ctx) c.n_ctx = T;
    gb_model *m = NULL;
    gb_adamw opt = {0};
    if (gb_model_init(&m, &c)) return die("init");
    gb_model_init_weights(m, seed);
    if (gb_adamw_init(&opt, m->n_floats, 0.9f, 0.95f, 1e-8f, 0.1f)) return die("adamw");
    int64_t N = (int64_t)B * T;
    int32_t *tok = malloc((size_t)(N + 1) * sizeof *tok);
    double *dt = malloc((size_t)steps * sizeof *dt);
    if (!tok || !dt) return die("out of memory");
    if (load_tokens(tok, N + 1, tokens, c.vocab_size, seed)) return 1;
    float first = NAN, last = NAN;
    /* best time of each phase over the timed steps: zero_grad, forward, backward, clip, AdamW */
    double phase_best[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
    for (int s = 0; s < warmup + steps; s++) {
        double t[6];
        t[0] = gb_time_now();
        if (gb_model_zero_grad(m)) return die("zero_grad");
        t[1] = gb_time_now();
        if (gb_model_forward(m, tok, tok + 1, B, T)) return die("forward");
        t[2] = gb_time_now();
        if (gb_model_backward(m, 1.0f)) return die("backward");
        t[3] = gb_time_now();
        gb_model_clip_grad_norm(m, 1.0f);
        t[4] = gb_time_now();
        gb_adamw_step(&opt, m, 3e-4f);
        t[5] = gb_time_now();
        if (s == 0) first = m->loss;
        last = m->loss;
        if (s >= warmup) {
            dt[s - warmup] = t[5] - t[0];
            for (int k = 0; k < 5; k++)
                if (t[k + 1] - t[k] < phase_best[k]) phase_best[k] = t[k + 1] - t[k];
        }
        fprintf(stderr, "glassbox %s step %d: %.3f s (zero %.3f fwd %.3f bwd %.3f clip %.3f adamw %.3f), loss %.4f\n",
                preset, s, t[5] - t[0], t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4],
                (double)m->loss);
    }
    double total = 0;
    for (int s = 0; s < steps; s++) total += dt[s];
    qsort(dt, (size_t)steps, sizeof *dt, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("params=%lld\n", (long long)m->n_params);
    printf("flops_per_token=%.6g\n", flops_per_token(m, T));
    printf("tok_s_best=%.2f\n", (double)N / dt[0]);
    printf("tok_s_median=%.2f\n", (double)N / dt[steps / 2]);
    printf("tok_s_mean=%.2f\n", (double)N * steps / total);
    printf("peak_rss_mib=%.1f\n", ru.ru_maxrss / 1024.0);
    printf("best_s_zero_fwd_bwd_clip_adamw=%.3f,%.3f,%.3f,%.3f,%.3f\n", phase_best[0], phase_best[1],
           phase_best[2], phase_best[3], phase_best[4]);
    printf("loss_first=%.4f\nloss_last=%.4f\n", (double)first, (double)last);
    free(tok), free(dt);
    gb_adamw_free(&opt);
    gb_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) goto usage;
    const char *preset = "gpt2-10m", *tokens = NULL;
    int B = 4, T = 256, steps = 5, warmup = 2, threads = 0, vocab = 0;
    uint64_t seed = 1337;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "--batch")) B = atoi(v);
        else if (!strcmp(a, "--seq")) T = atoi(v);
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--warmup")) warmup = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--vocab")) vocab = atoi(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--tokens")) tokens = v;
        else goto usage;
        i++;
    }
    gb_threads_set(threads);
    int nt = gb_threads_get();
    if (!strcmp(argv[1], "peak")) {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
            fprintf(stderr, "train_bench: the peak loop needs AVX2+FMA\n");
            return 1;
        }
        printf("threads=%d\n", nt);
        printf("fma_peak_gflops=%.1f\n", fma_peak(nt));
        printf("sgemm_kernel=%s\n", gb_gemm_kernel_name());
        printf("sgemm_gflops=%.1f\n", sgemm_peak(2048));
        return 0;
    }
    if (!strcmp(argv[1], "train") && B > 0 && T > 0 && steps > 0 && warmup >= 0) {
        printf("threads=%d\n", nt);
        return train(preset, B, T, steps, warmup, vocab, seed, tokens);
    }
usage:
    fprintf(stderr, "usage: train_bench peak [--threads N]\n"
                    "       train_bench train --preset NAME --batch B --seq T [--steps S] "
                    "[--warmup W] [--threads N] [--vocab V] [--seed S] [--tokens FILE]\n");
    return 2;
}
