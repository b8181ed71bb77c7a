/* glassbox — the SIMD GEMM micro-kernel, written once and instantiated per ISA.
 *
 * Included by gemm_avx2.c and gemm_avx512.c after they define:
 *   UK_NAME, UK_TARGET (the target attribute), UK_MR (rows), UK_NV (vectors per row),
 *   UK_VL (floats per vector), uk_vec, uk_zero(), uk_load(p), uk_store(p, v),
 *   uk_bcast(p) (one float to all lanes), uk_set1(x), uk_fma(a, b, c) = a·b + c fused,
 *   uk_add(a, b), uk_mul(a, b).
 * Contract: gemm_ukernel in gemm_internal.h. The accumulators (UK_MR x UK_NV vectors) stay in
 * registers: 12 of AVX2's 16, 24 of AVX-512's 32, leaving room for the B row and a broadcast. */

#define UK_NR (UK_NV * UK_VL)

UK_TARGET void UK_NAME(int64_t kc, const float *restrict a, const float *restrict b,
                       float *restrict c, int64_t ldc, float alpha, float beta,
                       const float *restrict bias) {
    uk_vec acc[UK_MR][UK_NV];
#pragma GCC unroll 16
    for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) acc[i][v] = uk_zero();

    /* C was last touched a whole K block ago (L3 by now): fetch it while the FMAs run */
#pragma GCC unroll 16
    for (int i = 0; i < UK_MR; i++) {
        __builtin_prefetch(c + i * ldc, 1, 3);
        __builtin_prefetch(c + i * ldc + UK_NR - 1, 1, 3);
    }
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        uk_vec bv[UK_NV];
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) bv[v] = uk_load(b + v * UK_VL);
#pragma GCC unroll 16
        for (int i = 0; i < UK_MR; i++) {
            uk_vec ai = uk_bcast(a + i);
#pragma GCC unroll 4
            for (int v = 0; v < UK_NV; v++) acc[i][v] = uk_fma(ai, bv[v], acc[i][v]);
        }
        a += UK_MR;
        b += UK_NR;
    }

    const uk_vec va = uk_set1(alpha), vb = uk_set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < UK_MR; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) {
            uk_vec t = acc[i][v];
            if (alpha != 1.0f) t = uk_mul(va, t);
            if (beta == 1.0f) t = uk_add(t, uk_load(ci + v * UK_VL));
            else if (beta != 0.0f) t = uk_add(t, uk_mul(vb, uk_load(ci + v * UK_VL)));
            if (bias) t = uk_add(t, uk_load(bias + v * UK_VL));
            uk_store(ci + v * UK_VL, t);
        }
    }
}

/* Σ_k x[k]·y[k] for the small-M path (one row of A against rows of Bᵀ): four vector
 * accumulators in k order, combined (s0+s1)+(s2+s3), lanes summed by uk_hsum, scalar tail.
 * The order depends only on n. */
UK_TARGET float UK_DOT_NAME(const float *restrict x, const float *restrict y, int64_t n) {
    uk_vec s0 = uk_zero(), s1 = uk_zero(), s2 = uk_zero(), s3 = uk_zero();
    int64_t k = 0;
    for (; k + 4 * UK_VL <= n; k += 4 * UK_VL) {
        s0 = uk_fma(uk_load(x + k), uk_load(y + k), s0);
        s1 = uk_fma(uk_load(x + k + UK_VL), uk_load(y + k + UK_VL), s1);
        s2 = uk_fma(uk_load(x + k + 2 * UK_VL), uk_load(y + k + 2 * UK_VL), s2);
        s3 = uk_fma(uk_load(x + k + 3 * UK_VL), uk_load(y + k + 3 * UK_VL), s3);
    }
    for (; k + UK_VL <= n; k += UK_VL) s0 = uk_fma(uk_load(x + k), uk_load(y + k), s0);
    float t = uk_hsum(uk_add(uk_add(s0, s1), uk_add(s2, s3)));
    for (; k < n; k++) t = t + x[k] * y[k];
    return t;
}
