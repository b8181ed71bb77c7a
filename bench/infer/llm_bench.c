/* glassbox — inference benchmark: prefill (ppN) and decode (tgN) tokens/s of a GGUF model at
 * given thread counts, as llama-bench measures them (pp: N tokens evaluated at once into an
 * empty cache; tg: N tokens decoded one by one from an empty cache), with the machine's
 * STREAM-style read bandwidth and fp32 GEMM peak measured in the same run:
 *   decode GB/s = (weight bytes read per token + mean KV bytes read per token) × tok/s
 *   prefill GFLOP/s = 2 × (matrix parameters + attention) per token × tok/s, vs sgemm peak
 *
 *   llm_bench MODEL.gguf [--threads 1,2] [--pp 512] [--tg 128] [--reps 2] [--ctx N] [--machine]
 *             [--isa scalar|avx2|avx512|amx]   (the quantized kernels; default: the best this CPU runs)
 *             [--no-repack]   (keep the file's layout: no 8-row interleaving of the matrices)
 * --machine prints only the bandwidth and peak. One line per thread count:
 *   model type threads pp tok/s  %peak  tg tok/s  GB/s  %bw  read
 * where tg is the best of the repetitions and, without --bw, %bw is that run's GB/s over the
 * read bandwidth of the same seconds: the run is decoded in slices (a sixteenth of it each)
 * with one pass of the read before every slice and after the last, made by a child process
 * (--read-server N, so that its buffer stays out of this process's peak RSS), and the read is
 * those passes' bytes over their time. The machine is shared and its bandwidth moves by tens
 * of percent within minutes; a read taken once, or the best of short passes, is set against
 * other seconds than the decode. With --bw, over the given figure.
 * (each thread count first evaluates 8 tokens and decodes one, untimed: the weights are paged
 * in and the threads started, as llama-bench's warm-up run does), then the memory line: the
 * process's peak RSS (getrusage ru_maxrss; run one model per process) against the bound
 *   file size + KV cache (2 · n_layer · n_ctx · n_kv_head · head_dim · 2 bytes, fp16; 4 with
 *   --kv-type f32) + 64 MiB
 * for the context the model was loaded with (--ctx, default max(pp, tg)), PASS or FAIL, and
 * where the anonymous memory goes (the buffers gb_llm allocates at load, from its sizes). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/gemm.h"
#include "core/quant.h"
#include "glassbox/infer.h"
#include "glassbox/sys.h"
#include "infer/llm_internal.h"
#include "../stream_read.h"

/* --read-server nt: one read pass per byte on stdin, its GB/s a line on stdout, until EOF. */
static int read_server(int nt) {
    int64_t n;
    float *buf = read_buffer(nt, (size_t)512 << 20, &n);
    if (!buf) return 1;
    char c;
    while (read(0, &c, 1) == 1) {
        printf("%.3f\n", read_pass(buf, n, nt));
        fflush(stdout);
    }
    free(buf);
    return 0;
}

extern char **environ;

/* A child process (this program with --read-server) that measures the read on request: in the
 * same seconds as the decode it is set against, without its buffer ever counting in this
 * process's peak RSS. */
typedef struct {
    pid_t pid;
    int to, from; /* its stdin, its stdout */
} reader;

static int reader_start(reader *r, int nt) {
    /* its OpenMP threads sleep as soon as a pass ends (by default they spin ~5 ms, on cores
     * the next decode slice needs); the first entry wins over one in environ */
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **env = malloc((ne + 2) * sizeof *env);
    if (!env) return -1;
    env[0] = "OMP_WAIT_POLICY=PASSIVE";
    memcpy(env + 1, environ, (ne + 1) * sizeof *env);
    int in[2], out[2];
    if (pipe(in)) return free(env), -1;
    if (pipe(out)) return free(env), close(in[0]), close(in[1]), -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char n[16];
    snprintf(n, sizeof n, "%d", nt);
    char *args[] = {"llm_bench", "--read-server", n, NULL};
    const int rc = posix_spawn(&r->pid, "/proc/self/exe", &fa, NULL, args, env);
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]), close(out[1]);
    r->to = in[1], r->from = out[0];
    if (rc) close(r->to), close(r->from);
    return rc ? -1 : 0;
}

/* One pass (GB/s), 0 if the child is gone. First 10 ms idle: this process's OpenMP threads
 * spin about 5 ms after a parallel region (libgomp's default; measured here) and would take a
 * core from the read. */
static double reader_pass(reader *r) {
    char buf[32] = {0};
    size_t got = 0;
    nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (write(r->to, "r", 1) != 1) return 0;
    while (got < sizeof buf - 1) {
        const ssize_t k = read(r->from, buf + got, 1);
        if (k != 1) return 0;
        if (buf[got++] == '\n') break;
    }
    return strtod(buf, NULL);
}

static void reader_stop(reader *r) {
    close(r->to), close(r->from);
    waitpid(r->pid, NULL, 0);
}

/* Best GFLOP/s of gb_sgemm on the shape of a prefill product (512 x 2048 · 2048ᵀ). */
static double sgemm_peak(int nt) {
    const int64_t M = 512, N = 2048, K = 2048;
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * N * K), *c = malloc(sizeof(float) * M * N);
    if (!a || !b || !c) return 0;
    for (int64_t i = 0; i < M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (int64_t i = 0; i < N * K; i++) b[i] = (float)(i % 5) * 0.1f;
    gb_threads_set(nt);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = gb_time_now();
        gb_sgemm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        double g = 2.0 * M * N * K / (gb_time_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    free(a), free(b), free(c);
    return best;
}

/* The type most of the model's matrices have. */
static const char *main_type(const gb_llm *m) {
    return gb_ggml_type_name(m->layers[0].down.type);
}

/* A "Key:   N kB" line of /proc/self/status, in bytes (0 if absent). */
static double proc_status_bytes(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double v = 0;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            v = strtod(line + n + 1, NULL) * 1024.0;
            break;
        }
    fclose(f);
    return v;
}

/* The peak-RSS check: ru_maxrss against file + KV + 64 MiB, and the sizes of the buffers
 * gb_llm_load allocates (mirrors alloc_state in src/infer/llm.c: every one sized at load). */
static void report_memory(const gb_llm *m, const gb_llm_info *info, int64_t ctx) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double MiB = 1024.0 * 1024.0, f = sizeof(float);
    double peak = (double)ru.ru_maxrss * 1024.0; /* Linux: KiB */
    double file = (double)info->file_bytes;
    double kv = (double)info->kv_bytes_per_pos * (double)ctx;
    double bound = file + kv + 64 * MiB;
    double B = (double)m->n_batch, C = m->C, F = m->F, KVC = m->KVC;
    double qkv = C + 2 * KVC, hb = 2 * F > qkv ? 2 * F : qkv;
    double act = (4 * B * C + 2 * B * KVC + B * hb + B * F + 2 * B) * f;
    double n_sc = (double)m->n_score_threads * (double)m->n_ctx;
    if (m->gemm_attention && B * (double)m->n_ctx > n_sc) n_sc = B * (double)m->n_ctx;
    double rope = m->rope ? 2.0 * (double)m->n_ctx * (m->rope_dim / 2) * f : 0;
    double kv_alloc = (double)info->kv_bytes_per_pos * (double)m->n_ctx;
    double kv_f32 = m->kv_f32 ? 2.0 * (double)m->n_ctx * m->HS * f : 0; /* an fp16 head for prefill's GEMM */
    double dec = (double)m->n_score_threads * (double)m->dec_stride * f;
    double bufs = kv_alloc + kv_f32 + act + n_sc * f + (double)m->deq_floats * f + rope + dec;
    double repacked = (double)info->repacked_bytes; /* replaces the same bytes of the file's pages */
    printf("%-5s memory | peak RSS %.1f MiB %s bound %.1f MiB = file %.1f + KV %.1f (n_ctx %lld) + 64 | %s | "
           "now: file-backed %.1f MiB, anonymous %.1f MiB; gb_llm buffers %.1f MiB = KV %.1f (%s) + batch activations %.1f "
           "(n_batch %lld) + scores %.1f + dequant panel %.1f + rope %.1f + decode scratch %.2f + fp32 KV head %.2f; "
           "matrices re-laid for decode %.1f MiB\n",
           main_type(m), peak / MiB, peak <= bound ? "<=" : ">", bound / MiB, file / MiB, kv / MiB, (long long)ctx,
           peak <= bound ? "PASS" : "FAIL", proc_status_bytes("RssFile") / MiB, proc_status_bytes("RssAnon") / MiB,
           bufs / MiB, kv_alloc / MiB, info->kv_type == GB_GGML_F16 ? "f16" : "f32", act / MiB, (long long)m->n_batch,
           n_sc * f / MiB, (double)m->deq_floats * f / MiB, rope / MiB, dec / MiB, kv_f32 / MiB, repacked / MiB);
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int threads[8] = {1, 2}, nthr = 2, pp = 512, tg = 128, reps = 2, machine = 0, nbw = 0, npk = 0, n_ctx = 0;
    double bw[8] = {0}, peak[8] = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nthr = 0;
            for (char *s = argv[++i]; *s && nthr < 8;) {
                threads[nthr++] = (int)strtol(s, &s, 10);
                if (*s == ',') s++;
            }
        } else if ((!strcmp(argv[i], "--bw") || !strcmp(argv[i], "--peak")) && i + 1 < argc) {
            double *d = argv[i][2] == 'b' ? bw : peak;
            int *n = argv[i][2] == 'b' ? &nbw : &npk;
            for (char *s = argv[++i]; *s && *n < 8;) {
                d[(*n)++] = strtod(s, &s);
                if (*s == ',') s++;
            }
        } else if (!strcmp(argv[i], "--pp") && i + 1 < argc) pp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tg") && i + 1 < argc) tg = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) n_ctx = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--machine")) machine = 1;
        else if (!strcmp(argv[i], "--read-server") && i + 1 < argc) return read_server(atoi(argv[++i]));
        else if (!strcmp(argv[i], "--no-repack")) gb_llm_set_repack(0);
        else if (!strcmp(argv[i], "--kv-type") && i + 1 < argc) {
            const char *v = argv[++i];
            if ((strcmp(v, "f16") && strcmp(v, "f32")) || gb_llm_set_kv_type(v[1] == '1' ? GB_GGML_F16 : GB_GGML_F32)) {
                fprintf(stderr, "llm_bench: --kv-type wants f16 or f32\n");
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            const char *v = argv[++i];
            const gb_quant_isa isa = gb_quant_isa_by_name(v);
            if (isa == GB_QUANT_AUTO || !gb_quant_use(isa)) {
                fprintf(stderr, "llm_bench: this CPU does not run the %s kernels\n", v);
                return 2;
            }
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr,
                    "usage: llm_bench MODEL.gguf [--threads 1,2] [--pp N] [--tg N] [--reps N] [--ctx N] "
                    "[--isa scalar|avx2|avx512|amx] [--no-repack] [--kv-type f16|f32] | --machine\n");
            return 2;
        }
    }
    if (machine) {
        for (int t = 0; t < nthr; t++)
            printf("machine threads %d: STREAM-style read %.1f GB/s, sgemm %.1f GFLOP/s (gemm kernel %s)\n", threads[t],
                   stream_read(threads[t], (size_t)512 << 20, 8), sgemm_peak(threads[t]), gb_gemm_kernel_name());
        return 0;
    }
    if (!path) return 2;
    gb_llm *m = NULL;
    int64_t ctx = pp > tg ? pp : tg;
    if (n_ctx > ctx) ctx = n_ctx;
    if (gb_llm_load(&m, path, ctx)) {
        fprintf(stderr, "llm_bench: %s\n", gb_last_error());
        return 1;
    }
    gb_llm_info info;
    gb_llm_get_info(m, &info);
    const int64_t V = gb_llm_n_vocab(m);
    uint32_t *tok = malloc(sizeof *tok * (size_t)ctx);
    float *logits = malloc(sizeof(float) * (size_t)V);
    for (int64_t i = 0; i < ctx; i++) tok[i] = (uint32_t)((i * 7919 + 13) % V);
    /* matrix multiply-adds per token (every weight once) + attention over the mean context */
    double mat_params = 0;
    for (int l = 0; l < m->n_layer; l++) {
        const gb_llm_layer *L = &m->layers[l];
        const gb_llm_mat *ws[] = {&L->qkv, &L->q, &L->k, &L->v, &L->attn_out, &L->gate, &L->up, &L->down};
        for (size_t k = 0; k < sizeof ws / sizeof *ws; k++)
            if (ws[k]->data) mat_params += (double)ws[k]->rows * (double)ws[k]->cols;
    }
    double out_params = (double)m->output.rows * m->output.cols;
    for (int t = 0; t < nthr; t++) {
        gb_threads_set(threads[t]);
        double best_pp = 0, best_tg = 0, best_read = 0;
        const int adjacent = !(t < nbw && bw[t] > 0); /* no --bw: a read measured before each decode run */
        const double bytes_tg = (double)info.weight_bytes_per_token + (double)info.kv_bytes_per_pos * (tg + 1) / 2;
        /* warm-up, untimed: weights paged in, threads started */
        int64_t nw = pp < 8 ? pp : 8;
        if (gb_llm_eval(m, tok, nw, 0, logits, 0) || gb_llm_eval(m, tok, 1, 0, logits, 0)) goto fail;
        reader rd;
        if (adjacent && reader_start(&rd, threads[t])) {
            fprintf(stderr, "llm_bench: cannot start the read process\n");
            return 1;
        }
        /* decode in slices of about a sixteenth of the run, a read pass before each and one
         * after the last: the read is the harmonic mean of those passes (bytes over their
         * time), so both figures come from the same seconds */
        const int slice = tg / 16 > 0 ? tg / 16 : 1;
        for (int r = 0; r < reps; r++) {
            double t0 = gb_time_now();
            if (gb_llm_eval(m, tok, pp, 0, logits, 0)) goto fail;
            double s = gb_time_now() - t0, read_time = 0;
            int passes = 0;
            if (pp / s > best_pp) best_pp = pp / s;
            s = 0;
            for (int i = 0; i < tg;) {
                if (adjacent) {
                    const double g = reader_pass(&rd);
                    if (g > 0) read_time += 1 / g, passes++;
                }
                t0 = gb_time_now();
                for (const int end = i + slice < tg ? i + slice : tg; i < end; i++)
                    if (gb_llm_eval(m, tok + i, 1, i, logits, 0)) goto fail;
                s += gb_time_now() - t0;
            }
            if (adjacent) {
                const double g = reader_pass(&rd);
                if (g > 0) read_time += 1 / g, passes++;
            }
            const double read = adjacent ? (passes ? passes / read_time : 0) : bw[t];
            if (tg / s > best_tg) best_tg = tg / s, best_read = read;
        }
        if (adjacent) reader_stop(&rd);
        /* prefill flops: 2 per weight per token (the output only for the last token, as
         * eval computes it) + attention 2·2·L·C per key, mean key count pp/2 */
        double flops_pp = 2.0 * mat_params * pp + 2.0 * out_params + 4.0 * m->n_layer * (double)m->C * pp * (pp + 1) / 2;
        const double gf = flops_pp / (pp / best_pp) / 1e9, gbs = bytes_tg * best_tg / 1e9;
        const double pct = best_read > 0 ? 100 * gbs / best_read : 0;
        printf("%-5s %dT | pp%d %8.1f tok/s %6.1f GFLOP/s %5.1f%% of sgemm | tg%d %7.2f tok/s %6.2f GB/s %5.1f%% of read "
               "| %.1f MB weights + %.1f MB KV per token | %s kernels | read %.1f GB/s%s\n",
               main_type(m), threads[t], pp, best_pp, gf, t < npk && peak[t] > 0 ? 100 * gf / peak[t] : 0, tg, best_tg,
               gbs, pct, info.weight_bytes_per_token / 1e6, info.kv_bytes_per_pos * (tg + 1) / 2 / 1e6,
               gb_quant_kernel_name(), best_read, adjacent ? " (passes between the run's slices)" : "");
        fflush(stdout);
    }
    report_memory(m, &info, ctx);
    gb_llm_free(m);
    free(tok), free(logits);
    return 0;
fail:
    fprintf(stderr, "llm_bench: %s\n", gb_last_error());
    return 1;
}
