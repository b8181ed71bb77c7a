/* glassbox — what the tokenizer modules share inside the library (not public API). */
#ifndef GLASSBOX_TOKENIZER_INTERNAL_H
#define GLASSBOX_TOKENIZER_INTERNAL_H

#include "glassbox/tokenizer.h"

/* Builds a byte-level BPE tokenizer from learned merges (what the trainer produces):
 *   ids 0..255        the single bytes, id == byte value;
 *   id 256+i          the concatenation of merges[i][0] and merges[i][1] (both < 256+i),
 *                     merge rank i (lower merges first);
 *   the next ids      the special tokens, in the order given.
 * Copies everything it keeps. */
gb_status gb_tokenizer_from_merges(gb_tokenizer **out, gb_pretok_kind pattern,
                                   const uint32_t (*merges)[2], int64_t n_merges,
                                   const char *const *specials, int n_specials);

#endif
