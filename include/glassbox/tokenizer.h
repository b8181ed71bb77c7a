/* glassbox — tokenizers: byte-level BPE (GPT-2 family) and SentencePiece BPE (Llama family).
 *
 * A tokenizer maps any byte string to token ids and back, exactly: decode(encode(x)) == x
 * for every byte string, valid UTF-8 or not. Text is first split into pre-tokens by a
 * pattern (GPT-2's or cl100k's regular expression, implemented by hand in pretok.c); each
 * pre-token's bytes are then merged pairwise, lowest merge rank first (leftmost on ties).
 *
 * Files it reads (format detected from the content, see docs/tokenizer-format.md):
 *   - glassbox tokenizer JSON (written by `glassbox tokenizer train` / gb_tokenizer_save),
 *   - GPT-2's encoder.json / vocab.json with merges.txt in the same directory,
 *   - a tiktoken rank file (one "base64-token rank" per line, e.g. r50k_base.tiktoken),
 *   - a GGUF file's tokenizer.ggml.* metadata (gb_tokenizer_load_gguf below), which also
 *     gives SentencePiece BPE tokenizers (Llama 1/2, Mistral, Phi-3 …): no pre-tokenizer,
 *     spaces as U+2581, merges by score, unknown characters as byte tokens <0xXX>. */
#ifndef GLASSBOX_TOKENIZER_H
#define GLASSBOX_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/error.h"

typedef enum {
    GB_PRETOK_GPT2 = 0, /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    GB_PRETOK_CL100K,   /* the cl100k_base pattern (case-insensitive contractions, 1–3 digit numbers) */
    GB_PRETOK_LLAMA3,   /* Llama 3's pattern as llama.cpp runs it ("llama-bpe" in GGUF): cl100k's with
                         * ASCII-only case in the contractions ('\u017F is not 's) */
} gb_pretok_kind;

typedef struct gb_tokenizer gb_tokenizer;

/* The algorithm behind a tokenizer. */
typedef enum {
    GB_TOKENIZER_BPE = 0, /* byte-level BPE over pre-tokens (every source but GGUF "llama") */
    GB_TOKENIZER_SPM = 1, /* SentencePiece BPE (GGUF tokenizer.ggml.model = "llama") */
} gb_tokenizer_algo;

/* A growable array of token ids. Zero-initialise; release with gb_ids_free. */
typedef struct gb_ids {
    uint32_t *data;
    int64_t len, cap;
} gb_ids;
gb_status gb_ids_push(gb_ids *ids, uint32_t id);
void gb_ids_free(gb_ids *ids);

/* A growable byte buffer. Zero-initialise; release with gb_bytes_free. */
typedef struct gb_bytes {
    uint8_t *data;
    size_t len, cap;
} gb_bytes;
gb_status gb_bytes_append(gb_bytes *b, const void *data, size_t len);
void gb_bytes_free(gb_bytes *b);

/* Loads a tokenizer from any supported file (see above). Errors name the file and problem. */
gb_status gb_tokenizer_load(gb_tokenizer **out, const char *path);
/* Writes the glassbox JSON format atomically (temp file + rename). */
gb_status gb_tokenizer_save(const gb_tokenizer *t, const char *path);
void gb_tokenizer_free(gb_tokenizer *t);

/* Number of ids, specials included; valid ids are 0 .. vocab_size-1. */
int64_t gb_tokenizer_vocab_size(const gb_tokenizer *t);
gb_pretok_kind gb_tokenizer_pattern(const gb_tokenizer *t);
/* The bytes of token `id` (NULL if out of range). */
const uint8_t *gb_tokenizer_token(const gb_tokenizer *t, uint32_t id, size_t *len);
/* Id of special token `content` (e.g. "<|endoftext|>"), or -1. */
int64_t gb_tokenizer_special_id(const gb_tokenizer *t, const char *content);
/* A digest of everything that decides the encoding (pattern, token bytes, merges and
 * their ranks, specials), independent of the file layout it came from. Token shards
 * record it so data and tokenizer cannot be mixed up. */
void gb_tokenizer_digest(const gb_tokenizer *t, uint8_t digest[32]);

/* Appends the ids of text[0..len) to *out. With allow_special, occurrences of special
 * token strings in the text become their ids; otherwise they are encoded as plain text
 * (except a GGUF vocabulary's user-defined tokens, which llama.cpp always matches). */
gb_status gb_tokenizer_encode(const gb_tokenizer *t, const void *text, size_t len, int allow_special,
                              gb_ids *out);
/* Appends the bytes of ids[0..n) to *out; an id out of range is GB_ERR_ARG. */
gb_status gb_tokenizer_decode(const gb_tokenizer *t, const uint32_t *ids, int64_t n, gb_bytes *out);

/* ---- GGUF metadata and what it adds (tokenizer_gguf.c, spm.c) ---- */

typedef struct gb_gguf gb_gguf;

/* Builds the tokenizer that a GGUF file's tokenizer.ggml.* keys describe, encoding as
 * llama.cpp does (docs/tokenizer-format.md lists the keys and the few differences):
 *   model "gpt2"   byte-level BPE: tokens (GPT-2 byte<->unicode strings), merges, token
 *                  types (control, unknown and user-defined tokens are specials), the
 *                  pre-tokenizer named by tokenizer.ggml.pre ("gpt-2", "default" or none:
 *                  GPT-2's pattern; "llama-bpe"/"llama3": GB_PRETOK_LLAMA3, and a piece that
 *                  is a token becomes that token, as llama.cpp's ignore_merges);
 *   model "llama"  SentencePiece BPE from tokens, scores and token types.
 * Copies what it keeps: `file` may be closed afterwards. An unknown model or pre-tokenizer,
 * or any malformed key, is GB_ERR_FORMAT with one line naming the file and the problem. */
gb_status gb_tokenizer_load_gguf(gb_tokenizer **out, const gb_gguf *file);

gb_tokenizer_algo gb_tokenizer_algorithm(const gb_tokenizer *t);
/* Ids of the begin- and end-of-sequence tokens (tokenizer.ggml.bos_token_id / eos_token_id),
 * or -1 where the source names none (all non-GGUF sources). */
int64_t gb_tokenizer_bos_id(const gb_tokenizer *t);
int64_t gb_tokenizer_eos_id(const gb_tokenizer *t);
/* Should a caller put BOS before / EOS after a text it encodes (tokenizer.ggml.add_bos_token,
 * add_eos_token, with llama.cpp's defaults)? gb_tokenizer_encode never adds them itself. */
int gb_tokenizer_add_bos(const gb_tokenizer *t);
int gb_tokenizer_add_eos(const gb_tokenizer *t);

/* As gb_tokenizer_decode; with strip_space, the one space that a SentencePiece encoder puts
 * before a text (tokenizer.ggml.add_space_prefix) is dropped from the start of the output,
 * so decode_text(encode(s), 1) == s. No difference for byte-level BPE. */
gb_status gb_tokenizer_decode_text(const gb_tokenizer *t, const uint32_t *ids, int64_t n, int strip_space,
                                   gb_bytes *out);

/* ---- training (bpe_train.c) ---- */

typedef struct gb_bpe_train_opts {
    int64_t vocab_size;          /* total ids including the 256 bytes and the specials */
    gb_pretok_kind pattern;
    const char *const *specials; /* NULL: {"<|endoftext|>"} */
    int n_specials;
    int show_progress;
} gb_bpe_train_opts;

typedef struct gb_bpe_train_stats {
    int64_t input_bytes;     /* bytes of training text read */
    int64_t n_pretokens;     /* pre-tokens in the text */
    int64_t n_unique;        /* distinct pre-tokens */
    int64_t n_merges;        /* merges learned (can stop short if no pair occurs twice) */
    double seconds;          /* wall time of the whole training */
    double tokens_per_byte;  /* the trained tokenizer on the training text */
} gb_bpe_train_stats;

/* Learns merges from the concatenation of files (each read whole; .gz is inflated). */
gb_status gb_bpe_train(gb_tokenizer **out, const gb_bpe_train_opts *opts, const char *const *paths,
                       int n_paths, gb_bpe_train_stats *stats);

#endif
