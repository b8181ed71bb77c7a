/* glassbox — the generation loop: prompt → cache, then sample, stream, stop.
 *
 * One iteration: sample the next token from the last logits; EOS ends the turn; otherwise
 * its bytes go through the hold-back stream (complete UTF-8 only, nothing that could be
 * the start of a stop string) to the callback, and the token is evaluated to give the
 * next logits. The last sampled token is never evaluated (there is nothing to predict
 * after it), so on return the cache holds the prompt and every generated token but the
 * last: *n_past says exactly how many, and a chat continues from there. */
#include <stdlib.h>
#include <string.h>

#include "glassbox/infer.h"
#include "glassbox/sys.h"

/* ---- hold-back stream ---- */

void gb_textstream_init(gb_textstream *ts, const char *const *stop, int n_stop) {
    memset(ts, 0, sizeof *ts);
    ts->stop = stop;
    ts->n_stop = stop ? n_stop : 0;
}

void gb_textstream_free(gb_textstream *ts) {
    if (ts) gb_bytes_free(&ts->pending);
}

/* Length of a UTF-8 sequence from its lead byte; 0 for a byte that cannot lead one. */
static int utf8_len(uint8_t c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* How many of p[0..n) end on a character boundary: a trailing lead byte whose sequence is
 * not complete yet (with only continuation bytes after it) is held back. Invalid bytes
 * are let through as they are, so a broken stream cannot stall. */
static size_t utf8_complete(const uint8_t *p, size_t n) {
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        uint8_t c = p[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: keep looking for the lead */
        int need = utf8_len(c);
        return need > (int)back ? n - back : n;
    }
    return n;
}

gb_status gb_textstream_push(gb_textstream *ts, const void *data, size_t len, const char **out, size_t *out_len) {
    gb_bytes *b = &ts->pending;
    *out = "";
    *out_len = 0;
    if (ts->stopped) return GB_OK;
    if (ts->done) { /* forget what the previous call emitted */
        memmove(b->data, b->data + ts->done, b->len - ts->done);
        b->len -= ts->done;
        ts->done = 0;
    }
    gb_status rc = gb_bytes_append(b, data, len);
    if (rc != GB_OK) return rc;
    const char *p = (const char *)b->data;
    size_t n = b->len;
    /* the earliest complete stop string ends the stream */
    size_t cut = n;
    for (int i = 0; i < ts->n_stop; i++) {
        size_t sl = strlen(ts->stop[i]);
        if (sl == 0 || sl > n) continue;
        const char *hit = memmem(p, n, ts->stop[i], sl);
        if (hit && (size_t)(hit - p) < cut) cut = (size_t)(hit - p), ts->stopped = 1;
    }
    if (ts->stopped) {
        *out = p;
        *out_len = cut;
        ts->done = n;
        return GB_OK;
    }
    /* hold back the longest tail that is a proper prefix of some stop string */
    size_t hold = 0;
    for (int i = 0; i < ts->n_stop; i++) {
        size_t sl = strlen(ts->stop[i]);
        for (size_t k = sl > 0 ? sl - 1 : 0; k > hold; k--)
            if (k <= n && !memcmp(p + n - k, ts->stop[i], k)) {
                hold = k;
                break;
            }
    }
    size_t safe = utf8_complete((const uint8_t *)p, n - hold);
    *out = p;
    *out_len = safe;
    ts->done = safe;
    return GB_OK;
}

void gb_textstream_flush(gb_textstream *ts, const char **out, size_t *out_len) {
    gb_bytes *b = &ts->pending;
    *out = "";
    *out_len = 0;
    if (ts->stopped || b->len <= ts->done) return;
    *out = (const char *)b->data + ts->done;
    *out_len = b->len - ts->done;
    ts->done = b->len;
}

/* ---- the loop ---- */

gb_status gb_generate(gb_llm *m, gb_sampler *s, const uint32_t *prompt, int64_t n_prompt, int64_t *n_past,
                      const gb_generate_params *p, gb_generate_cb cb, void *user, gb_generate_stats *stats) {
    gb_generate_stats st = {.finish_reason = "stop"};
    const int64_t n_ctx = gb_llm_n_ctx(m), n_vocab = gb_llm_n_vocab(m), eos = gb_llm_eos(m);
    const gb_tokenizer *tok = gb_llm_tokenizer(m);
    int64_t pos = *n_past;
    if (n_prompt <= 0) return gb_errorf(GB_ERR_ARG, "generate: the prompt is empty (nothing to continue from)");
    if (p->n_logprobs < 0 || p->n_logprobs > 20)
        return gb_errorf(GB_ERR_ARG, "generate: %d logprobs asked for (0..20)", p->n_logprobs);
    if (pos < 0 || pos > n_ctx || n_prompt > n_ctx - pos)
        return gb_errorf(GB_ERR_ARG, "prompt longer than the context (%lld cached + %lld new tokens > %lld)",
                         (long long)pos, (long long)n_prompt, (long long)n_ctx);

    gb_status rc = GB_OK;
    gb_textstream ts;
    gb_textstream_init(&ts, p->stop, p->n_stop);
    gb_bytes piece = {0};
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    if (!logits) {
        rc = gb_errorf(GB_ERR_NOMEM, "generate: out of memory for %lld logits", (long long)n_vocab);
        goto done;
    }

    double t0 = gb_time_now();
    rc = gb_llm_eval(m, prompt, n_prompt, pos, logits, 0);
    if (rc != GB_OK) goto done;
    pos += n_prompt;
    for (int64_t i = 0; i < n_prompt; i++) gb_sampler_accept(s, prompt[i]);
    st.n_prompt = n_prompt;
    double t1 = gb_time_now();
    st.prompt_seconds = t1 - t0;

    gb_token_logprob chosen, top[20];
    const char *text;
    size_t text_len;
    for (;;) {
        uint32_t t = gb_sampler_sample(s, logits, &chosen, top, p->n_logprobs);
        st.n_generated++;
        if ((int64_t)t == eos) {
            st.finish_reason = "stop";
            break;
        }
        gb_sampler_accept(s, t);
        piece.len = 0;
        rc = gb_tokenizer_decode(tok, &t, 1, &piece);
        if (rc == GB_OK) rc = gb_textstream_push(&ts, piece.data, piece.len, &text, &text_len);
        if (rc != GB_OK) goto done;
        if (cb && cb(user, text, text_len, &chosen, top, p->n_logprobs)) {
            st.finish_reason = "callback";
            break;
        }
        if (ts.stopped) {
            st.finish_reason = "stop";
            break;
        }
        if ((p->max_tokens > 0 && st.n_generated >= p->max_tokens) || pos >= n_ctx) {
            st.finish_reason = "length";
            break;
        }
        rc = gb_llm_eval(m, &t, 1, pos, logits, 0);
        if (rc != GB_OK) goto done;
        pos++;
    }
    /* what was held back for a stop string that never came is still output */
    if (strcmp(st.finish_reason, "callback") != 0) {
        gb_textstream_flush(&ts, &text, &text_len);
        if (text_len && cb) cb(user, text, text_len, NULL, NULL, 0);
    }
    st.gen_seconds = gb_time_now() - t1;

done:
    *n_past = pos;
    if (stats) *stats = st;
    free(logits);
    gb_bytes_free(&piece);
    gb_textstream_free(&ts);
    return rc;
}
