/* The AVX-512 VNNI kernels (src/core/quant_avx512.c) compiled here against
 * SIMDe's portable versions of the intrinsics (Debian's libsimde-dev) and held to the scalar
 * references bit for bit, so that a machine without AVX-512 still checks their lane logic:
 * which bytes meet which, which scale each lane takes, how the halves fold. The instructions
 * themselves are checked by test_quant.c on CPUs that have them. */
#if defined(__x86_64__) || defined(__i386__)
/* AVX2, FMA and F16C natively (SIMDe would split an FMA into two roundings), AVX-512 emulated
 * on top of them; the tests skip on CPUs without the former. */
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
/* SIMDe 0.7.4 aliases the two-operand _mm512_madd_epi16 with four (its masked form's) */
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

#define GB_QUANT_EMULATE_AVX512 1
#define gb_quant_kernels_avx512 gb_quant_kernels_avx512_emulated
#include "core/quant_avx512.c"

#include <stdlib.h>

#include "glassbox/rng.h"
#include "test.h"

static const quant_kernels *const emu = &gb_quant_kernels_avx512_emulated;

/* Random code bytes with small fp16 scales at the given offsets (the codes span their range). */
static void random_blocks(void *p, size_t nblk, size_t bs, size_t d_at, int with_min, gb_rng *r) {
    unsigned char *b = p;
    for (size_t i = 0; i < nblk * bs; i++) b[i] = (unsigned char)gb_rng_u64(r);
    for (size_t i = 0; i < nblk; i++) {
        const uint16_t d = gb_fp32_to_fp16(gb_rng_normal(r) * 0.01f), m = gb_fp32_to_fp16(gb_rng_float(r) * 0.01f);
        memcpy(b + i * bs + d_at, &d, 2);
        if (with_min) memcpy(b + i * bs + 2, &m, 2);
    }
}

static void act(float *x, int64_t n, gb_rng *r) {
    for (int64_t i = 0; i < n; i++) x[i] = gb_rng_normal(r) * (gb_rng_float(r) < 0.05f ? 10.0f : 1.0f);
}

static int same(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static int runs_avx2(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    gb_test_skip("the emulation runs on AVX2 + FMA");
    return 0;
}

TEST(core_quant_avx512_emulated_dots_equal_scalar) {
    if (!runs_avx2()) return;
    gb_rng r;
    gb_rng_seed(&r, 512);
    enum { NMAX = 256 * 9 };
    static gb_block_q8_0 w8[NMAX / 32], x8[NMAX / 32];
    static gb_block_q4_0 w4[NMAX / 32];
    static gb_block_q4_K wk[NMAX / 256];
    static gb_block_q6_K w6[NMAX / 256];
    static gb_block_q8_K xk[NMAX / 256];
    static float x[NMAX], xd[NMAX / 32];
    static int32_t xs[NMAX / 32];
    int bad = 0, cases = 0;
    for (int64_t n = 32; n <= NMAX; n += 32) {
        const int64_t nb = n / 32;
        for (int rep = 0; rep < 3; rep++, cases++) {
            random_blocks(w8, (size_t)nb, sizeof *w8, 0, 0, &r);
            random_blocks(w4, (size_t)nb, sizeof *w4, 0, 0, &r);
            act(x, n, &r);
            gb_quantize_row_q8_0(x8, x, n);
            for (int64_t b = 0; b < nb; b++) { /* matvec's side table */
                xd[b] = gb_fp16_to_fp32(x8[b].d);
                xs[b] = 0;
                for (int j = 0; j < 32; j++) xs[b] += x8[b].qs[j];
            }
            bad += !same(emu->dot_q8_0_t(n, w8, x8, xd), gb_vec_dot_q8_0_q8_0_ref(n, w8, x8));
            bad += !same(emu->dot_q4_0_t(n, w4, x8, xd, xs), gb_vec_dot_q4_0_q8_0_ref(n, w4, x8));
            if (n % 256 == 0) {
                const size_t nk = (size_t)(n / 256);
                random_blocks(wk, nk, sizeof *wk, 0, 1, &r);
                random_blocks(w6, nk, sizeof *w6, offsetof(gb_block_q6_K, d), 0, &r);
                gb_quantize_row_q8_K(xk, x, n);
                bad += !same(emu->dot_q4_K(n, wk, xk), gb_vec_dot_q4_K_q8_K_ref(n, wk, xk));
                bad += !same(emu->dot_q6_K(n, w6, xk), gb_vec_dot_q6_K_q8_K_ref(n, w6, xk));
            }
        }
    }
    CHECK(cases > 200);
    CHECK_EQ_INT(bad, 0);
}

#endif
