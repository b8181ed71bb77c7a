/* glassbox — inference: running a GGUF model token by token.
 *
 * gb_llm is a loaded model ready to generate: weights mapped from a GGUF file in their
 * stored types (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K), the tokenizer from the file's
 * metadata, and a KV cache of n_ctx positions. Prefill evaluates many tokens at once
 * (matrix-matrix); decode one token (matrix-vector). Architectures: gpt2 and llama
 * (the GGUF conventions' tensor names and metadata keys).
 *
 * gb_sampler turns logits into the next token (temperature, top-k, top-p, min-p,
 * repetition / frequency / presence penalties, seed) and reports log-probabilities.
 * gb_generate runs the loop: prompt → tokens, streaming text through a callback,
 * stopping at EOS, a stop string or max tokens. */
#ifndef GLASSBOX_INFER_H
#define GLASSBOX_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

/* ---- the model (src/infer/llm.c) ---- */

typedef struct gb_llm gb_llm;

/* Loads `path` (GGUF v3). n_ctx 0 uses the model's context length; a larger value than
 * the model's is GB_ERR_ARG. Unknown architecture or tensor type: GB_ERR_FORMAT naming it.
 * RoPE scaling (llama): rope.scaling.type none/linear with rope.scaling.factor (or the older
 * rope.scale_linear) and the optional per-dimension rope_freqs.weight, as llama.cpp applies
 * them; "yarn" or another type is GB_ERR_FORMAT naming the key and value. */
gb_status gb_llm_load(gb_llm **out, const char *path, int64_t n_ctx);
/* As gb_llm_load, over a GGUF image in memory that the caller keeps alive and unchanged until
 * gb_llm_free (name is used in messages). */
gb_status gb_llm_load_mem(gb_llm **out, const void *data, size_t len, const char *name, int64_t n_ctx);
void gb_llm_free(gb_llm *m); /* NULL is a no-op */
/* Whether models loaded afterwards re-lay their Q8_0/Q4_0/Q4_K/Q6_K/F16 matrices interleaved by
 * 8 rows, which roughly halves the instructions decode spends per weight byte (as llama.cpp's
 * CPU "repack"), and move F32 ones as they are, all into transparent huge pages. On by
 * default where SIMD kernels run; the copy replaces the file's pages in
 * memory (they are dropped), so memory use stays the same. Off (llama.cpp's --no-repack):
 * every weight stays in the file's mapping. Process-wide; not while a model loads. */
void gb_llm_set_repack(int on);
/* The element type of the KV cache of models loaded afterwards: GB_GGML_F16 (the default, as
 * llama.cpp's; half the memory and half the bytes attention reads) or GB_GGML_F32 (the
 * training model's numbers exactly); another is GB_ERR_ARG. Process-wide; not while a model
 * loads. */
gb_status gb_llm_set_kv_type(uint32_t type);

const gb_tokenizer *gb_llm_tokenizer(const gb_llm *m);
int64_t gb_llm_n_ctx(const gb_llm *m);
int64_t gb_llm_n_vocab(const gb_llm *m);
const char *gb_llm_arch(const gb_llm *m);   /* "gpt2", "llama" */
int64_t gb_llm_bos(const gb_llm *m);        /* -1 if none; add it before a prompt when gb_llm_add_bos */
int64_t gb_llm_eos(const gb_llm *m);        /* -1 if none */
int gb_llm_add_bos(const gb_llm *m);

/* Evaluates tokens[0..n) at positions pos .. pos+n-1, writing their keys/values into the
 * cache (positions >= pos are overwritten, so rewinding is just a smaller pos).
 * logits: n_vocab floats for the last token, or n·n_vocab (row per token) when
 * all_logits. pos + n > n_ctx is GB_ERR_ARG ("prompt longer than the context"). */
gb_status gb_llm_eval(gb_llm *m, const uint32_t *tokens, int64_t n, int64_t pos, float *logits,
                      int all_logits);

/* Sizes of a loaded model, for benchmarks and `glassbox info`. */
typedef struct gb_llm_info {
    int n_layer, n_head, n_kv_head, d_model, d_ff;
    int64_t n_params;                /* elements of every tensor the model uses */
    uint64_t file_bytes;
    uint64_t weight_bytes_per_token; /* tensor bytes one decoded token reads (embedding tables
                                        count one row, i.e. nothing, unless tied to the output) */
    uint64_t kv_bytes_per_pos;       /* KV cache bytes per cached position (K and V) */
    uint32_t kv_type;                /* their elements: GB_GGML_F16 or GB_GGML_F32 */
    const char *rope_scaling;        /* "none" or "linear" (llama: rope.scaling.type; gpt2: "none") */
    float rope_freq_scale;           /* 1/rope.scaling.factor: RoPE positions are multiplied by it */
    int rope_freqs;                  /* 1: rope_freqs.weight divides each RoPE frequency */
    uint64_t repacked_bytes;         /* matrix bytes re-laid for decode (gb_llm_set_repack) */
} gb_llm_info;
void gb_llm_get_info(const gb_llm *m, gb_llm_info *out);

/* llama.cpp's LLAMA_FTYPE_* numbers (general.file_type) for the files glassbox writes. */
typedef enum gb_llm_ftype {
    GB_FTYPE_ALL_F32 = 0,
    GB_FTYPE_MOSTLY_F16 = 1,
    GB_FTYPE_MOSTLY_Q4_0 = 2,
    GB_FTYPE_MOSTLY_Q8_0 = 7,
    GB_FTYPE_MOSTLY_Q4_K_S = 14, /* Q4_K, output Q6_K */
    GB_FTYPE_MOSTLY_Q4_K_M = 15, /* Q4_K, output Q6_K, attn_v/ffn_down Q6_K on 1 layer in 3 or so */
    GB_FTYPE_MOSTLY_Q6_K = 18,
    GB_FTYPE_MOSTLY_BF16 = 32,
} gb_llm_ftype;

/* Writes `in` (GGUF) to `out` with its 2-D weight matrices in the types llama.cpp's
 * llama_tensor_get_type gives for `ftype` without an importance matrix (the rules and where
 * glassbox differs: src/infer/llm_quantize.c); 1-D tensors (norms, biases) stay F32, as
 * llama.cpp does. Matrices whose rows are not a multiple of the type's block size fall back
 * to Q8_0 or F32 (tensors not in the base type are named on stderr when verbose). Metadata is
 * copied (general.file_type = ftype); atomic write. An ftype not listed is GB_ERR_ARG. */
gb_status gb_llm_quantize_ftype(const char *in, const char *out, gb_llm_ftype ftype, int verbose);
/* The same with the file type of one tensor type (F16, BF16, Q8_0, Q4_0, Q4_K → Q4_K_S, Q6_K,
 * F32). */
gb_status gb_llm_quantize(const char *in, const char *out, uint32_t type, int verbose);

/* ---- sampling (src/infer/sampler.c) ---- */

typedef struct gb_sampler_params {
    float temperature;       /* 0: greedy (argmax, deterministic) */
    int top_k;               /* 0: off */
    float top_p;             /* 1: off */
    float min_p;             /* 0: off; keep tokens with p >= min_p * p_max */
    float repeat_penalty;    /* 1: off; llama.cpp's: logit/penalty if > 0 else logit*penalty */
    int repeat_last_n;       /* window for the three penalties (64 by default) */
    float frequency_penalty; /* 0: off; OpenAI's: logit -= count * f */
    float presence_penalty;  /* 0: off; logit -= (count > 0) * p */
    uint64_t seed;
} gb_sampler_params;

void gb_sampler_params_default(gb_sampler_params *p);

typedef struct gb_token_logprob {
    uint32_t id;
    float logprob; /* natural log of the probability after penalties and temperature */
} gb_token_logprob;

typedef struct gb_sampler gb_sampler;
gb_status gb_sampler_new(gb_sampler **out, const gb_sampler_params *p, int64_t n_vocab);
void gb_sampler_free(gb_sampler *s);
/* Picks the next token from logits (n_vocab floats; not modified). If chosen is non-NULL
 * it receives the chosen token's logprob; if n_top > 0, top[0..n_top) the most likely
 * tokens, best first. */
uint32_t gb_sampler_sample(gb_sampler *s, const float *logits, gb_token_logprob *chosen,
                           gb_token_logprob *top, int n_top);
/* The tokens gb_sampler_sample could draw from these logits with the current penalties and
 * filters, best first (ties: lower id), with their probabilities renormalised to sum to 1;
 * returns how many (1 when greedy). ids and probs hold n_vocab entries. Draws nothing: the
 * RNG is untouched. For tests and for showing the model's choices (inspect). */
int64_t gb_sampler_candidates(gb_sampler *s, const float *logits, uint32_t *ids, float *probs);
/* Records a token of the context (prompt or generated) for the penalties. */
void gb_sampler_accept(gb_sampler *s, uint32_t token);

/* ---- the generation loop (src/infer/generate.c) ---- */

typedef struct gb_generate_params {
    int64_t max_tokens;       /* <= 0: until EOS or the context is full */
    const char *const *stop;  /* stop strings (not included in the output); may be NULL */
    int n_stop;
    int n_logprobs;           /* top alternatives reported per token (0..20) */
} gb_generate_params;

/* Called for each piece of generated text as soon as it is complete UTF-8 (text may be
 * empty when a token ends mid-character). Return non-zero to stop. */
typedef int (*gb_generate_cb)(void *user, const char *text, size_t len, const gb_token_logprob *chosen,
                              const gb_token_logprob *top, int n_top);

typedef struct gb_generate_stats {
    int64_t n_prompt, n_generated;
    double prompt_seconds, gen_seconds;
    const char *finish_reason; /* "stop" (EOS or stop string), "length", "callback" */
} gb_generate_stats;

/* The callback is called once per generated token (not for EOS), with that token as
 * *chosen; a last call with chosen NULL may bring text held back for a stop string that
 * never completed. The last sampled token is not evaluated, so the cache ends up holding
 * the prompt and all generated tokens but the last (none when the first is EOS). */
/* Continues from the tokens already in the cache (n_past) with prompt[0..n_prompt):
 * evaluates the prompt, then samples until done. On return *n_past is the new cache fill,
 * so a chat can continue turn after turn. */
gb_status gb_generate(gb_llm *m, gb_sampler *s, const uint32_t *prompt, int64_t n_prompt, int64_t *n_past,
                      const gb_generate_params *p, gb_generate_cb cb, void *user, gb_generate_stats *stats);

/* ---- streaming hold-back (src/infer/generate.c; public so tests can drive it) ----
 * Decoded bytes go in token by token; what comes out is safe to show: it never ends inside
 * a UTF-8 character (up to 3 bytes of an unfinished one wait for the next token) and never
 * includes text that could be the beginning of a stop string (that waits until it is known
 * not to be one). A stop string found ends the stream; it and what follows are dropped. */
typedef struct gb_textstream {
    gb_bytes pending;         /* decoded bytes not yet emitted (from `done` on) */
    size_t done;              /* bytes at the front of pending already emitted */
    const char *const *stop;  /* the stop strings (borrowed) */
    int n_stop;
    int stopped;              /* a stop string was found: nothing more is emitted */
} gb_textstream;

void gb_textstream_init(gb_textstream *ts, const char *const *stop, int n_stop);
void gb_textstream_free(gb_textstream *ts);
/* Appends data[0..len); *out, *out_len receive the text safe to emit now (valid until the
 * next call; may be empty). After a stop, everything is swallowed. */
gb_status gb_textstream_push(gb_textstream *ts, const void *data, size_t len, const char **out, size_t *out_len);
/* At the end of generation: everything still held back (an unfinished character's bytes
 * or the start of a stop string that never completed), unless stopped. */
void gb_textstream_flush(gb_textstream *ts, const char **out, size_t *out_len);

#endif
