/* libFuzzer harness: arbitrary bytes as a model file (make fuzz; build/fuzz/fuzz_llm_load CORPUS).
 *
 * gb_llm_load_mem runs the whole loader on them — hyper-parameters, tensor names, shapes and
 * types, RoPE scaling keys, the tokenizer from tokenizer.ggml.* metadata — with a context of
 * 8. A file that loads then encodes and decodes a fixed text with its tokenizer (byte-level
 * BPE or SentencePiece) and evaluates up to 8 tokens (prefill, then one decode step), so every
 * tensor the loader accepted is read through the kernels of its type. Seed it with a small
 * model: `glassbox init --arch llama --preset tiny --vocab 300 --ctx 16 --out seed.gguf`
 * (and its quantizations). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/infer.h"
#include "glassbox/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gb_llm *m = NULL;
    if (gb_llm_load_mem(&m, data, size, "fuzz.gguf", 8) != GB_OK) return 0;
    const int64_t V = gb_llm_n_vocab(m);
    uint32_t ids[8] = {0};
    int64_t n = 1;
    const gb_tokenizer *tok = gb_llm_tokenizer(m);
    if (tok) {
        static const char text[] = "Hello, world! \xc3\xbc 12345 \xe2\x96\x81 <s>\n\tx";
        gb_ids enc = {0};
        gb_bytes dec = {0};
        if (gb_tokenizer_encode(tok, text, sizeof text - 1, 1, &enc) == GB_OK && enc.len > 0) {
            (void)gb_tokenizer_decode(tok, enc.data, enc.len, &dec);
            n = enc.len < 8 ? enc.len : 8;
            for (int64_t i = 0; i < n; i++) ids[i] = enc.data[i] < (uint64_t)V ? enc.data[i] : 0;
        }
        gb_ids_free(&enc);
        gb_bytes_free(&dec);
    }
    float *logits = malloc((size_t)V * sizeof *logits);
    if (logits && gb_llm_eval(m, ids, n > 1 ? n - 1 : 1, 0, logits, 0) == GB_OK && n > 1)
        (void)gb_llm_eval(m, ids + n - 1, 1, n - 1, logits, 0);
    free(logits);
    gb_llm_free(m);
    return 0;
}
