/* glassbox — SentencePiece BPE, as llama.cpp runs the vocabularies of GGUF files whose
 * tokenizer.ggml.model is "llama" (Llama 1/2, Mistral, Phi-3, TinyLlama …). Not public API.
 *
 * Encoding a stretch of text (the text between special tokens):
 *   1. a space in front (add_space_prefix), every ' ' replaced by U+2581 "▁";
 *   2. split into characters (a lead byte's UTF-8 length, cut at the end of the text, so
 *      invalid UTF-8 still splits and every byte lands in one character);
 *   3. repeatedly merge the adjacent pair whose concatenation is a token of the highest
 *      score (leftmost on ties), as llama.cpp's llm_tokenizer_spm does with a priority
 *      queue of bigrams;
 *   4. each final piece is its token, or, if it is not one (a character outside the
 *      vocabulary), one byte token <0xXX> per byte.
 * Every piece string of the vocabulary takes part in step 3, whatever its type, as in
 * llama.cpp (except unused ids). */
#ifndef GLASSBOX_SPM_H
#define GLASSBOX_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/sha256.h"
#include "glassbox/tokenizer.h"

/* One vocabulary entry as the file gives it. */
typedef struct gb_spm_piece {
    const char *text; /* the piece string ("▁the", "<0x0A>", "<s>"), not NUL-terminated */
    size_t len;
    float score;
    int type;         /* GB_TT_* (tokenizer_impl.h) */
} gb_spm_piece;

typedef struct gb_spm gb_spm;

/* Builds a SentencePiece tokenizer from pieces[0..n). unk_id: the <unk> id (-1: none), used
 * for a byte that has no byte token. Copies everything. `what` names the source in errors
 * (GB_ERR_FORMAT: an empty piece, a byte token that is not <0xXX>, a NaN score, …). The
 * caller sets bos/eos/add_* afterwards. */
gb_status gb_spm_new(gb_tokenizer **out, const gb_spm_piece *pieces, uint32_t n, int add_space_prefix,
                     int64_t unk_id, const char *what);

/* Appends the ids of one stretch of text (no specials in it) to *out. */
gb_status gb_spm_encode(const gb_tokenizer *t, const uint8_t *text, size_t len, gb_ids *out);

/* Does the encoder put a space before each stretch? */
int gb_spm_space_prefix(const gb_spm *s);

/* Feeds everything that decides the encoding to a digest (docs/tokenizer-format.md). */
void gb_spm_digest(const gb_tokenizer *t, gb_sha256_ctx *c);

void gb_spm_free(gb_spm *s);

#endif
