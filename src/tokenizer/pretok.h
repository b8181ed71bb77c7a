/* glassbox — pre-tokenization: splitting text into the pieces BPE merges within.
 *
 * Hand-written equivalents of the GPT-2 and cl100k regular expressions, run over UTF-8.
 * Categories follow Unicode 15 (\p{L} letters, \p{N} numbers, \s = White_Space, the
 * semantics of the Rust regex crate that tiktoken uses). A byte that is not part of valid
 * UTF-8 is treated as one character of its own that is neither letter, number nor space,
 * so any byte string splits and every byte lands in exactly one piece. */
#ifndef GLASSBOX_PRETOK_H
#define GLASSBOX_PRETOK_H

#include <stddef.h>
#include <stdint.h>

#include "glassbox/tokenizer.h"

/* Length in bytes (>= 1) of the pre-token that starts at text[pos]; pos < len. */
size_t gb_pretok_next(gb_pretok_kind kind, const uint8_t *text, size_t len, size_t pos);

#endif
