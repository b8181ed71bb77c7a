/* glassbox train — train a transformer on the token shards of `glassbox data prepare`.
 * Flags become a gb_train_config; --resume RUN takes the config saved in RUN/ckpt.gguf and
 * refuses any flag given with another value. The loop itself is src/train/trainer.c. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glassbox/progress.h"
#include "glassbox/sha256.h"
#include "glassbox/sys.h"
#include "glassbox/train.h"

static const char *train_help =
    "usage: glassbox train --data DIR --out RUN [options]\n"
    "       glassbox train --resume RUN [options]\n"
    "\n"
    "Trains a decoder-only transformer on token shards (glassbox data prepare) and writes\n"
    "RUN/ckpt.gguf (GGUF v3 with the training state), RUN/model.gguf (weights + tokenizer),\n"
    "RUN/log.csv, RUN/loss.svg and RUN/tokenizer.json. The vocabulary size is the shards'.\n"
    "Ctrl-C saves a checkpoint and exits (status 130); --resume continues bit for bit.\n"
    "\n"
    "Data and run:\n"
    "  --data DIR           prepared directory (meta.json + shards)\n"
    "  --out RUN            run directory (created if missing)\n"
    "  --tokenizer FILE     the shards' tokenizer (default: the one meta.json names, if it matches)\n"
    "  --resume RUN         continue RUN from RUN/ckpt.gguf with its saved config\n"
    "  --stop-after N       stop after step N with a checkpoint (the schedule stays that of --steps)\n"
    "Model (a preset, then any size flag overrides it):\n"
    "  --preset NAME        gpt2-124m, gpt2-10m, gpt2-tiny (default), llama-10m, llama-tiny\n"
    "  --arch gpt2|llama    layout: gpt2 (layernorm, learned positions, gelu, tied) or llama\n"
    "                       (rmsnorm, rope, swiglu, GQA); picks the -tiny preset of that layout\n"
    "  --n-layer N  --n-head N  --n-kv-head N  --d-model N  --d-ff N  --ctx N\n"
    "Optimisation:\n"
    "  --steps N            optimizer steps (default 1000)\n"
    "  --batch B            sequences per micro-batch (default 8)\n"
    "  --seq T              tokens per sequence (default min(256, ctx))\n"
    "  --accum K            micro-batches per step (default 1)\n"
    "  --lr X               peak learning rate (default 6e-4)\n"
    "  --min-lr X           final learning rate of the cosine decay (default lr/10)\n"
    "  --warmup N           linear warmup steps (default min(100, steps/10))\n"
    "  --weight-decay X     AdamW decoupled weight decay on matrices (default 0.1)\n"
    "  --clip X             clip the global gradient norm at X; 0 = off (default 1)\n"
    "  --eval-every N       validation loss every N steps and at the end (default min(100, steps/10))\n"
    "  --eval-batches N     validation micro-batches (default 20)\n"
    "  --ckpt-every N       checkpoint every N steps and at the end (default 500)\n"
    "  --seed S             weight init and data order (default 1337)\n"
    "Output:\n"
    "  --threads N          compute threads (default: one per core; results do not depend on it)\n"
    "  --quiet              no progress bar\n"
    "  --json               print the summary as one JSON object\n"
    "  -h, --help           show this help\n";

enum {
    O_DATA = 256, O_OUT, O_TOK, O_RESUME, O_STOP, O_PRESET, O_ARCH, O_NLAYER, O_NHEAD, O_NKV, O_DMODEL, O_DFF, O_CTX,
    O_STEPS, O_BATCH, O_SEQ, O_ACCUM, O_LR, O_MINLR, O_WARMUP, O_WD, O_CLIP, O_EVAL, O_EVALB, O_CKPT, O_SEED,
    O_THREADS, O_QUIET, O_JSON, O_LAST
};

static const struct option opts[] = {
    {"data", required_argument, 0, O_DATA},       {"out", required_argument, 0, O_OUT},
    {"tokenizer", required_argument, 0, O_TOK},   {"resume", required_argument, 0, O_RESUME},
    {"stop-after", required_argument, 0, O_STOP}, {"preset", required_argument, 0, O_PRESET},
    {"arch", required_argument, 0, O_ARCH},       {"n-layer", required_argument, 0, O_NLAYER},
    {"n-head", required_argument, 0, O_NHEAD},    {"n-kv-head", required_argument, 0, O_NKV},
    {"d-model", required_argument, 0, O_DMODEL},  {"d-ff", required_argument, 0, O_DFF},
    {"ctx", required_argument, 0, O_CTX},         {"steps", required_argument, 0, O_STEPS},
    {"batch", required_argument, 0, O_BATCH},     {"seq", required_argument, 0, O_SEQ},
    {"accum", required_argument, 0, O_ACCUM},     {"lr", required_argument, 0, O_LR},
    {"min-lr", required_argument, 0, O_MINLR},    {"warmup", required_argument, 0, O_WARMUP},
    {"weight-decay", required_argument, 0, O_WD}, {"clip", required_argument, 0, O_CLIP},
    {"eval-every", required_argument, 0, O_EVAL}, {"eval-batches", required_argument, 0, O_EVALB},
    {"ckpt-every", required_argument, 0, O_CKPT}, {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS}, {"quiet", no_argument, 0, O_QUIET},
    {"json", no_argument, 0, O_JSON},             {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* the flag's name, for messages */
static const char *flag_name(int id) {
    for (const struct option *o = opts; o->name; o++)
        if (o->val == id) return o->name;
    return "?";
}

typedef struct {
    const char *val[O_LAST]; /* the value given for each flag, or NULL */
    int64_t i[O_LAST];       /* parsed integers */
    double d[O_LAST];        /* parsed numbers */
} flags;

static int is_int_flag(int id) {
    return (id >= O_NLAYER && id <= O_ACCUM) || id == O_WARMUP || id == O_EVAL || id == O_EVALB || id == O_CKPT ||
           id == O_STOP;
}

static int parse_value(const char *cmd, flags *f, int id, const char *v) {
    f->val[id] = v;
    if (is_int_flag(id)) {
        int64_t min = (id == O_WARMUP || id == O_EVAL || id == O_EVALB || id == O_CKPT) ? 0 : 1;
        int64_t max = (id == O_STEPS || id == O_STOP || id == O_WARMUP || id == O_EVAL || id == O_CKPT)
                          ? ((int64_t)1 << 40) : (1 << 24);
        if (gb_cli_parse_int(v, min, max, &f->i[id]))
            return gb_cli_usage_error(cmd, "--%s wants a whole number from %lld to %lld, not '%s'", flag_name(id),
                                      (long long)min, (long long)max, v);
    } else if (id == O_SEED) {
        char *end;
        if (!*v || *v == '-' || (f->i[id] = (int64_t)strtoull(v, &end, 10), *end))
            return gb_cli_usage_error(cmd, "--seed wants a whole number >= 0, not '%s'", v);
    } else if (id >= O_LR && id <= O_CLIP && id != O_WARMUP) {
        if (gb_cli_parse_double(v, 0.0, 1e6, &f->d[id]))
            return gb_cli_usage_error(cmd, "--%s wants a number >= 0, not '%s'", flag_name(id), v);
    }
    return 0;
}

/* A resumed run keeps its config: a flag given again must say the same. */
static int check_same(const flags *f, int id, int same, const char *saved, const char *ckpt) {
    if (!f->val[id] || same) return 0;
    gb_errorf(GB_ERR_ARG, "--%s %s differs from the run's %s (%s); a resumed run keeps its config", flag_name(id),
              f->val[id], saved, ckpt);
    return 1;
}

static int same_path(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!strcmp(a, b)) return 1;
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

static int resume_mismatch(const flags *f, const gb_train_config *s, const char *ckpt) {
    char b[64];
    const gb_model_config *m = &s->model;
#define SAME_I(id, field) (snprintf(b, sizeof b, "%lld", (long long)(field)), check_same(f, id, f->i[id] == (int64_t)(field), b, ckpt))
#define SAME_F(id, field) (snprintf(b, sizeof b, "%g", (double)(field)), check_same(f, id, (float)f->d[id] == (field), b, ckpt))
    return check_same(f, O_DATA, f->val[O_DATA] && same_path(f->val[O_DATA], s->data_dir), s->data_dir, ckpt) ||
           check_same(f, O_TOK, f->val[O_TOK] && s->tokenizer[0] && same_path(f->val[O_TOK], s->tokenizer),
                      s->tokenizer[0] ? s->tokenizer : "(none)", ckpt) ||
           check_same(f, O_PRESET, f->val[O_PRESET] && !strcmp(f->val[O_PRESET], s->preset),
                      s->preset[0] ? s->preset : "(none)", ckpt) ||
           check_same(f, O_ARCH, f->val[O_ARCH] && !strcmp(f->val[O_ARCH], m->arch), m->arch, ckpt) ||
           SAME_I(O_NLAYER, m->n_layer) || SAME_I(O_NHEAD, m->n_head) || SAME_I(O_NKV, m->n_kv_head) ||
           SAME_I(O_DMODEL, m->d_model) || SAME_I(O_DFF, m->d_ff) || SAME_I(O_CTX, m->n_ctx) ||
           SAME_I(O_STEPS, s->steps) || SAME_I(O_BATCH, s->batch) || SAME_I(O_SEQ, s->seq) ||
           SAME_I(O_ACCUM, s->accum) || SAME_F(O_LR, s->lr) || SAME_F(O_MINLR, s->min_lr) ||
           SAME_I(O_WARMUP, s->warmup) || SAME_F(O_WD, s->weight_decay) || SAME_F(O_CLIP, s->clip) ||
           SAME_I(O_EVAL, s->eval_every) || SAME_I(O_EVALB, s->eval_batches) || SAME_I(O_CKPT, s->ckpt_every) ||
           SAME_I(O_SEED, s->seed);
#undef SAME_I
#undef SAME_F
}

/* A fresh run's config from the flags and the defaults. Returns 0, or prints a usage error. */
static int build_config(const char *cmd, const flags *f, gb_train_config *c) {
    gb_train_config_defaults(c);
    const char *arch = f->val[O_ARCH];
    if (arch && strcmp(arch, "gpt2") && strcmp(arch, "llama"))
        return gb_cli_usage_error(cmd, "--arch wants gpt2 or llama, not '%s'", arch);
    const char *preset = f->val[O_PRESET] ? f->val[O_PRESET] : arch && !strcmp(arch, "llama") ? "llama-tiny" : "gpt2-tiny";
    if (gb_model_config_preset(&c->model, preset)) return gb_cli_usage_error(cmd, "%s", gb_last_error());
    if (arch && strcmp(arch, c->model.arch))
        return gb_cli_usage_error(cmd, "--arch %s contradicts --preset %s", arch, preset);
    if (f->val[O_PRESET]) snprintf(c->preset, sizeof c->preset, "%s", preset);
    gb_model_config *m = &c->model;
    m->vocab_size = 0; /* the shards' */
    if (f->val[O_NLAYER]) m->n_layer = (int)f->i[O_NLAYER];
    if (f->val[O_DMODEL]) {
        m->d_model = (int)f->i[O_DMODEL];
        if (!f->val[O_DFF]) /* gpt2: 4C; llama: 8C/3 rounded up to a multiple of 64 */
            m->d_ff = m->mlp == GB_MLP_GELU ? 4 * m->d_model : (8 * m->d_model / 3 + 63) / 64 * 64;
    }
    if (f->val[O_NHEAD]) {
        m->n_head = (int)f->i[O_NHEAD];
        if (!f->val[O_NKV]) m->n_kv_head = m->n_head;
    }
    if (f->val[O_NKV]) m->n_kv_head = (int)f->i[O_NKV];
    if (f->val[O_DFF]) m->d_ff = (int)f->i[O_DFF];
    if (f->val[O_CTX]) m->n_ctx = (int)f->i[O_CTX];
    /* the vocabulary is not known yet: check the rest with a stand-in */
    gb_model_config probe = *m;
    probe.vocab_size = 1;
    if (gb_model_config_validate(&probe)) {
        gb_cli_fail(GB_ERR_ARG);
        return GB_EXIT_USAGE;
    }
    snprintf(c->data_dir, sizeof c->data_dir, "%s", f->val[O_DATA]);
    if (f->val[O_TOK]) snprintf(c->tokenizer, sizeof c->tokenizer, "%s", f->val[O_TOK]);
    if (f->val[O_STEPS]) c->steps = f->i[O_STEPS];
    c->seq = m->n_ctx < 256 ? m->n_ctx : 256;
    if (f->val[O_SEQ]) c->seq = (int)f->i[O_SEQ];
    if (f->val[O_BATCH]) c->batch = (int)f->i[O_BATCH];
    if (f->val[O_ACCUM]) c->accum = (int)f->i[O_ACCUM];
    if (f->val[O_LR]) c->lr = (float)f->d[O_LR];
    c->min_lr = f->val[O_MINLR] ? (float)f->d[O_MINLR] : c->lr / 10;
    c->warmup = f->val[O_WARMUP] ? f->i[O_WARMUP] : (c->steps / 10 < 100 ? c->steps / 10 : 100);
    if (f->val[O_WD]) c->weight_decay = (float)f->d[O_WD];
    if (f->val[O_CLIP]) c->clip = (float)f->d[O_CLIP];
    int64_t ev = c->steps / 10 < 100 ? c->steps / 10 : 100;
    c->eval_every = f->val[O_EVAL] ? f->i[O_EVAL] : (ev > 0 ? ev : 1);
    if (f->val[O_EVALB]) c->eval_batches = f->i[O_EVALB];
    if (f->val[O_CKPT]) c->ckpt_every = f->i[O_CKPT];
    if (f->val[O_SEED]) c->seed = (uint64_t)f->i[O_SEED];
    if (strlen(f->val[O_DATA]) >= sizeof c->data_dir || (f->val[O_TOK] && strlen(f->val[O_TOK]) >= sizeof c->tokenizer))
        return gb_cli_usage_error(cmd, "path too long");
    /* everything but the vocabulary is known: check now, so a bad flag is a usage error */
    c->model.vocab_size = 1;
    if (gb_train_config_validate(c)) {
        gb_cli_fail(GB_ERR_ARG);
        return GB_EXIT_USAGE;
    }
    c->model.vocab_size = 0;
    return 0;
}

int gb_cmd_train(int argc, char **argv) {
    const char *cmd = "train";
    flags f;
    memset(&f, 0, sizeof f);
    int quiet = 0, json = 0, c;
    optind = 1;
    while ((c = gb_cli_getopt(cmd, argc, argv, "h", opts)) != -1) {
        if (c == 'h') {
            fputs(train_help, stdout);
            return GB_EXIT_OK;
        }
        if (c == O_QUIET) quiet = 1;
        else if (c == O_JSON) json = 1;
        else if (c == O_THREADS) {
            if (gb_cli_set_threads(cmd, optarg)) return GB_EXIT_USAGE;
        } else if (c > 0 && c < O_LAST) {
            if (parse_value(cmd, &f, c, optarg)) return GB_EXIT_USAGE;
        } else {
            return GB_EXIT_USAGE;
        }
    }
    if (optind < argc) return gb_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    const char *resume = f.val[O_RESUME], *out = f.val[O_OUT];
    if (resume && out && !same_path(resume, out))
        return gb_cli_usage_error(cmd, "--out %s differs from --resume %s; a resumed run writes where it is", out, resume);
    if (!resume && (!f.val[O_DATA] || !out)) return gb_cli_usage_error(cmd, "--data and --out are required (or --resume RUN)");
    if (!out) out = resume;
    gb_progress_set_quiet(quiet);

    gb_train_config cfg;
    gb_train_opts o = {.resume = resume != NULL, .stop_after = f.val[O_STOP] ? f.i[O_STOP] : 0, .quiet = quiet};
    if (resume) {
        char ckpt[PATH_MAX];
        snprintf(ckpt, sizeof ckpt, "%s/ckpt.gguf", resume);
        gb_status rc = gb_ckpt_read_config(ckpt, &cfg);
        if (rc) return gb_cli_fail(rc);
        if (resume_mismatch(&f, &cfg, ckpt)) return gb_cli_fail(GB_ERR_ARG);
    } else {
        int r = build_config(cmd, &f, &cfg);
        if (r) return r;
    }

    gb_train_result res;
    gb_status rc = gb_train_run(&cfg, out, &o, &res);
    if (rc && !res.interrupted) return gb_cli_fail(rc);
    char hex[65];
    gb_sha256_hex(res.weights_sha256, hex);
    char elapsed[32];
    gb_format_duration(elapsed, sizeof elapsed, res.elapsed_s);
    if (json) {
        char val[32] = "null";
        if (isfinite(res.val_loss)) snprintf(val, sizeof val, "%.6f", (double)res.val_loss);
        printf("{\"out\":\"%s\",\"step\":%lld,\"steps\":%lld,\"params\":%lld,\"loss\":%.6f,\"val_loss\":%s,"
               "\"elapsed_s\":%.3f,\"tokens_per_s\":%.1f,\"weights_sha256\":\"%s\",\"interrupted\":%s}\n",
               out, (long long)res.step, (long long)cfg.steps, (long long)res.n_params, (double)res.loss, val,
               res.elapsed_s, res.tokens_per_s, hex, res.interrupted ? "true" : "false");
    } else {
        printf("step %lld/%lld  loss %.4f", (long long)res.step, (long long)cfg.steps, (double)res.loss);
        if (isfinite(res.val_loss)) printf("  val loss %.4f", (double)res.val_loss);
        printf("  (%s, %.0f tokens/s)\n", elapsed, res.tokens_per_s);
        printf("weights sha256 %s\n", hex);
        printf("checkpoint %s/ckpt.gguf\n", out);
    }
    fflush(stdout);
    return rc ? gb_cli_fail(rc) : GB_EXIT_OK;
}
