/* glassbox — decode matvec benchmark: GB/s of weights read by gb_quant_matvec per type, at 1
 * and 2 threads, against a STREAM-style read bandwidth measured in the same run, and against
 * ggml's own AVX2 dot products (llama.cpp, from bench/quant's npm package) on the same blocks
 * and the same row split when that library is there.
 *
 *   quant_bench [--threads N] [--reps N] [--mib N] [--isa scalar|avx2|avx512|amx]
 * (bench/quant/run.sh builds and runs it; --isa picks glassbox's kernels, default the best)
 *
 * The matrix is 4096 x 4096; enough copies of it are cycled through that the weights read
 * between two uses of a copy (--mib, default 256 MiB) are far beyond the L3 cache, so every
 * product streams its weights from memory, as a model's decode step does. */
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quant.h"
#include "core/quant_x8.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "../stream_read.h"

#define ROWS 4096
#define COLS 4096

typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy,
                           size_t by, int nrc);

static volatile float sink;

/* ggml's dot product for a type (NULL when the library is absent). */
static vec_dot_fn peer_dot(uint32_t type) {
    static void *lib;
    static int tried;
    if (!tried) {
        tried = 1;
        const char *dir = getenv("GB_GGML_DIR");
        char path[1024];
        snprintf(path, sizeof path, "%s/libggml-base.so",
                 dir ? dir : "bench/quant/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
        if (dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
            snprintf(path, sizeof path, "%s/libggml-cpu-haswell.so",
                     dir ? dir : "bench/quant/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
            lib = dlopen(path, RTLD_NOW);
            if (lib) {
                void (*init)(void) = (void (*)(void))dlsym(lib, "ggml_cpu_init");
                if (init) init();
            }
        }
    }
    if (!lib) return NULL;
    const char *name = type == GB_GGML_Q8_0   ? "ggml_vec_dot_q8_0_q8_0"
                       : type == GB_GGML_Q4_0 ? "ggml_vec_dot_q4_0_q8_0"
                       : type == GB_GGML_Q4_K ? "ggml_vec_dot_q4_K_q8_K"
                       : type == GB_GGML_Q6_K ? "ggml_vec_dot_q6_K_q8_K"
                                              : NULL;
    return name ? (vec_dot_fn)dlsym(lib, name) : NULL;
}

/* ggml's products on our blocks: the activations quantized once, rows split as ours. */
static void peer_matvec(vec_dot_fn dot, const void *W, size_t wrow, const void *xq, float *out,
                        int nt) {
#pragma omp parallel num_threads(nt)
    {
        int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
        for (int64_t r = ROWS * ith / nth; r < ROWS * (ith + 1) / nth; r++)
            dot(COLS, &out[r], 0, (const char *)W + (size_t)r * wrow, 0, xq, 0, 1);
    }
}

int main(int argc, char **argv) {
    int threads[2] = {1, 2}, nthr = 2, reps = 20;
    size_t mib = 256;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads[0] = atoi(argv[++i]), nthr = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc) mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            const char *v = argv[++i];
            const gb_quant_isa isa = gb_quant_isa_by_name(v);
            if (isa == GB_QUANT_AUTO || !gb_quant_use(isa)) {
                fprintf(stderr, "quant_bench: this CPU does not run the %s kernels\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: quant_bench [--threads N] [--reps N] [--mib N] [--isa scalar|avx2|avx512|amx]\n");
            return 2;
        }
    }
    static const uint32_t types[] = {GB_GGML_F32,  GB_GGML_F16,  GB_GGML_BF16, GB_GGML_Q8_0,
                                     GB_GGML_Q6_K, GB_GGML_Q4_K, GB_GGML_Q4_0};
    printf("quant matvec %dx%d, kernels %s, %d reps (best), weights cycled over >= %zu MiB\n",
           ROWS, COLS, gb_quant_kernel_name(), reps, mib);
    double bw[2];
    for (int t = 0; t < nthr; t++) {
        bw[t] = stream_read(threads[t], mib << 20, 10);
        printf("STREAM-style read, %d thread%s: %.1f GB/s\n", threads[t], threads[t] > 1 ? "s" : "", bw[t]);
    }
    printf("\n%-5s %7s", "type", "MiB");
    for (int t = 0; t < nthr; t++) printf(" | %dT glassbox  x8  ggml (GB/s, %% of read)", threads[t]);
    printf("\n");
    float *wf = malloc((size_t)ROWS * COLS * sizeof *wf), *x = malloc(COLS * sizeof *x);
    float *out = malloc(ROWS * sizeof *out);
    gb_rng r;
    gb_rng_seed(&r, 1);
    for (int64_t i = 0; i < (int64_t)ROWS * COLS; i++) wf[i] = gb_rng_normal(&r) * 0.02f;
    for (int i = 0; i < COLS; i++) x[i] = gb_rng_normal(&r);
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t type = types[ti];
        size_t wrow = gb_quant_row_size(type, COLS), wbytes = wrow * ROWS;
        int copies = (int)(((mib << 20) + wbytes - 1) / wbytes);
        if (copies < 2) copies = 2;
        char *W = aligned_alloc(64, (wbytes * (size_t)copies + 63) / 64 * 64);
        if (!W) {
            fprintf(stderr, "no memory\n");
            return 1;
        }
        for (int64_t i = 0; i < ROWS; i++) gb_quant_quantize_row(type, W + (size_t)i * wrow, wf + i * COLS, COLS);
        for (int c = 1; c < copies; c++) memcpy(W + (size_t)c * wbytes, W, wbytes);
        /* the same matrices interleaved by 8 rows, as the model loader re-lays them */
        const int x8 = gb_quant_x8_supported(type, ROWS, COLS);
        char *X8 = x8 ? aligned_alloc(64, (wbytes * (size_t)copies + 63) / 64 * 64) : NULL;
        if (x8 && !X8) {
            fprintf(stderr, "no memory\n");
            return 1;
        }
        for (int c = 0; x8 && c < copies; c++)
            if (gb_quant_x8_pack(type, X8 + (size_t)c * wbytes, W + (size_t)c * wbytes, ROWS, COLS)) return 1;
        printf("%-5s %7.1f", gb_ggml_type_name(type), wbytes / 1048576.0);
        vec_dot_fn peer = peer_dot(type);
        uint32_t vt = gb_quant_vec_dot_type(type);
        void *xq = malloc(gb_quant_row_size(vt, COLS) + 64);
        gb_quant_quantize_act(vt, xq, x, COLS);
        for (int t = 0; t < nthr; t++) {
            gb_threads_set(threads[t]);
            double best[3] = {0, 0, 0};
            for (int rep = 0; rep < reps; rep++) { /* alternated, so load from others hits all */
                for (int side = 0; side < 3; side++) {
                    if ((side == 1 && !x8) || (side == 2 && !peer)) continue;
                    double t0 = gb_time_now();
                    for (int c = 0; c < copies; c++) {
                        const char *Wc = W + (size_t)c * wbytes;
                        if (side == 0) gb_quant_matvec(type, Wc, x, out, ROWS, COLS);
                        else if (side == 1) gb_quant_x8_matmul(type, X8 + (size_t)c * wbytes, x, out, 1, ROWS, COLS);
                        else peer_matvec(peer, Wc, wrow, xq, out, threads[t]);
                    }
                    double gbs = (double)wbytes * copies / (gb_time_now() - t0) / 1e9;
                    if (gbs > best[side]) best[side] = gbs;
                }
            }
            sink = out[0];
            printf(" | %5.1f (%3.0f%%)", best[0], 100 * best[0] / bw[t]);
            for (int side = 1; side < 3; side++) {
                if (best[side] > 0) printf(" %5.1f (%3.0f%%)", best[side], 100 * best[side] / bw[t]);
                else printf(" %12s", "-");
            }
            printf("%13s", "");
        }
        printf("\n");
        free(W), free(X8), free(xq);
    }
    free(wf), free(x), free(out);
    return 0;
}
