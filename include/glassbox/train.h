/* glassbox — training a model on token shards: data loader, learning-rate schedule,
 * checkpoints (GGUF v3 with the training state under glassbox.* keys), the training loop,
 * its log and loss plot. docs/training.md describes the loop, every checkpoint key, and the
 * resume and determinism guarantees.
 *
 * Determinism: the loader's order is a function of (seed, epoch, shard) alone, every model
 * kernel is thread-count independent, and nothing here sums in parallel, so the same config
 * and data give the same weights with any thread count, and a run resumed from a checkpoint
 * continues bit for bit as if it had not stopped. */
#ifndef GLASSBOX_TRAIN_H
#define GLASSBOX_TRAIN_H

#include <stdint.h>

#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/model.h"
#include "glassbox/rng.h"
#include "glassbox/shard.h"
#include "glassbox/tokenizer.h"

/* ---------------------------------------------------------------- data loader */

/* Where the loader stands: the next window to read is window `window` of the permuted
 * order of shard `shard` in epoch `epoch`. `rng` is the loader's random state as it was when
 * that shard's permutation was drawn, so restoring the cursor redraws the same permutation. */
typedef struct gb_data_cursor {
    int64_t epoch;
    int64_t shard;
    int64_t window;
    uint64_t rng[4];
} gb_data_cursor;

/* One split ("train" or "val") of a directory written by `glassbox data prepare`.
 * A shard of N tokens holds W = (N-1)/T windows; window w is tokens [w·T, w·T+T] (T+1 ids:
 * inputs are the first T, targets the last T). With `shuffle`, each shard's windows are read
 * in a permutation drawn (Fisher–Yates) from the loader's RNG when the shard is entered;
 * without it, in file order. Shards are read in meta.json order; after the last one the next
 * epoch starts at the first. */
typedef struct gb_loader {
    int n_shards;
    gb_shard *shards;        /* (n_shards) mapped shards */
    char **paths;            /* (n_shards) their paths, for messages */
    int64_t n_tokens;        /* over all shards */
    int64_t n_windows;       /* over all shards */
    int64_t vocab_size;      /* the shards' (all equal) */
    uint8_t digest[32];      /* the shards' tokenizer digest (all equal) */
    int T;                   /* sequence length */
    int shuffle;
    gb_data_cursor cur;
    gb_rng rng;              /* live state: advanced when a shard is entered */
    uint32_t *perm;          /* (windows of the current shard) permutation, or NULL */
    int64_t perm_shard;      /* shard perm belongs to, -1 for none */
} gb_loader;

/* Opens split `split` of prepared directory `dir` (DIR/meta.json names the shards) for
 * windows of T tokens. Every shard must open (gb_shard_open's one-line errors: bad magic,
 * truncated, …) and all must share one tokenizer digest and vocabulary size. A split with no
 * window of T+1 tokens opens with n_windows == 0 (gb_loader_next then fails).
 * `seed` starts the shuffling RNG. Close with gb_loader_close (safe on a zeroed struct). */
gb_status gb_loader_open(gb_loader *L, const char *dir, const char *split, int T, int shuffle,
                         uint64_t seed);
void gb_loader_close(gb_loader *L);

/* Fills B rows of inputs (B, T) and targets (B, T) from the next B windows. */
gb_status gb_loader_next(gb_loader *L, int32_t *inputs, int32_t *targets, int B);

/* Saves / restores the cursor exactly (restore checks it against the shards). */
void gb_loader_get_cursor(const gb_loader *L, gb_data_cursor *c);
gb_status gb_loader_set_cursor(gb_loader *L, const gb_data_cursor *c);
/* Back to the first window of epoch 0 with the RNG seeded by `seed`. */
void gb_loader_rewind(gb_loader *L, uint64_t seed);

/* ---------------------------------------------------------------- config and schedule */

#define GB_TRAIN_PATH_MAX 1024

typedef struct gb_train_config {
    gb_model_config model;   /* vocab_size = the shards' */
    char preset[32];         /* the preset the model came from ("" for explicit sizes) */
    char data_dir[GB_TRAIN_PATH_MAX];  /* prepared directory, as given */
    char tokenizer[GB_TRAIN_PATH_MAX]; /* tokenizer file given with --tokenizer, or "" */
    int64_t steps;           /* optimizer steps in the whole run */
    int batch;               /* micro-batch B (rows) */
    int seq;                 /* sequence length T <= model.n_ctx */
    int accum;               /* micro-batches per step K (gradients averaged) */
    float lr, min_lr;        /* peak and final learning rate */
    int64_t warmup;          /* linear warmup steps */
    float weight_decay;      /* AdamW decoupled decay (2-D tensors only) */
    float beta1, beta2, eps; /* AdamW */
    float clip;              /* global gradient-norm clip; 0 = off */
    int64_t eval_every;      /* validation every N steps (and at the end); 0 = only at the end */
    int64_t eval_batches;    /* validation micro-batches (B×T each, always the same ones) */
    int64_t ckpt_every;      /* checkpoint every N steps (and at the end); 0 = only at the end */
    uint64_t seed;           /* weight init and data order */
} gb_train_config;

/* Defaults (docs/training.md) with the model left zeroed. */
void gb_train_config_defaults(gb_train_config *c);
/* Validates model and training fields; GB_ERR_ARG with one line naming the field. */
gb_status gb_train_config_validate(const gb_train_config *c);

/* Learning rate of step `step` (0-based): linear warmup from lr/warmup to lr over `warmup`
 * steps, then cosine decay to min_lr at the last step. */
float gb_train_lr(const gb_train_config *c, int64_t step);

/* ---------------------------------------------------------------- checkpoints */

/* What, besides weights, optimizer moments and the config, a run needs to go on exactly. */
typedef struct gb_train_state {
    int64_t step;            /* optimizer steps done */
    gb_data_cursor cursor;   /* training loader */
    double elapsed_s;        /* training wall time so far (over all sessions) */
    int64_t tokens;          /* training tokens consumed so far */
} gb_train_state;

/* SHA-256 over the parameters, tensor by tensor in table order, as little-endian fp32 bytes
 * (no alignment gaps): the run's fingerprint, printed at the end of training. */
void gb_model_weights_sha256(const gb_model *m, uint8_t digest[32]);

/* Adds the tokenizer under GGUF's tokenizer.ggml.* keys (model "gpt2": tokens as GPT-2
 * mapped strings, merges "A B" recovered from the vocabulary, token types, bos/eos =
 * <|endoftext|>, pre-tokenizer name) and the glassbox JSON form under glassbox.tokenizer.json. */
gb_status gb_gguf_add_tokenizer(gb_gguf_writer *w, const gb_tokenizer *tok);

/* Writes a checkpoint to `path` atomically: weights under their GGUF names, the GGUF
 * architecture metadata and glassbox.model.*, every key/value of `kv_from` copied verbatim
 * (the tokenizer, made once with gb_gguf_add_tokenizer; may be NULL), and — when cfg, opt
 * and st are non-NULL — the config, optimizer moments and training state under glassbox.*.
 * If a file exists at `path` and prev_path != NULL, it is kept as prev_path (a hard link)
 * before the new one is renamed into place. On failure the file at `path` is as it was. */
gb_status gb_ckpt_save(const char *path, const char *prev_path, const gb_model *m,
                       const gb_adamw *opt, const gb_train_config *cfg, const gb_train_state *st,
                       const gb_gguf *kv_from);

/* Reads the config saved in a checkpoint (GB_ERR_FORMAT naming the file and key if absent). */
gb_status gb_ckpt_read_config(const char *path, gb_train_config *cfg);

/* Loads a checkpoint's model (config from glassbox.model.*, weights checked by name, type
 * and shape). With opt and st non-NULL also the optimizer moments and training state (the
 * optimizer is initialised here from the saved config). *m is NULL on failure. */
gb_status gb_ckpt_load(const char *path, gb_model **m, gb_adamw *opt, gb_train_state *st);

/* Loads the tokenizer embedded under glassbox.tokenizer.json. */
gb_status gb_ckpt_load_tokenizer(const char *path, gb_tokenizer **tok);

/* ---------------------------------------------------------------- the training loop */

typedef struct gb_train_opts {
    int resume;              /* continue from out_dir/ckpt.gguf (cfg must equal its config) */
    int64_t stop_after;      /* > 0: stop after this step (checkpoint saved), schedule unchanged */
    int quiet;               /* no progress bar, no per-run lines on stderr */
} gb_train_opts;

typedef struct gb_train_result {
    int64_t step;            /* steps done */
    float loss;              /* train loss of the last step (mean over its micro-batches) */
    float val_loss;          /* last validation loss, NAN if none */
    int64_t n_params;
    double elapsed_s;        /* training wall time (all sessions) */
    double tokens_per_s;     /* this session */
    uint8_t weights_sha256[32];
    int interrupted;         /* stopped by Ctrl-C (checkpoint saved; status GB_ERR_INTERRUPTED) */
} gb_train_result;

/* Trains per *cfg into out_dir (created if missing): out_dir/ckpt.gguf (+ ckpt.prev.gguf),
 * log.csv, loss.svg, tokenizer.json (when the tokenizer is known). The tokenizer is cfg's
 * `tokenizer` file, else the one meta.json names if its digest matches the shards, else none.
 * Refuses shards whose digest differs from that tokenizer's, and shards whose vocabulary
 * exceeds the model's. Ctrl-C (gb_interrupted) ends the current step, saves a checkpoint and
 * returns GB_ERR_INTERRUPTED. */
gb_status gb_train_run(const gb_train_config *cfg, const char *out_dir, const gb_train_opts *opts,
                       gb_train_result *res);

/* Writes an SVG line plot of train loss (n points) and validation loss (NAN = none) against
 * step, atomically. */
gb_status gb_train_plot_svg(const char *path, const int64_t *step, const float *loss,
                            const float *val_loss, int64_t n);

#endif
