/* glassbox — the tokenizer's inside, shared by tokenizer.c (encode/decode, building the
 * lookup tables) and tokenizer_files.c (loading and saving files). Not public API.
 *
 * A tokenizer is an id space 0..n_ids-1 where each id is one of
 *   TOK_BYTES    a byte-level token: a non-empty byte string that BPE can produce,
 *   TOK_SPECIAL  a special token (e.g. "<|endoftext|>"): only ever produced by matching its
 *                content in the text when specials are allowed, never by merges,
 *   TOK_HOLE     an unused id (cl100k leaves some between its specials).
 * plus a merge rule that says which adjacent pair of tokens merges first:
 *   GB_MERGE_LIST   an explicit list of merges (left, right, result) in rank order (GPT-2's
 *                   merges.txt, glassbox's trainer). Each round merges every occurrence of
 *                   the lowest-ranked pair present, left to right, as GPT-2's bpe() does.
 *   GB_MERGE_RANKS  tiktoken's rule: a pair merges if its concatenated bytes are a token;
 *                   priority = that token's id; one merge at a time, leftmost on ties; a
 *                   piece that is a whole token is that token.
 * The two rules agree on well-formed merge lists; both are kept so every source file
 * encodes exactly as its own software does.
 *
 * A tokenizer from GGUF metadata adds llama.cpp's token types (ttype) and may be a
 * SentencePiece tokenizer (algo GB_TOKENIZER_SPM, spm.c): then kind/off/bytes hold what each
 * id decodes to (TOK_BYTES: text with U+2581 as a space, or the byte of a <0xXX> token;
 * TOK_SPECIAL: control, unknown and user-defined tokens), and the spm tables hold the piece
 * strings and scores that encoding works on; the BPE fields (merges, pair and vocab maps,
 * byte_id) are unused. */
#ifndef GLASSBOX_TOKENIZER_IMPL_H
#define GLASSBOX_TOKENIZER_IMPL_H

#include <stdint.h>

#include "glassbox/tokenizer.h"

enum { TOK_HOLE = 0, TOK_BYTES = 1, TOK_SPECIAL = 2 };
/* llama.cpp's token types (GGUF tokenizer.ggml.token_type) */
enum { GB_TT_NORMAL = 1, GB_TT_UNKNOWN = 2, GB_TT_CONTROL = 3, GB_TT_USER = 4, GB_TT_UNUSED = 5, GB_TT_BYTE = 6 };
typedef enum { GB_MERGE_LIST = 0, GB_MERGE_RANKS = 1 } gb_merge_rule;

/* Ids are kept below 2^24 so that (rank, id) and (left, right) pack into 64 bits and a
 * hostile file cannot make us allocate per-id tables of absurd size. */
#define GB_TOK_MAX_IDS (1u << 24)
/* A longest token / special, in bytes (GPT-2's longest is 128; a trainer fed a megabyte of
 * one repeated character can legitimately make long ones), and all tokens together. */
#define GB_TOK_MAX_LEN (1u << 20)
#define GB_TOK_MAX_BYTES (1ull << 30)

typedef struct gb_tok_merge {
    uint32_t left, right, result;
} gb_tok_merge;

struct gb_tokenizer {
    gb_pretok_kind pattern;
    gb_merge_rule rule;
    uint32_t n_ids;      /* vocabulary size: valid ids are 0..n_ids-1 */
    uint8_t *kind;       /* (n_ids) TOK_* */
    uint64_t *off;       /* (n_ids+1) token i is bytes[off[i] .. off[i+1]) (specials: content) */
    uint8_t *bytes;      /* (off[n_ids]) every token's bytes, one block */
    uint32_t byte_id[256]; /* the id of each single-byte token */

    gb_tok_merge *merges; /* (n_merges) GB_MERGE_LIST only: rank = index */
    int64_t n_merges;

    /* pair map (left,right) -> (rank, result): open addressing, keys l<<32|r,
     * values rank<<32|result; PAIR_EMPTY marks a free slot */
    uint64_t *pair_key, *pair_val;
    uint64_t pair_mask;
    int pair_shift;      /* 64 - log2(slots) */
    int64_t n_pairs;

    /* vocabulary map bytes -> id over TOK_BYTES tokens: slot = hash32<<32 | direct<<31 | id,
     * VOCAB_EMPTY free. `direct` marks a token that a whole piece with its bytes encodes to. */
    uint64_t *vocab;
    uint64_t vocab_mask;

    uint32_t *specials;   /* (n_specials) special ids, longest content first (for matching) */
    int n_specials;
    uint8_t special_first[256]; /* does some special start with this byte? */

    /* from GGUF metadata (zero / NULL / -1 for the other sources) */
    gb_tokenizer_algo algo;
    int whole_pieces;     /* BPE: a piece that is a token is that token (llama.cpp ignore_merges) */
    uint8_t *ttype;       /* (n_ids) GB_TT_* of each id, or NULL */
    int n_user;           /* specials of type GB_TT_USER: matched even without allow_special */
    int64_t bos_id, eos_id;
    int add_bos, add_eos;
    struct gb_spm *spm;   /* GB_TOKENIZER_SPM: pieces, scores, piece map (spm.h) */
};

/* ---- building (tokenizer.c) ---- */

/* A tokenizer under construction: loaders fill kind/off/bytes/merges, then call
 * gb_tok_finish, which validates what every loader must guarantee and builds the maps.
 * `what` names the source (a path) for error messages. */
gb_status gb_tok_alloc(gb_tokenizer **out, uint32_t n_ids, size_t n_bytes);
gb_status gb_tok_finish(gb_tokenizer *t, const char *what);
/* The specials table (t->specials, special_first, n_specials, n_user) from kind and ttype;
 * gb_tok_finish calls it, the SentencePiece builder too. Rejects two equal specials. */
gb_status gb_tok_specials(gb_tokenizer *t, const char *what);

/* Hash of a byte string (the vocabulary map's and the piece cache's). */
uint64_t gb_tok_hash(const uint8_t *p, size_t n);
/* Id of the TOK_BYTES token with these bytes, or -1. */
int64_t gb_tok_lookup(const gb_tokenizer *t, const uint8_t *p, size_t n);

/* ---- GPT-2's byte <-> unicode mapping (tokenizer_files.c) ---- */

/* The code point GPT-2's bytes_to_unicode() gives byte b (printable, never a space). */
uint32_t gb_gpt2_byte_to_cp(uint8_t b);
/* Decodes a mapped UTF-8 string s[0..n) back into bytes (out has room for n bytes).
 * Returns the byte count, or -1 if s is not valid UTF-8 or holds a code point that is
 * not in the mapping. */
int64_t gb_gpt2_unmap(const char *s, size_t n, uint8_t *out);

#endif
