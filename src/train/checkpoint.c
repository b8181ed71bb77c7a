/* glassbox — checkpoints as GGUF v3: the model as llama.cpp names it, plus everything a
 * run needs to continue exactly under glassbox.* (docs/training.md lists every key).
 *
 *   general.*, <arch>.*        architecture metadata of the GGUF conventions
 *   tokenizer.ggml.*           the tokenizer (gguf_tokenizer.c), glassbox.tokenizer.json
 *   glassbox.model.*           the full gb_model_config (what the loader builds from)
 *   glassbox.train.*           the full gb_train_config
 *   glassbox.state.*           step, AdamW step, data cursor, RNG, elapsed time, tokens seen
 *   tensors                    every weight (F32, GGUF names), then glassbox.adamw_m.<name>
 *                              and glassbox.adamw_v.<name> for each weight */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glassbox/sha256.h"
#include "glassbox/train.h"

#define CKPT_FORMAT "glassbox.checkpoint"
#define CKPT_VERSION 1

void gb_model_weights_sha256(const gb_model *m, uint8_t digest[32]) {
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        gb_sha256_update(&c, m->params + t->offset, (size_t)t->numel * sizeof(float));
    }
    gb_sha256_final(&c, digest);
}

static void tensor_ne(const gb_tensor_info *t, int64_t ne[2]) {
    if (t->ndim == 1) ne[0] = t->shape[0], ne[1] = 1;
    else ne[0] = t->shape[1], ne[1] = t->shape[0];
}

/* ---------------------------------------------------------------- writing */

typedef struct {
    gb_gguf_writer *w;
    char prefix[32];
    gb_status rc;
} kv;

static void k_u32(kv *k, const char *key, uint32_t v) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", k->prefix, key);
    if (!k->rc) k->rc = gb_gguf_add_u32(k->w, full, v);
}
static void k_i64(kv *k, const char *key, int64_t v) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", k->prefix, key);
    if (!k->rc) k->rc = gb_gguf_add_i64(k->w, full, v);
}
static void k_f32(kv *k, const char *key, float v) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", k->prefix, key);
    if (!k->rc) k->rc = gb_gguf_add_f32(k->w, full, v);
}
static void k_str(kv *k, const char *key, const char *v) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", k->prefix, key);
    if (!k->rc) k->rc = gb_gguf_add_str(k->w, full, v);
}
static void k_bool(kv *k, const char *key, int v) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", k->prefix, key);
    if (!k->rc) k->rc = gb_gguf_add_bool(k->w, full, v != 0);
}

static void add_model_meta(kv *k, const gb_model *m) {
    const gb_model_config *c = &m->cfg;
    snprintf(k->prefix, sizeof k->prefix, "general.");
    k_str(k, "architecture", c->arch);
    k_str(k, "name", "glassbox");
    k_u32(k, "file_type", 0); /* all F32 */
    snprintf(k->prefix, sizeof k->prefix, "%s.", c->arch);
    k_u32(k, "context_length", (uint32_t)c->n_ctx);
    k_u32(k, "embedding_length", (uint32_t)c->d_model);
    k_u32(k, "block_count", (uint32_t)c->n_layer);
    k_u32(k, "feed_forward_length", (uint32_t)c->d_ff);
    k_u32(k, "attention.head_count", (uint32_t)c->n_head);
    k_u32(k, "attention.head_count_kv", (uint32_t)c->n_kv_head);
    k_u32(k, "vocab_size", (uint32_t)c->vocab_size);
    if (c->norm == GB_NORM_LAYERNORM) k_f32(k, "attention.layer_norm_epsilon", c->norm_eps);
    else k_f32(k, "attention.layer_norm_rms_epsilon", c->norm_eps);
    if (c->pos == GB_POS_ROPE) {
        k_f32(k, "rope.freq_base", c->rope_theta);
        k_u32(k, "rope.dimension_count", (uint32_t)(c->d_model / c->n_head));
    }
    snprintf(k->prefix, sizeof k->prefix, "glassbox.");
    k_str(k, "format", CKPT_FORMAT);
    k_u32(k, "version", CKPT_VERSION);
    uint8_t d[32];
    char hex[65];
    gb_model_weights_sha256(m, d);
    gb_sha256_hex(d, hex);
    k_str(k, "weights_sha256", hex);
    snprintf(k->prefix, sizeof k->prefix, "glassbox.model.");
    k_str(k, "arch", c->arch);
    k_u32(k, "n_layer", (uint32_t)c->n_layer);
    k_u32(k, "n_head", (uint32_t)c->n_head);
    k_u32(k, "n_kv_head", (uint32_t)c->n_kv_head);
    k_u32(k, "d_model", (uint32_t)c->d_model);
    k_u32(k, "d_ff", (uint32_t)c->d_ff);
    k_u32(k, "vocab_size", (uint32_t)c->vocab_size);
    k_u32(k, "n_ctx", (uint32_t)c->n_ctx);
    k_str(k, "norm", c->norm == GB_NORM_RMSNORM ? "rmsnorm" : "layernorm");
    k_f32(k, "norm_eps", c->norm_eps);
    k_str(k, "pos", c->pos == GB_POS_ROPE ? "rope" : "learned");
    k_f32(k, "rope_theta", c->rope_theta);
    k_str(k, "mlp", c->mlp == GB_MLP_SWIGLU ? "swiglu" : "gelu");
    k_bool(k, "bias", c->bias);
    k_bool(k, "tied", c->tied);
    k_bool(k, "fused_qkv", c->fused_qkv);
}

static void add_train_meta(kv *k, const gb_train_config *c, const gb_adamw *opt, const gb_train_state *st) {
    snprintf(k->prefix, sizeof k->prefix, "glassbox.train.");
    k_str(k, "preset", c->preset);
    k_str(k, "data_dir", c->data_dir);
    k_str(k, "tokenizer", c->tokenizer);
    k_i64(k, "steps", c->steps);
    k_i64(k, "batch", c->batch);
    k_i64(k, "seq", c->seq);
    k_i64(k, "accum", c->accum);
    k_f32(k, "lr", c->lr);
    k_f32(k, "min_lr", c->min_lr);
    k_i64(k, "warmup", c->warmup);
    k_f32(k, "weight_decay", c->weight_decay);
    k_f32(k, "beta1", c->beta1);
    k_f32(k, "beta2", c->beta2);
    k_f32(k, "eps", c->eps);
    k_f32(k, "clip", c->clip);
    k_i64(k, "eval_every", c->eval_every);
    k_i64(k, "eval_batches", c->eval_batches);
    k_i64(k, "ckpt_every", c->ckpt_every);
    if (!k->rc) k->rc = gb_gguf_add_u64(k->w, "glassbox.train.seed", c->seed);
    snprintf(k->prefix, sizeof k->prefix, "glassbox.state.");
    k_i64(k, "step", st->step);
    k_i64(k, "adamw_step", opt->step);
    k_i64(k, "tokens", st->tokens);
    if (!k->rc) k->rc = gb_gguf_add_f64(k->w, "glassbox.state.elapsed_s", st->elapsed_s);
    int64_t cur[3] = {st->cursor.epoch, st->cursor.shard, st->cursor.window};
    if (!k->rc) k->rc = gb_gguf_add_arr(k->w, "glassbox.state.cursor", GB_GGUF_INT64, cur, 3);
    if (!k->rc) k->rc = gb_gguf_add_arr(k->w, "glassbox.state.rng", GB_GGUF_UINT64, st->cursor.rng, 4);
}

gb_status gb_ckpt_save(const char *path, const char *prev_path, const gb_model *m, const gb_adamw *opt,
                       const gb_train_config *cfg, const gb_train_state *st, const gb_gguf *kv_from) {
    gb_gguf_writer *w = NULL;
    gb_status rc = gb_gguf_writer_new(&w);
    if (rc) return rc;
    kv k = {w, "", GB_OK};
    int full = cfg && opt && st;
    char (*names)[80] = NULL;
    add_model_meta(&k, m);
    for (int64_t i = 0; kv_from && !k.rc && i < gb_gguf_n_kv(kv_from); i++) k.rc = gb_gguf_add_kv_from(w, kv_from, i);
    if (full) add_train_meta(&k, cfg, opt, st);
    if ((rc = k.rc)) goto done;
    if (full && (!(names = calloc((size_t)m->n_tensors * 2, sizeof *names)))) {
        rc = gb_errorf(GB_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int pass = 0; pass < (full ? 3 : 1); pass++) {
        const float *base = pass == 0 ? m->params : pass == 1 ? opt->m : opt->v;
        for (int i = 0; i < m->n_tensors; i++) {
            const gb_tensor_info *t = &m->tensors[i];
            const char *name = t->name;
            if (pass) {
                name = names[(pass - 1) * m->n_tensors + i];
                snprintf(names[(pass - 1) * m->n_tensors + i], sizeof *names, "glassbox.adamw_%c.%s", pass == 1 ? 'm' : 'v', t->name);
            }
            int64_t ne[2];
            tensor_ne(t, ne);
            rc = gb_gguf_add_tensor(w, name, GB_GGML_F32, t->ndim, ne, base + t->offset, (size_t)t->numel * sizeof(float));
            if (rc) goto done;
        }
    }
    struct stat st_prev;
    int had_previous = stat(path, &st_prev) == 0;
    if (prev_path && had_previous) {
        /* keep the last good checkpoint under prev_path until the new one is in place */
        size_t l = strlen(prev_path) + 8;
        char *tmp = malloc(l);
        if (!tmp) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }
        snprintf(tmp, l, "%s.link", prev_path);
        unlink(tmp);
        if (link(path, tmp) == 0 && rename(tmp, prev_path) != 0) unlink(tmp);
        free(tmp);
    }
    if ((rc = gb_gguf_write(w, path))) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", gb_last_error());
        if (had_previous) rc = gb_errorf(rc, "checkpoint not saved (the previous %s is intact): %s", path, msg);
        else rc = gb_errorf(rc, "checkpoint not saved: %s", msg);
    }
done:
    free(names);
    gb_gguf_writer_free(w);
    return rc;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    const gb_gguf *g;
    const char *prefix;
    gb_status rc;
} rd;

static int64_t r_int(rd *r, const char *key, int64_t min, int64_t max) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", r->prefix, key);
    int64_t v = 0;
    if (r->rc) return 0;
    if ((r->rc = gb_gguf_get_int(r->g, full, &v))) return 0;
    if (v < min || v > max)
        r->rc = gb_errorf(GB_ERR_FORMAT, "%s: %s = %lld is out of range", gb_gguf_path(r->g), full, (long long)v);
    return v;
}
static float r_f32(rd *r, const char *key) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", r->prefix, key);
    float v = 0;
    if (!r->rc) r->rc = gb_gguf_get_f32(r->g, full, &v);
    if (!r->rc && !isfinite(v)) r->rc = gb_errorf(GB_ERR_FORMAT, "%s: %s is not finite", gb_gguf_path(r->g), full);
    return v;
}
static int r_bool(rd *r, const char *key) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", r->prefix, key);
    bool v = false;
    if (!r->rc) r->rc = gb_gguf_get_bool(r->g, full, &v);
    return v;
}
/* A string into buf[size]; a longer one or one with a NUL inside is a format error. */
static void r_str(rd *r, const char *key, char *buf, size_t size) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", r->prefix, key);
    gb_gguf_str s = {0};
    buf[0] = 0;
    if (r->rc || (r->rc = gb_gguf_get_str(r->g, full, &s))) return;
    if (s.len >= size || memchr(s.ptr, 0, s.len)) {
        r->rc = gb_errorf(GB_ERR_FORMAT, "%s: %s is too long", gb_gguf_path(r->g), full);
        return;
    }
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 0;
}

static gb_status read_model_config(const gb_gguf *g, gb_model_config *c) {
    rd r = {g, "glassbox.model.", GB_OK};
    char s[32];
    memset(c, 0, sizeof *c);
    if (gb_gguf_find_key(g, "glassbox.model.arch") < 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: not a glassbox checkpoint (no glassbox.model.* keys)", gb_gguf_path(g));
    r_str(&r, "arch", c->arch, sizeof c->arch);
    c->n_layer = (int)r_int(&r, "n_layer", 1, 1 << 20);
    c->n_head = (int)r_int(&r, "n_head", 1, 1 << 20);
    c->n_kv_head = (int)r_int(&r, "n_kv_head", 1, 1 << 20);
    c->d_model = (int)r_int(&r, "d_model", 1, 1 << 24);
    c->d_ff = (int)r_int(&r, "d_ff", 1, 1 << 24);
    c->vocab_size = (int)r_int(&r, "vocab_size", 1, 1 << 24);
    c->n_ctx = (int)r_int(&r, "n_ctx", 1, 1 << 24);
    r_str(&r, "norm", s, sizeof s);
    c->norm = !strcmp(s, "rmsnorm") ? GB_NORM_RMSNORM : GB_NORM_LAYERNORM;
    if (!r.rc && strcmp(s, "rmsnorm") && strcmp(s, "layernorm"))
        r.rc = gb_errorf(GB_ERR_FORMAT, "%s: unknown glassbox.model.norm '%s'", gb_gguf_path(g), s);
    c->norm_eps = r_f32(&r, "norm_eps");
    r_str(&r, "pos", s, sizeof s);
    c->pos = !strcmp(s, "rope") ? GB_POS_ROPE : GB_POS_LEARNED;
    if (!r.rc && strcmp(s, "rope") && strcmp(s, "learned"))
        r.rc = gb_errorf(GB_ERR_FORMAT, "%s: unknown glassbox.model.pos '%s'", gb_gguf_path(g), s);
    c->rope_theta = r_f32(&r, "rope_theta");
    r_str(&r, "mlp", s, sizeof s);
    c->mlp = !strcmp(s, "swiglu") ? GB_MLP_SWIGLU : GB_MLP_GELU;
    if (!r.rc && strcmp(s, "swiglu") && strcmp(s, "gelu"))
        r.rc = gb_errorf(GB_ERR_FORMAT, "%s: unknown glassbox.model.mlp '%s'", gb_gguf_path(g), s);
    c->bias = r_bool(&r, "bias");
    c->tied = r_bool(&r, "tied");
    c->fused_qkv = r_bool(&r, "fused_qkv");
    if (r.rc) return r.rc;
    gb_status rc = gb_model_config_validate(c);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gb_last_error());
        return gb_errorf(GB_ERR_FORMAT, "%s: %s", gb_gguf_path(g), msg);
    }
    return GB_OK;
}

static gb_status read_train_config(const gb_gguf *g, gb_train_config *c) {
    memset(c, 0, sizeof *c);
    gb_status rc = read_model_config(g, &c->model);
    if (rc) return rc;
    if (gb_gguf_find_key(g, "glassbox.train.steps") < 0)
        return gb_errorf(GB_ERR_FORMAT, "%s: holds no training state (no glassbox.train.* keys)", gb_gguf_path(g));
    rd r = {g, "glassbox.train.", GB_OK};
    r_str(&r, "preset", c->preset, sizeof c->preset);
    r_str(&r, "data_dir", c->data_dir, sizeof c->data_dir);
    r_str(&r, "tokenizer", c->tokenizer, sizeof c->tokenizer);
    c->steps = r_int(&r, "steps", 1, (int64_t)1 << 40);
    c->batch = (int)r_int(&r, "batch", 1, 1 << 20);
    c->seq = (int)r_int(&r, "seq", 1, 1 << 24);
    c->accum = (int)r_int(&r, "accum", 1, 1 << 20);
    c->lr = r_f32(&r, "lr");
    c->min_lr = r_f32(&r, "min_lr");
    c->warmup = r_int(&r, "warmup", 0, (int64_t)1 << 40);
    c->weight_decay = r_f32(&r, "weight_decay");
    c->beta1 = r_f32(&r, "beta1");
    c->beta2 = r_f32(&r, "beta2");
    c->eps = r_f32(&r, "eps");
    c->clip = r_f32(&r, "clip");
    c->eval_every = r_int(&r, "eval_every", 0, (int64_t)1 << 40);
    c->eval_batches = r_int(&r, "eval_batches", 0, 1 << 20);
    c->ckpt_every = r_int(&r, "ckpt_every", 0, (int64_t)1 << 40);
    if (!r.rc) r.rc = gb_gguf_get_u64(g, "glassbox.train.seed", &c->seed);
    if (r.rc) return r.rc;
    if ((rc = gb_train_config_validate(c))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gb_last_error());
        return gb_errorf(GB_ERR_FORMAT, "%s: %s", gb_gguf_path(g), msg);
    }
    return GB_OK;
}

gb_status gb_ckpt_read_config(const char *path, gb_train_config *cfg) {
    gb_gguf *g = NULL;
    gb_status rc = gb_gguf_open(&g, path);
    if (!rc) rc = read_train_config(g, cfg);
    gb_gguf_close(g);
    return rc;
}

/* Copies the F32 tensor `name` of shape t into dst after checking type and shape. */
static gb_status copy_tensor(const gb_gguf *g, const char *name, const gb_tensor_info *t, float *dst) {
    const gb_gguf_tensor *gt = gb_gguf_find_tensor(g, name);
    if (!gt) return gb_errorf(GB_ERR_FORMAT, "%s: tensor %s is missing", gb_gguf_path(g), name);
    int64_t ne[2];
    tensor_ne(t, ne);
    if (gt->type != GB_GGML_F32 || gt->n_dims != t->ndim || gt->ne[0] != ne[0] || gt->ne[1] != ne[1])
        return gb_errorf(GB_ERR_FORMAT, "%s: tensor %s is %s [%lld, %lld], want F32 [%lld, %lld]", gb_gguf_path(g),
                         name, gb_ggml_type_name(gt->type) ? gb_ggml_type_name(gt->type) : "?",
                         (long long)gt->ne[0], (long long)gt->ne[1], (long long)ne[0], (long long)ne[1]);
    memcpy(dst, gt->data, (size_t)t->numel * sizeof(float));
    return GB_OK;
}

gb_status gb_ckpt_load(const char *path, gb_model **out, gb_adamw *opt, gb_train_state *st) {
    gb_gguf *g = NULL;
    gb_model *m = NULL;
    gb_train_config cfg;
    *out = NULL;
    int full = opt && st;
    gb_status rc = gb_gguf_open(&g, path);
    if (rc) return rc;
    if (full) rc = read_train_config(g, &cfg);
    else rc = read_model_config(g, &cfg.model);
    if (rc || (rc = gb_model_init(&m, &cfg.model))) goto done;
    for (int i = 0; i < m->n_tensors && !rc; i++)
        rc = copy_tensor(g, m->tensors[i].name, &m->tensors[i], m->params + m->tensors[i].offset);
    if (rc || !full) goto done;
    if ((rc = gb_adamw_init(opt, m->n_floats, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay))) goto done;
    char name[96];
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        snprintf(name, sizeof name, "glassbox.adamw_m.%s", t->name);
        if (!(rc = copy_tensor(g, name, t, opt->m + t->offset))) {
            snprintf(name, sizeof name, "glassbox.adamw_v.%s", t->name);
            rc = copy_tensor(g, name, t, opt->v + t->offset);
        }
    }
    if (rc) goto done;
    rd r = {g, "glassbox.state.", GB_OK};
    memset(st, 0, sizeof *st);
    st->step = r_int(&r, "step", 0, cfg.steps);
    opt->step = r_int(&r, "adamw_step", 0, (int64_t)1 << 40);
    st->tokens = r_int(&r, "tokens", 0, INT64_MAX);
    if (!r.rc) r.rc = gb_gguf_get_f64(g, "glassbox.state.elapsed_s", &st->elapsed_s);
    gb_gguf_arr a;
    if (!r.rc && !(r.rc = gb_gguf_get_arr(g, "glassbox.state.cursor", GB_GGUF_INT64, &a))) {
        if (a.n != 3) r.rc = gb_errorf(GB_ERR_FORMAT, "%s: glassbox.state.cursor needs 3 values", path);
        else st->cursor.epoch = gb_gguf_arr_i64(&a, 0), st->cursor.shard = gb_gguf_arr_i64(&a, 1),
             st->cursor.window = gb_gguf_arr_i64(&a, 2);
    }
    if (!r.rc && !(r.rc = gb_gguf_get_arr(g, "glassbox.state.rng", GB_GGUF_UINT64, &a))) {
        if (a.n != 4) r.rc = gb_errorf(GB_ERR_FORMAT, "%s: glassbox.state.rng needs 4 values", path);
        else
            for (int i = 0; i < 4; i++) st->cursor.rng[i] = gb_gguf_arr_u64(&a, (uint64_t)i);
    }
    rc = r.rc;
done:
    if (rc) {
        gb_model_free(m);
        m = NULL;
        if (full) gb_adamw_free(opt);
    }
    gb_gguf_close(g);
    *out = m;
    return rc;
}

gb_status gb_ckpt_load_tokenizer(const char *path, gb_tokenizer **tok) {
    gb_gguf *g = NULL;
    *tok = NULL;
    gb_status rc = gb_gguf_open(&g, path);
    if (rc) return rc;
    gb_gguf_str s;
    char dir[4096], file[4200];
    if (gb_gguf_find_key(g, "glassbox.tokenizer.json") < 0) {
        /* not written by glassbox: the GGUF convention's keys, if present */
        if (gb_gguf_find_key(g, "tokenizer.ggml.model") >= 0) rc = gb_tokenizer_load_gguf(tok, g);
        else rc = gb_errorf(GB_ERR_FORMAT, "%s: no tokenizer embedded; give --tokenizer FILE", path);
        goto done;
    }
    if ((rc = gb_gguf_get_str(g, "glassbox.tokenizer.json", &s))) goto done;
    /* the tokenizer API loads from paths: through a private temporary directory */
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/glassbox-tok-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        rc = gb_errorf(GB_ERR_IO, "cannot make a temporary directory: %s", strerror(errno));
        goto done;
    }
    snprintf(file, sizeof file, "%s/tokenizer.json", dir);
    FILE *fp = fopen(file, "wb");
    int ok = fp && fwrite(s.ptr, 1, s.len, fp) == s.len;
    if (fp && fclose(fp) != 0) ok = 0;
    if (!ok) {
        rc = gb_errorf(GB_ERR_IO, "%s: %s", file, strerror(errno));
    } else if ((rc = gb_tokenizer_load(tok, file))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gb_last_error());
        rc = gb_errorf(rc, "%s: embedded tokenizer: %s", path, msg);
    }
    unlink(file);
    rmdir(dir);
done:
    gb_gguf_close(g);
    return rc;
}
