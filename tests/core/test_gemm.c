/* GEMM: every kernel and entry point against a double-precision reference on odd shapes,
 * SIMD against scalar, and bit-identical results for any thread count. */
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/gemm_internal.h"
#include "glassbox/rng.h"
#include "glassbox/sys.h"
#include "test.h"

static float *rand_mat(gb_rng *r, int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++) p[i] = 2.0f * gb_rng_float(r) - 1.0f;
    return p;
}

/* ref (M,N) = alpha·op(A)·op(B) + beta·C0 (+ bias) in double; tol (M,N) = the rounding room:
 * 8·eps·sqrt(K)·Σ_k |a·b| scaled by alpha, plus the rounding of the epilogue. */
static void reference(double *ref, double *tol, int tA, int tB, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, const float *C0, int64_t ldc, const float *bias) {
    const double eps = 1.0 / (1 << 23);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0, sa = 0;
            for (int64_t k = 0; k < K; k++) {
                double a = tA ? A[k * lda + i] : A[i * lda + k];
                double b = tB ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
                sa += fabs(a * b);
            }
            double c = beta == 0.0f ? 0.0 : (double)beta * C0[i * ldc + j];
            double v = alpha * s + c + (bias ? bias[j] : 0.0);
            ref[i * N + j] = v;
            tol[i * N + j] = 8 * eps * sqrt((double)K + 1) * fabs(alpha) * sa +
                             4 * eps * (fabs(c) + fabs(v) + (bias ? fabs(bias[j]) : 0)) + 1e-30;
        }
}

/* Compares C (M,N; ldc) to ref; reports the worst element. */
static int check_close(const char *what, const float *C, int64_t ldc, const double *ref,
                       const double *tol, int64_t M, int64_t N) {
    int64_t bi = -1, bj = -1;
    double worst = 0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double d = fabs(C[i * ldc + j] - ref[i * N + j]);
            double x = d / tol[i * N + j];
            if (!(x <= 1.0) && (bi < 0 || !(x <= worst))) {
                worst = x, bi = i, bj = j;
                if (isnan(d)) break;
            }
        }
    if (bi < 0) return 1;
    gb_test_fail(__FILE__, __LINE__, "%s: C[%lld,%lld] = %.9g, want %.9g (tol %.3g)", what,
                 (long long)bi, (long long)bj, C[bi * ldc + bj], ref[bi * N + bj],
                 tol[bi * N + bj]);
    return 0;
}

/* One gb_sgemm call with padded leading dimensions checked against the reference. */
static int run_case(gb_rng *r, int tA, int tB, int64_t M, int64_t N, int64_t K, float alpha,
                    float beta) {
    int64_t lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 5, ldc = N + 2;
    int64_t arows = tA ? K : M, brows = tB ? N : K;
    float *A = rand_mat(r, arows * lda), *B = rand_mat(r, brows * ldb);
    float *C = rand_mat(r, M * ldc), *C0 = malloc((size_t)(M * ldc + 1) * sizeof *C0);
    double *ref = malloc((size_t)(M * N + 1) * sizeof *ref);
    double *tol = malloc((size_t)(M * N + 1) * sizeof *tol);
    if (beta == 0.0f) /* beta 0 must not read C: NaN there must not leak through */
        for (int64_t i = 0; i < M * ldc; i++) C[i] = NAN;
    memcpy(C0, C, (size_t)(M * ldc) * sizeof *C);
    reference(ref, tol, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, NULL);
    gb_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    char what[160];
    snprintf(what, sizeof what, "%s tA=%d tB=%d M=%lld N=%lld K=%lld alpha=%g beta=%g",
             gb_gemm_kernel_name(), tA, tB, (long long)M, (long long)N, (long long)K, alpha,
             beta);
    int ok = check_close(what, C, ldc, ref, tol, M, N);
    /* the padding between rows is never touched */
    for (int64_t i = 0; ok && i < M; i++)
        for (int64_t j = N; j < ldc; j++)
            if (memcmp(&C[i * ldc + j], &C0[i * ldc + j], sizeof(float)) != 0) {
                gb_test_fail(__FILE__, __LINE__, "%s: wrote C[%lld,%lld] past N", what,
                             (long long)i, (long long)j);
                ok = 0;
                break;
            }
    free(A), free(B), free(C), free(C0), free(ref), free(tol);
    return ok;
}

static const gb_gemm_isa all_isas[] = {GB_GEMM_SCALAR, GB_GEMM_AVX2, GB_GEMM_AVX512};

/* Shapes around every boundary: 1, below a tile, tile tails, several A (MC) and K (KC)
 * blocks, K = 0. */
static const int64_t shapes[][3] = {
    {1, 1, 1},   {7, 13, 5},  {17, 33, 65}, {5, 3, 0},    {2, 40, 9},    {40, 2, 9},
    {6, 16, 8},  {12, 32, 1}, {13, 31, 17}, {1, 100, 70}, {100, 1, 70},  {29, 47, 257},
    {131, 19, 3}, {250, 21, 400}, {3, 50, 45},
};

TEST(core_gemm_sgemm_all_kernels_odd_shapes) {
    gb_rng r;
    gb_rng_seed(&r, 1);
    static const float ab[][2] = {{1, 0}, {1, 1}, {0.5f, -2}};
    int ran = 0;
    for (size_t s = 0; s < sizeof all_isas / sizeof *all_isas; s++) {
        if (!gb_gemm_use(all_isas[s])) continue;
        ran++;
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
            for (int t = 0; t < 4; t++)
                for (size_t a = 0; a < sizeof ab / sizeof *ab; a++)
                    if (!run_case(&r, t & 1, t >> 1, shapes[i][0], shapes[i][1], shapes[i][2],
                                  ab[a][0], ab[a][1]))
                        goto done;
    }
done:
    gb_gemm_use(GB_GEMM_AUTO);
    CHECK(ran >= 1);
}

TEST(core_gemm_alpha_zero_and_k_zero) {
    float A[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, C[4] = {1, 2, 3, 4};
    /* alpha 0: A·B is not computed (BLAS): C = beta·C even when A holds NaN */
    gb_sgemm(0, 0, 2, 2, 3, 0.0f, A, 3, A, 2, 2.0f, C, 2);
    CHECK(C[0] == 2 && C[1] == 4 && C[2] == 6 && C[3] == 8);
    /* K 0 with bias: out = bias */
    float out[4] = {NAN, NAN, NAN, NAN}, bias[2] = {0.5f, -1};
    gb_gemm_forward(out, A, A, bias, 2, 0, 2);
    CHECK(out[0] == 0.5f && out[1] == -1 && out[2] == 0.5f && out[3] == -1);
    gb_sgemm(0, 0, 0, 5, 5, 1.0f, NULL, 5, NULL, 5, 0.0f, NULL, 5); /* empty: no access */
}

/* The linear-layer wrappers against the reference, with and without bias / accumulate. */
static void check_layer(gb_rng *r, int64_t M, int64_t K, int64_t N) {
    float *in = rand_mat(r, M * K), *w = rand_mat(r, N * K), *b = rand_mat(r, N);
    float *dout = rand_mat(r, M * N), *out = rand_mat(r, M * N);
    float *din = rand_mat(r, M * K), *din0 = malloc((size_t)(M * K + 1) * sizeof *din0);
    float *dw = rand_mat(r, N * K), *dw0 = malloc((size_t)(N * K + 1) * sizeof *dw0);
    float *db = rand_mat(r, N), *db0 = malloc((size_t)(N + 1) * sizeof *db0);
    double *ref = malloc((size_t)(M * (N > K ? N : K) + N * K + 1) * sizeof *ref);
    double *tol = malloc((size_t)(M * (N > K ? N : K) + N * K + 1) * sizeof *tol);
    char what[128];
    for (int withb = 0; withb < 2; withb++) {
        const float *bias = withb ? b : NULL;
        reference(ref, tol, 0, 1, M, N, K, 1.0f, in, K, w, K, 0.0f, out, N, bias);
        gb_gemm_forward(out, in, w, bias, M, K, N);
        snprintf(what, sizeof what, "forward %s bias M=%lld K=%lld N=%lld", withb ? "with" : "no",
                 (long long)M, (long long)K, (long long)N);
        check_close(what, out, N, ref, tol, M, N);
    }
    for (int acc = 0; acc < 2; acc++) {
        memcpy(din0, din, (size_t)(M * K) * sizeof *din);
        reference(ref, tol, 0, 0, M, K, N, 1.0f, dout, N, w, K, (float)acc, din0, K, NULL);
        gb_gemm_backward_input(din, dout, w, (float)acc, M, K, N);
        snprintf(what, sizeof what, "backward_input beta=%d M=%lld K=%lld N=%lld", acc,
                 (long long)M, (long long)K, (long long)N);
        check_close(what, din, K, ref, tol, M, K);
    }
    for (int withb = 0; withb < 2; withb++) {
        memcpy(dw0, dw, (size_t)(N * K) * sizeof *dw);
        memcpy(db0, db, (size_t)N * sizeof *db);
        reference(ref, tol, 1, 0, N, K, M, 1.0f, dout, N, in, K, 1.0f, dw0, K, NULL);
        gb_gemm_backward_weight(dw, withb ? db : NULL, dout, in, M, K, N);
        snprintf(what, sizeof what, "backward_weight M=%lld K=%lld N=%lld", (long long)M,
                 (long long)K, (long long)N);
        check_close(what, dw, K, ref, tol, N, K);
        if (withb) { /* dbias += column sums of dout: a (1,M)·(M,N) product */
            float *ones = malloc((size_t)(M + 1) * sizeof *ones);
            for (int64_t i = 0; i < M; i++) ones[i] = 1.0f;
            reference(ref, tol, 0, 0, 1, N, M, 1.0f, ones, M, dout, N, 1.0f, db0, N, NULL);
            check_close("dbias", db, N, ref, tol, 1, N);
            free(ones);
        }
    }
    free(in), free(w), free(b), free(dout), free(out), free(din), free(din0), free(dw), free(dw0);
    free(db), free(db0), free(ref), free(tol);
}

TEST(core_gemm_linear_layer_wrappers) {
    gb_rng r;
    gb_rng_seed(&r, 2);
    static const int64_t layer[][3] = {{1, 1, 1}, {7, 13, 5}, {17, 33, 65}, {3, 300, 2},
                                       {64, 48, 80}, {130, 70, 270}};
    for (size_t s = 0; s < sizeof all_isas / sizeof *all_isas; s++) {
        if (!gb_gemm_use(all_isas[s])) continue;
        for (size_t i = 0; i < sizeof layer / sizeof *layer; i++)
            check_layer(&r, layer[i][0], layer[i][1], layer[i][2]);
    }
    gb_gemm_use(GB_GEMM_AUTO);
}

/* Each SIMD kernel is held to the scalar one (different rounding: fused vs separate). */
TEST(core_gemm_simd_matches_scalar) {
    gb_rng r;
    gb_rng_seed(&r, 3);
    const int64_t M = 97, N = 75, K = 600;
    float *A = rand_mat(&r, M * K), *B = rand_mat(&r, N * K), *bias = rand_mat(&r, N);
    float *want = malloc((size_t)(M * N) * sizeof *want), *got = malloc((size_t)(M * N) * sizeof *got);
    REQUIRE(gb_gemm_use(GB_GEMM_SCALAR));
    gb_gemm_forward(want, A, B, bias, M, K, N);
    int ran = 0;
    for (size_t s = 1; s < sizeof all_isas / sizeof *all_isas; s++) {
        if (!gb_gemm_use(all_isas[s])) continue;
        ran++;
        gb_gemm_forward(got, A, B, bias, M, K, N);
        /* |terms| <= 1: both are within ~eps·sqrt(K)·K/4 of the truth */
        gb_test_allclose(gb_gemm_kernel_name(), got, want, M * N, 2e-6 * sqrt((double)K) * 8,
                         1e-5);
    }
    gb_gemm_use(GB_GEMM_AUTO);
    if (!ran) gb_test_skip("no SIMD kernel runs on this CPU");
    free(A), free(B), free(bias), free(want), free(got);
}

/* Same bits for 1, 2, 3 and 4 threads, for every entry point, on shapes that cross the
 * MC, KC and NC blocks (and have tails everywhere). */
static void check_threads(gb_rng *r, int64_t M, int64_t K, int64_t N) {
    float *in = rand_mat(r, M * K), *w = rand_mat(r, N * K), *b = rand_mat(r, N);
    float *dout = rand_mat(r, M * N);
    int64_t n[3] = {M * N, M * K, N * K}; /* forward, backward_input, backward_weight */
    size_t big = (size_t)(n[0] > n[1] ? (n[0] > n[2] ? n[0] : n[2]) : (n[1] > n[2] ? n[1] : n[2]));
    float *ref[3], *got[3];
    for (int i = 0; i < 3; i++) ref[i] = calloc(big, sizeof(float)), got[i] = calloc(big, sizeof(float));
    float *db_ref = calloc((size_t)N, sizeof(float)), *db = calloc((size_t)N, sizeof(float));
    static const int threads[] = {1, 2, 3, 4};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        gb_threads_set(threads[t]);
        float **o = t == 0 ? ref : got;
        float *dbo = t == 0 ? db_ref : db;
        gb_gemm_forward(o[0], in, w, b, M, K, N);
        for (int64_t i = 0; i < M * K; i++) o[1][i] = 0.25f;
        gb_gemm_backward_input(o[1], dout, w, 1.0f, M, K, N);
        for (int64_t i = 0; i < N * K; i++) o[2][i] = 0.25f;
        for (int64_t i = 0; i < N; i++) dbo[i] = 0.25f;
        gb_gemm_backward_weight(o[2], dbo, dout, in, M, K, N);
        if (t == 0) continue;
        const char *names[3] = {"forward", "backward_input", "backward_weight"};
        for (int i = 0; i < 3; i++)
            if (memcmp(ref[i], got[i], (size_t)n[i] * sizeof(float)) != 0)
                gb_test_fail(__FILE__, __LINE__, "%s %s M=%lld K=%lld N=%lld: %d threads differ from 1",
                             gb_gemm_kernel_name(), names[i], (long long)M, (long long)K,
                             (long long)N, threads[t]);
        if (memcmp(db_ref, db, (size_t)N * sizeof(float)) != 0)
            gb_test_fail(__FILE__, __LINE__, "dbias: %d threads differ from 1", threads[t]);
    }
    free(in), free(w), free(b), free(dout), free(db_ref), free(db);
    for (int i = 0; i < 3; i++) free(ref[i]), free(got[i]);
}

/* Same bits for 1, 2, 3 and 4 threads, for every entry point and kernel, on shapes that
 * cross the MC, KC and NC blocks (with tails everywhere). */
TEST(core_gemm_bit_identical_across_threads) {
    gb_rng r;
    gb_rng_seed(&r, 4);
    int saved = gb_threads_get();
    for (size_t s = 0; s < sizeof all_isas / sizeof *all_isas; s++) {
        if (!gb_gemm_use(all_isas[s])) continue;
        check_threads(&r, 263, 400, 45);  /* several MC and KC blocks */
        check_threads(&r, 21, 40, 4200);  /* several NC blocks; backward_weight: MC blocks */
        check_threads(&r, 3, 300, 700);   /* the small-M (dot product) path */
    }
    gb_gemm_use(GB_GEMM_AUTO);
    gb_threads_set(saved);
}

/* Without packing memory every call falls back to a plain loop: still right, still the same
 * bits for any thread count; gb_gemm_release drops the cache and the next call rebuilds it. */
TEST(core_gemm_fallback_without_workspace) {
    gb_rng r;
    gb_rng_seed(&r, 5);
    int saved = gb_threads_get();
    gb_gemm_deny_workspace(1);
    CHECK(run_case(&r, 0, 1, 37, 45, 300, 1.0f, 1.0f));
    CHECK(run_case(&r, 1, 0, 40, 29, 77, 0.5f, 0.0f));
    check_threads(&r, 130, 90, 70);
    gb_gemm_deny_workspace(0);
    gb_gemm_release();
    gb_gemm_release();
    CHECK(run_case(&r, 0, 0, 50, 60, 70, 1.0f, 0.0f));
    gb_threads_set(saved);
}

TEST(core_gemm_kernel_choice) {
    CHECK(gb_gemm_use(GB_GEMM_SCALAR));
    CHECK_STR(gb_gemm_kernel_name(), "scalar");
    CHECK(gb_gemm_use(GB_GEMM_AUTO));
    const char *n = gb_gemm_kernel_name();
    CHECK(!strcmp(n, "scalar") || !strcmp(n, "avx2") || !strcmp(n, "avx512"));
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        !__builtin_cpu_supports("avx512f"))
        CHECK_STR(n, "avx2");
#endif
}
