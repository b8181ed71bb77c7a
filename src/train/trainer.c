/* glassbox — the training loop: micro-batches from the loader, forward/backward with
 * gradient accumulation, global-norm clipping, AdamW on the warmup+cosine schedule,
 * validation, log.csv, loss.svg and GGUF checkpoints; resume and Ctrl-C.
 *
 * One step s (0-based):
 *   zero grads; K times: next B×T batch, forward, backward(1/K)   (grads = mean over K)
 *   norm = clip_grad_norm(clip); AdamW(lr(s)); step = s+1
 *   validation when step % eval_every == 0 or step == steps; log row; checkpoint when
 *   step % ckpt_every == 0 or step == steps (or Ctrl-C, or --stop-after).
 * Everything the next step depends on — weights, AdamW moments and step, the loader's
 * cursor and RNG — is in the checkpoint, so a resumed run computes the same bits. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/progress.h"
#include "glassbox/sha256.h"
#include "glassbox/sys.h"
#include "glassbox/train.h"

#define LOG_HEADER "step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s\n"

typedef struct {
    int64_t step;
    float loss, val_loss, lr, grad_norm;
    double tokens_per_s, elapsed_s;
} log_row;

typedef struct {
    log_row *rows;
    int64_t n, cap;
} history;

static gb_status history_push(history *h, const log_row *r) {
    if (h->n == h->cap) {
        int64_t cap = h->cap ? 2 * h->cap : 1024;
        gb_status rc = gb_realloc_array((void **)&h->rows, (size_t)cap, sizeof *h->rows);
        if (rc) return rc;
        h->cap = cap;
    }
    h->rows[h->n++] = *r;
    return GB_OK;
}

static void fmt_float(char *buf, size_t size, double v) {
    if (isfinite(v)) snprintf(buf, size, "%.6g", v);
    else buf[0] = 0;
}

static void write_row(FILE *fp, const log_row *r) {
    char val[32];
    fmt_float(val, sizeof val, r->val_loss);
    fprintf(fp, "%lld,%.6f,%s,%.6g,%.6g,%.1f,%.3f\n", (long long)r->step, (double)r->loss, val, (double)r->lr,
            (double)r->grad_norm, r->tokens_per_s, r->elapsed_s);
}

/* Reads the rows of an earlier session's log.csv up to step `upto` (later rows were not
 * covered by the checkpoint and will be recomputed). A missing log is an empty history. */
static gb_status history_load(history *h, const char *path, int64_t upto) {
    FILE *fp = fopen(path, "r");
    if (!fp) return GB_OK;
    char line[512];
    gb_status rc = GB_OK;
    while (fgets(line, sizeof line, fp)) {
        log_row r = {0};
        long long st;
        char *p = line, *end;
        st = strtoll(p, &end, 10);
        if (end == p || *end != ',') continue; /* the header */
        r.step = st;
        double f[6];
        p = end + 1;
        for (int i = 0; i < 6; i++) {
            if (*p == ',' || *p == '\n') f[i] = NAN;
            else f[i] = strtod(p, &p);
            if (*p == ',') p++;
        }
        r.loss = (float)f[0], r.val_loss = (float)f[1], r.lr = (float)f[2], r.grad_norm = (float)f[3];
        r.tokens_per_s = f[4], r.elapsed_s = f[5];
        if (r.step <= upto && (rc = history_push(h, &r))) break;
    }
    fclose(fp);
    return rc;
}

static gb_status write_plot(const char *path, const history *h) {
    int64_t *step = malloc((size_t)(h->n ? h->n : 1) * sizeof *step);
    float *loss = malloc((size_t)(h->n ? h->n : 1) * sizeof *loss);
    float *val = malloc((size_t)(h->n ? h->n : 1) * sizeof *val);
    gb_status rc;
    if (!step || !loss || !val) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
    } else {
        for (int64_t i = 0; i < h->n; i++)
            step[i] = h->rows[i].step, loss[i] = h->rows[i].loss, val[i] = h->rows[i].val_loss;
        rc = gb_train_plot_svg(path, step, loss, val, h->n);
    }
    free(step), free(loss), free(val);
    return rc;
}

/* The tokenizer of a run: --tokenizer, else the one meta.json names if it matches. */
static gb_status find_tokenizer(const gb_train_config *c, const gb_loader *train, gb_tokenizer **tok, int quiet) {
    *tok = NULL;
    uint8_t d[32];
    if (c->tokenizer[0]) {
        gb_status rc = gb_tokenizer_load(tok, c->tokenizer);
        if (rc) return rc;
        gb_tokenizer_digest(*tok, d);
        if (memcmp(d, train->digest, 32) != 0) {
            gb_tokenizer_free(*tok);
            *tok = NULL;
            return gb_errorf(GB_ERR_FORMAT, "%s: the shards in %s were made with another tokenizer (digests differ)",
                             c->tokenizer, c->data_dir);
        }
        if (gb_tokenizer_vocab_size(*tok) > c->model.vocab_size) {
            int64_t v = gb_tokenizer_vocab_size(*tok);
            gb_tokenizer_free(*tok);
            *tok = NULL;
            return gb_errorf(GB_ERR_ARG, "%s: vocabulary of %lld is larger than the model's %d", c->tokenizer,
                             (long long)v, c->model.vocab_size);
        }
        return GB_OK;
    }
    /* meta.json records the path the tokenizer had when the data was prepared */
    char meta[GB_TRAIN_PATH_MAX + 16], *text = NULL;
    size_t len;
    snprintf(meta, sizeof meta, "%s/meta.json", c->data_dir);
    if (gb_read_file(meta, 64u << 20, &text, &len) == GB_OK) {
        const char *k = strstr(text, "\"path\"");
        char path[GB_TRAIN_PATH_MAX] = "";
        if (k) {
            const char *q = strchr(k + 6, '"');
            const char *e = q ? strchr(q + 1, '"') : NULL;
            if (q && e && (size_t)(e - q - 1) < sizeof path && !memchr(q + 1, '\\', (size_t)(e - q - 1))) {
                memcpy(path, q + 1, (size_t)(e - q - 1));
                path[e - q - 1] = 0;
            }
        }
        if (path[0] && gb_tokenizer_load(tok, path) == GB_OK) {
            gb_tokenizer_digest(*tok, d);
            if (memcmp(d, train->digest, 32) != 0 || gb_tokenizer_vocab_size(*tok) > c->model.vocab_size) {
                gb_tokenizer_free(*tok);
                *tok = NULL;
            }
        }
        gb_free(text);
    }
    if (*tok && gb_tokenizer_algorithm(*tok) != GB_TOKENIZER_BPE) {
        if (!quiet)
            fprintf(stderr, "glassbox train: note: a SentencePiece tokenizer cannot be embedded in the checkpoint "
                            "yet; give sample --tokenizer FILE\n");
        gb_tokenizer_free(*tok);
        *tok = NULL;
        return GB_OK;
    }
    if (!*tok && !quiet)
        fprintf(stderr, "glassbox train: note: no tokenizer found for %s; the checkpoint will not embed one "
                        "(give --tokenizer FILE)\n", c->data_dir);
    return GB_OK;
}

/* The tokenizer's GGUF key/values, built once and copied into every checkpoint. */
typedef struct {
    gb_gguf *g;
    char *buf;
    size_t len;
} tok_kv;

static gb_status tok_kv_make(tok_kv *t, const gb_tokenizer *tok) {
    gb_gguf_writer *w = NULL;
    gb_status rc = gb_gguf_writer_new(&w);
    if (rc) return rc;
    FILE *fp = NULL;
    if ((rc = gb_gguf_add_tokenizer(w, tok))) goto done;
    if (!(fp = open_memstream(&t->buf, &t->len))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    rc = gb_gguf_write_stream(w, fp, "tokenizer metadata");
    if (fclose(fp) != 0 && !rc) rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
    if (!rc) rc = gb_gguf_open_mem(&t->g, t->buf, t->len, "tokenizer metadata");
done:
    gb_gguf_writer_free(w);
    return rc;
}

static int same_model(const gb_model_config *a, const gb_model_config *b) {
    return !strcmp(a->arch, b->arch) && a->n_layer == b->n_layer && a->n_head == b->n_head &&
           a->n_kv_head == b->n_kv_head && a->d_model == b->d_model && a->d_ff == b->d_ff &&
           a->vocab_size == b->vocab_size && a->n_ctx == b->n_ctx && a->norm == b->norm &&
           a->norm_eps == b->norm_eps && a->pos == b->pos && a->rope_theta == b->rope_theta && a->mlp == b->mlp &&
           a->bias == b->bias && a->tied == b->tied && a->fused_qkv == b->fused_qkv;
}

static float evaluate(gb_model *m, gb_loader *val, const gb_train_config *c, int32_t *in, int32_t *tg,
                      gb_status *rc) {
    if (c->eval_batches == 0 || val->n_windows == 0) return NAN;
    gb_loader_rewind(val, 0);
    double sum = 0;
    for (int64_t i = 0; i < c->eval_batches; i++) {
        if ((*rc = gb_loader_next(val, in, tg, c->batch)) || (*rc = gb_model_forward(m, in, tg, c->batch, c->seq)))
            return NAN;
        sum += m->loss;
    }
    return (float)(sum / (double)c->eval_batches);
}

gb_status gb_train_run(const gb_train_config *cfg, const char *out_dir, const gb_train_opts *opts,
                       gb_train_result *res) {
    gb_train_config c = *cfg;
    gb_train_opts o = opts ? *opts : (gb_train_opts){0};
    gb_status rc = GB_OK;
    gb_loader train = {0}, val = {0};
    gb_tokenizer *tok = NULL;
    tok_kv tkv = {0};
    gb_model *m = NULL;
    gb_adamw opt = {0};
    gb_train_state st = {0};
    history hist = {0};
    FILE *log = NULL;
    int32_t *in = NULL, *tg = NULL;
    size_t plen = strlen(out_dir) + 32;
    char *ckpt = malloc(plen), *prev = malloc(plen), *logp = malloc(plen), *svg = malloc(plen),
         *tokp = malloc(plen), *modelp = malloc(plen);
    memset(res, 0, sizeof *res);
    res->val_loss = NAN;
    res->loss = NAN;
    if (!ckpt || !prev || !logp || !svg || !tokp || !modelp) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }
    snprintf(ckpt, plen, "%s/ckpt.gguf", out_dir);
    snprintf(prev, plen, "%s/ckpt.prev.gguf", out_dir);
    snprintf(logp, plen, "%s/log.csv", out_dir);
    snprintf(svg, plen, "%s/loss.svg", out_dir);
    snprintf(tokp, plen, "%s/tokenizer.json", out_dir);
    snprintf(modelp, plen, "%s/model.gguf", out_dir);

    /* data: the vocabulary comes from the shards */
    if ((rc = gb_loader_open(&train, c.data_dir, "train", c.seq > 0 ? c.seq : 1, 1, c.seed))) goto done;
    if ((rc = gb_loader_open(&val, c.data_dir, "val", c.seq > 0 ? c.seq : 1, 0, 0))) goto done;
    if (memcmp(val.digest, train.digest, 32) != 0) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: made with another tokenizer than %s (digests differ)", val.paths[0],
                       train.paths[0]);
        goto done;
    }
    if (c.model.vocab_size == 0) c.model.vocab_size = (int)(train.vocab_size < (1 << 24) ? train.vocab_size : 1 << 24);
    if (train.vocab_size > c.model.vocab_size) {
        rc = gb_errorf(GB_ERR_ARG, "%s: vocabulary of %lld is larger than the model's %d", train.paths[0],
                       (long long)train.vocab_size, c.model.vocab_size);
        goto done;
    }
    if ((rc = gb_train_config_validate(&c))) goto done;
    if (train.n_windows == 0) {
        rc = gb_errorf(GB_ERR_ARG, "%s: the training split has no sequence of %d+1 tokens", c.data_dir, c.seq);
        goto done;
    }
    if ((rc = find_tokenizer(&c, &train, &tok, o.quiet))) goto done;
    if ((rc = gb_mkdir_p(out_dir))) goto done;
    if (tok && ((rc = gb_tokenizer_save(tok, tokp)) || (rc = tok_kv_make(&tkv, tok)))) goto done;

    /* model and optimizer: fresh, or exactly as the checkpoint left them */
    if (o.resume) {
        gb_train_config saved;
        if ((rc = gb_ckpt_read_config(ckpt, &saved))) goto done;
        if (!same_model(&saved.model, &c.model)) {
            rc = gb_errorf(GB_ERR_ARG, "%s: the model config differs from the one given", ckpt);
            goto done;
        }
        if ((rc = gb_ckpt_load(ckpt, &m, &opt, &st))) goto done;
        if ((rc = gb_loader_set_cursor(&train, &st.cursor))) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", gb_last_error());
            rc = gb_errorf(rc, "%s: %s", ckpt, msg);
            goto done;
        }
        if ((rc = history_load(&hist, logp, st.step))) goto done;
    } else {
        if ((rc = gb_model_init(&m, &c.model))) goto done;
        gb_model_init_weights(m, c.seed);
        if ((rc = gb_adamw_init(&opt, m->n_floats, c.beta1, c.beta2, c.eps, c.weight_decay))) goto done;
    }
    res->n_params = m->n_params;
    in = malloc((size_t)c.batch * (size_t)c.seq * sizeof *in);
    tg = malloc((size_t)c.batch * (size_t)c.seq * sizeof *tg);
    if (!in || !tg) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }

    /* log.csv: this session appends to the rows the checkpoint covers */
    {
        gb_atomic_file af;
        if ((rc = gb_atomic_open(&af, logp))) goto done;
        fputs(LOG_HEADER, af.fp);
        for (int64_t i = 0; i < hist.n; i++) write_row(af.fp, &hist.rows[i]);
        if ((rc = gb_atomic_commit(&af))) goto done;
        if (!(log = fopen(logp, "a"))) { rc = gb_errorf(GB_ERR_IO, "%s: %s", logp, strerror(errno)); goto done; }
    }

    if (!o.quiet) {
        fprintf(stderr, "train: %s model, %lld parameters (L%d H%d/%d C%d F%d V%d ctx%d); %lld train / %lld val tokens\n",
                c.model.arch, (long long)m->n_params, c.model.n_layer, c.model.n_head, c.model.n_kv_head,
                c.model.d_model, c.model.d_ff, c.model.vocab_size, c.model.n_ctx, (long long)train.n_tokens,
                (long long)val.n_tokens);
        if (o.resume) fprintf(stderr, "train: resuming %s at step %lld of %lld\n", ckpt, (long long)st.step, (long long)c.steps);
    }

    const int64_t start = st.step;
    const int64_t end = o.stop_after > 0 && o.stop_after < c.steps ? o.stop_after : c.steps;
    const double tokens_per_step = (double)c.batch * c.seq * c.accum;
    const double t_session = gb_time_now();
    const double elapsed0 = st.elapsed_s;
    /* the bar counts tokens, so its rate reads as tokens/s and its ETA is exact */
    gb_progress p;
    gb_progress_begin(&p, "train", (int64_t)((double)(end - start) * tokens_per_step), "tok");
    if (o.quiet) p.quiet = 1;
    float val_loss = NAN;
    while (st.step < end) {
        double t0 = gb_time_now();
        float lr = gb_train_lr(&c, st.step);
        if ((rc = gb_model_zero_grad(m))) goto done;
        double loss = 0;
        for (int k = 0; k < c.accum; k++) {
            if ((rc = gb_loader_next(&train, in, tg, c.batch)) ||
                (rc = gb_model_forward(m, in, tg, c.batch, c.seq)))
                goto done;
            loss += m->loss;
            if ((rc = gb_model_backward(m, 1.0f / (float)c.accum))) goto done;
        }
        float norm = gb_model_clip_grad_norm(m, c.clip);
        gb_adamw_step(&opt, m, lr);
        st.step++;
        st.tokens += (int64_t)tokens_per_step;
        double dt = gb_time_now() - t0;
        log_row row = {st.step, (float)(loss / c.accum), NAN, lr, norm, dt > 0 ? tokens_per_step / dt : 0, 0};
        if (!isfinite(row.loss)) {
            rc = gb_errorf(GB_ERR_ARG, "training diverged at step %lld (loss %g); try a lower --lr",
                           (long long)st.step, (double)row.loss);
            goto done;
        }
        if ((c.eval_every > 0 && st.step % c.eval_every == 0) || st.step == c.steps) {
            row.val_loss = evaluate(m, &val, &c, in, tg, &rc);
            if (rc) goto done;
            val_loss = row.val_loss;
        }
        st.elapsed_s = elapsed0 + (gb_time_now() - t_session);
        row.elapsed_s = st.elapsed_s;
        if ((rc = history_push(&hist, &row))) goto done;
        write_row(log, &row);
        fflush(log);
        res->loss = row.loss;

        char extra[160], vbuf[32] = "";
        if (isfinite(val_loss)) snprintf(vbuf, sizeof vbuf, "  val %.4f", (double)val_loss);
        snprintf(extra, sizeof extra, "step %lld/%lld  loss %.4f%s", (long long)st.step, (long long)c.steps,
                 (double)row.loss, vbuf);
        gb_progress_update(&p, (int64_t)((double)(st.step - start) * tokens_per_step), extra);

        int interrupted = gb_interrupted();
        int save = interrupted || st.step == end || (c.ckpt_every > 0 && st.step % c.ckpt_every == 0);
        if (save) {
            gb_loader_get_cursor(&train, &st.cursor);
            if ((rc = gb_ckpt_save(ckpt, prev, m, &opt, &c, &st, tkv.g)) || (rc = write_plot(svg, &hist))) goto done;
        }
        if (interrupted) {
            gb_progress_end(&p, extra);
            res->interrupted = 1;
            rc = gb_errorf(GB_ERR_INTERRUPTED, "interrupted at step %lld of %lld; checkpoint saved to %s "
                           "(continue with --resume %s)", (long long)st.step, (long long)c.steps, ckpt, out_dir);
            goto done;
        }
    }
    if (end > start) {
        char extra[96];
        snprintf(extra, sizeof extra, "step %lld/%lld  loss %.4f", (long long)st.step, (long long)c.steps,
                 (double)res->loss);
        gb_progress_end(&p, extra);
    }
    if (st.step == c.steps && (rc = gb_ckpt_save(modelp, NULL, m, NULL, NULL, NULL, tkv.g))) goto done;
    if (end == start) { /* nothing left to do: report the checkpoint as it is */
        val_loss = hist.n ? hist.rows[hist.n - 1].val_loss : NAN;
        res->loss = hist.n ? hist.rows[hist.n - 1].loss : NAN;
    }
    res->val_loss = val_loss;
    {
        double session = gb_time_now() - t_session;
        res->tokens_per_s = session > 0 ? (double)(st.step - start) * tokens_per_step / session : 0;
    }
done:
    if (m) {
        res->step = st.step;
        res->elapsed_s = st.elapsed_s;
        gb_model_weights_sha256(m, res->weights_sha256);
    }
    if (log) fclose(log);
    free(in), free(tg);
    free(hist.rows);
    gb_adamw_free(&opt);
    gb_model_free(m);
    gb_gguf_close(tkv.g);
    free(tkv.buf);
    gb_tokenizer_free(tok);
    gb_loader_close(&train);
    gb_loader_close(&val);
    free(ckpt), free(prev), free(logp), free(svg), free(tokp), free(modelp);
    return rc;
}
