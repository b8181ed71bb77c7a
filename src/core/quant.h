/* glassbox — GGUF tensor number formats: fp16, bf16 and ggml's block-quantized types, and the
 * dot products inference runs on them.
 *
 * Byte layouts (little-endian; "fp16" is IEEE binary16; QK = elements per block):
 *
 *   type  QK   bytes  layout
 *   F32    1     4    float
 *   F16    1     2    fp16
 *   BF16   1     2    the high 16 bits of a float (rounded to nearest even)
 *   Q8_0  32    34    fp16 d · int8 qs[32]                        x = d·q
 *   Q4_0  32    18    fp16 d · u8 qs[16]                          x = d·(q − 8); element j < 16
 *                                                                 is the low nibble of qs[j],
 *                                                                 element j + 16 the high one
 *   Q4_K 256   144    fp16 d · fp16 dmin · u8 scales[12] · u8 qs[128]
 *                     8 sub-blocks of 32, each with a 6-bit scale sc and 6-bit min m:
 *                     x = d·sc·q − dmin·m, q a 4-bit code. scales[12] packs the 16 six-bit
 *                     values: for j < 4, sc_j = scales[j] & 63, m_j = scales[j+4] & 63; for
 *                     j >= 4, sc_j = (scales[j+4] & 15) | (scales[j−4] >> 6) << 4 and
 *                     m_j = (scales[j+4] >> 4) | (scales[j] >> 6) << 4. qs holds 4 chunks of
 *                     64 elements in 32 bytes: low nibbles the first 32, high nibbles the next.
 *   Q6_K 256   210    u8 ql[128] · u8 qh[64] · int8 scales[16] · fp16 d
 *                     16 sub-blocks of 16 with a signed 8-bit scale: x = d·scales[k]·(q − 32),
 *                     q a 6-bit code: 4 low bits in ql, 2 high bits in qh (see quant.c).
 *   Q8_K 256   292    float d · int8 qs[256] · int16 bsums[16] (sums of 16 qs). Not a file
 *                     type: the activations' format for dot products with the K types.
 *
 * Quantizers are exact re-implementations of ggml's reference quantizers (quantize_row_*_ref,
 * the ones `llama-quantize` uses when no importance matrix is given), dequantizers of ggml's
 * dequantize_row_*: same bytes, same floats. tests/core/test_quant_ggml.c checks this against
 * a build of ggml when one is present (bench/quant: npm install). See docs/quantization.md.
 *
 * Dot products: the activation row is quantized to Q8_0 (for Q8_0/Q4_0 weights) or Q8_K (for
 * Q4_K/Q6_K), as ggml does, and the blocks are multiplied in integers; F16/BF16/F32 weights
 * are multiplied with float activations. Every kernel has a portable scalar version, and
 * AVX2, AVX-512 VNNI and AMX versions are chosen once at run time from CPUID; the quantized
 * ones return the scalar version's bits, the float ones may differ by rounding (accumulation
 * order). Decode can also run on matrices interleaved by 8 rows (quant_x8.h). */
#ifndef GLASSBOX_CORE_QUANT_H
#define GLASSBOX_CORE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"
#include "glassbox/gguf.h"

#define GB_QK8_0 32
#define GB_QK4_0 32
#define GB_QK_K 256

typedef struct {
    uint16_t d;     /* fp16 scale */
    int8_t qs[32];  /* codes */
} gb_block_q8_0;

typedef struct {
    uint16_t d;     /* fp16 scale */
    uint8_t qs[16]; /* nibbles: element j low, j + 16 high */
} gb_block_q4_0;

typedef struct {
    uint16_t d;          /* fp16 super-block scale of the 6-bit scales */
    uint16_t dmin;       /* fp16 super-block scale of the 6-bit mins */
    uint8_t scales[12];  /* 8 scales and 8 mins, 6 bits each */
    uint8_t qs[128];     /* 4-bit codes */
} gb_block_q4_K;

typedef struct {
    uint8_t ql[128];    /* low 4 bits of the codes */
    uint8_t qh[64];     /* high 2 bits of the codes */
    int8_t scales[16];  /* one per 16 elements */
    uint16_t d;         /* fp16 super-block scale */
} gb_block_q6_K;

typedef struct {
    float d;            /* scale */
    int8_t qs[256];     /* codes */
    int16_t bsums[16];  /* sum of each 16 codes */
} gb_block_q8_K;

_Static_assert(sizeof(gb_block_q8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(gb_block_q4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(gb_block_q4_K) == 144, "Q4_K block");
_Static_assert(sizeof(gb_block_q6_K) == 210, "Q6_K block");
_Static_assert(sizeof(gb_block_q8_K) == 292, "Q8_K block");

/* ---- fp16 / bf16 ------------------------------------------------------------------------ */

/* Round to nearest even; overflow gives ±Inf; NaN stays NaN with its sign and the top 9 bits
 * of its payload, quiet bit set (what x86's F16C VCVTPS2PH does). */
uint16_t gb_fp32_to_fp16(float f);
/* Whether the CPU converts fp16 in hardware (x86 F16C; with AVX2 on every CPU seen so far). */
int gb_cpu_has_f16c(void);
/* Exact (every half is a float). A signaling NaN comes back quiet (as VCVTPH2PS does). */
float gb_fp16_to_fp32(uint16_t h);
/* Round to nearest even (subnormals kept); NaN: top 16 bits with the quiet bit set. This is
 * ggml's GGML_FP32_TO_BF16 and PyTorch's conversion. */
uint16_t gb_fp32_to_bf16(float f);
float gb_bf16_to_fp32(uint16_t h);

/* Rows (F16C when the CPU has it: the same bits as the scalar functions above). */
void gb_fp16_from_f32_row(uint16_t *restrict dst, const float *restrict src, int64_t n);
void gb_fp16_to_f32_row(float *restrict dst, const uint16_t *restrict src, int64_t n);
void gb_bf16_from_f32_row(uint16_t *restrict dst, const float *restrict src, int64_t n);
void gb_bf16_to_f32_row(float *restrict dst, const uint16_t *restrict src, int64_t n);

/* ---- rows of any supported type ---------------------------------------------------------- */

/* 1 for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K (the types quantize/dequantize/matvec take). */
int gb_quant_supported(uint32_t type);

/* Bytes of n elements of `type` (n a multiple of its block size); 0 for an unsupported type. */
size_t gb_quant_row_size(uint32_t type, int64_t n);

/* dst (n elements of `type`) = src (n floats) rounded the way ggml's reference quantizer does.
 * GB_ERR_ARG (with a message) for an unsupported type or n not a multiple of the block size.
 * Non-finite inputs give well-defined but meaningless codes. */
gb_status gb_quant_quantize_row(uint32_t type, void *restrict dst, const float *restrict src,
                                int64_t n);
/* dst (n floats) = the values src (n elements of `type`) encodes. Same errors. */
gb_status gb_quant_dequantize_row(uint32_t type, float *restrict dst, const void *restrict src,
                                  int64_t n);

/* The per-type functions behind those two (n a multiple of the block size, checked by
 * GB_ASSERT). Quantizers are ggml's *_ref. Q8_K is the activation format. */
void gb_quantize_row_q8_0(gb_block_q8_0 *restrict y, const float *restrict x, int64_t n);
void gb_quantize_row_q4_0(gb_block_q4_0 *restrict y, const float *restrict x, int64_t n);
void gb_quantize_row_q4_K(gb_block_q4_K *restrict y, const float *restrict x, int64_t n);
void gb_quantize_row_q6_K(gb_block_q6_K *restrict y, const float *restrict x, int64_t n);
void gb_quantize_row_q8_K(gb_block_q8_K *restrict y, const float *restrict x, int64_t n);
void gb_dequantize_row_q8_0(float *restrict y, const gb_block_q8_0 *restrict x, int64_t n);
void gb_dequantize_row_q4_0(float *restrict y, const gb_block_q4_0 *restrict x, int64_t n);
void gb_dequantize_row_q4_K(float *restrict y, const gb_block_q4_K *restrict x, int64_t n);
void gb_dequantize_row_q6_K(float *restrict y, const gb_block_q6_K *restrict x, int64_t n);
void gb_dequantize_row_q8_K(float *restrict y, const gb_block_q8_K *restrict x, int64_t n);

/* ---- dot products ------------------------------------------------------------------------ */

/* The format the activations of a `type` weight row are put in for gb_quant_vec_dot:
 * Q8_0 for Q8_0/Q4_0, Q8_K for Q4_K/Q6_K, F32 for F32/F16/BF16. */
uint32_t gb_quant_vec_dot_type(uint32_t type);

/* Σ_i w[i]·x[i] over n elements: w a row of `type`, x a row of gb_quant_vec_dot_type(type)
 * (quantize it with gb_quant_quantize_row or gb_quant_quantize_act). Uses the selected ISA.
 * n must be a multiple of the block size and type supported (GB_ASSERT). */
float gb_quant_vec_dot(uint32_t type, const void *restrict w, const void *restrict x, int64_t n);

/* Activation quantizer for dot products: the same bits as gb_quant_quantize_row for Q8_0 and
 * Q8_K (SIMD when available); F32 is copied. */
void gb_quant_quantize_act(uint32_t vec_dot_type, void *restrict dst, const float *restrict src,
                           int64_t n);

/* out[r] = Σ_c W[r,c]·x[c] for r < n_rows: W (n_rows, n_cols) of `type`, rows packed back to
 * back (gb_quant_row_size(type, n_cols) bytes each), x (n_cols) floats. The decode product.
 * x is quantized once (to Q8_0/Q8_K as above) into a per-thread buffer kept between calls;
 * rows are split among gb_threads_get() threads by fixed ranges and each row's sum is computed
 * whole by one thread, so the result does not depend on the thread count.
 * GB_ERR_ARG for an unsupported type or n_cols not a multiple of the block size;
 * GB_ERR_NOMEM if the activation buffer cannot be grown. */
gb_status gb_quant_matvec(uint32_t type, const void *restrict W, const float *restrict x,
                          float *restrict out, int64_t n_rows, int64_t n_cols);

/* out (M, n_rows) = X (M, n_cols) · W (n_rows, n_cols)ᵀ: the prefill product, M rows of
 * activations at once (each weight row is read once for all M). Same contract as matvec;
 * row m of out has the same bits as gb_quant_matvec on row m of X. */
gb_status gb_quant_matmul(uint32_t type, const void *restrict W, const float *restrict X,
                          float *restrict out, int64_t M, int64_t n_rows, int64_t n_cols);

/* Decode inside the caller's own parallel region (src/infer/llm_decode.c runs one per token):
 * each thread prepares the activation row once into its own buffer of at most 4·n_cols + 64
 * bytes (quantized with matvec's side table, or the floats for F32/F16/BF16 rows), then multiplies
 * any range of rows, out[r] for r0 <= r < r1, with the bits of gb_quant_matvec (x8: W
 * interleaved by 8 rows, r0 and r1 multiples of 8; gb_quant_x8_matmul's bits). No threads,
 * no allocation; the type must be supported and n_cols whole blocks (GB_ASSERT). */
void gb_quant_act_prepare(uint32_t type, void *restrict dst, const float *restrict x, int64_t n_cols);
void gb_quant_matvec_rows(uint32_t type, int x8, const void *restrict W, const void *restrict act,
                          float *restrict out, int64_t n_cols, int64_t r0, int64_t r1);

/* out (M, n_rows) = X (M, n_cols) · Wᵀ in 8-bit integer arithmetic: the fast prefill product
 * for gb_quant_gemm_supported types (Q8_0, Q4_0, Q4_K, Q6_K). X is quantized to Q8_0 per
 * 32-element block, so the result equals the exact product of W with those quantized rows up
 * to float rounding (not gb_quant_matmul's bits). Independent of the thread count.
 * GB_ERR_ARG for another type or a bad shape, GB_ERR_NOMEM without scratch memory (about
 * 1.5·M·n_cols bytes plus a 48·n_cols-byte panel per thread, cached by the calling thread
 * between calls like matvec's activation buffer). */
int gb_quant_gemm_supported(uint32_t type);
gb_status gb_quant_gemm(uint32_t type, const void *restrict W, const float *restrict X, float *restrict out,
                        int64_t M, int64_t n_rows, int64_t n_cols);

/* Frees the calling thread's cached activation and prefill buffers. */
void gb_quant_release(void);

/* ---- kernel choice (tests, benchmarks) --------------------------------------------------- */

typedef enum {
    GB_QUANT_AUTO = 0,
    GB_QUANT_SCALAR, /* portable C: the reference */
    GB_QUANT_AVX2,   /* AVX2 + FMA + F16C */
    GB_QUANT_AVX512, /* the above + AVX-512 F/BW/VL + VNNI (Ice Lake, Sapphire Rapids, Zen 4 on) */
    GB_QUANT_AMX,    /* the above, with prefill on AMX-INT8 tiles (Sapphire Rapids on) */
} gb_quant_isa;

/* Selects the kernels for later calls (process-wide; not while a product runs). Returns 0 if
 * this CPU cannot run them, leaving the choice as it was. */
int gb_quant_use(gb_quant_isa isa);
/* The kernel set named "scalar", "avx2", "avx512" or "amx"; GB_QUANT_AUTO for another name. */
gb_quant_isa gb_quant_isa_by_name(const char *name);
/* "scalar", "avx2", "avx512vnni" or "amx". */
const char *gb_quant_kernel_name(void);

/* The scalar reference dot products, whatever the selection (for tests). */
float gb_vec_dot_q8_0_q8_0_ref(int64_t n, const gb_block_q8_0 *restrict w,
                               const gb_block_q8_0 *restrict x);
float gb_vec_dot_q4_0_q8_0_ref(int64_t n, const gb_block_q4_0 *restrict w,
                               const gb_block_q8_0 *restrict x);
float gb_vec_dot_q4_K_q8_K_ref(int64_t n, const gb_block_q4_K *restrict w,
                               const gb_block_q8_K *restrict x);
float gb_vec_dot_q6_K_q8_K_ref(int64_t n, const gb_block_q6_K *restrict w,
                               const gb_block_q8_K *restrict x);
float gb_vec_dot_f16_f32_ref(int64_t n, const uint16_t *restrict w, const float *restrict x);
float gb_vec_dot_bf16_f32_ref(int64_t n, const uint16_t *restrict w, const float *restrict x);
float gb_vec_dot_f32_ref(int64_t n, const float *restrict w, const float *restrict x);

#endif
