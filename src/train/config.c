/* glassbox — training config: defaults, validation, and the learning-rate schedule. */
#include <math.h>
#include <string.h>

#include "glassbox/train.h"

void gb_train_config_defaults(gb_train_config *c) {
    memset(c, 0, sizeof *c);
    c->steps = 1000;
    c->batch = 8;
    c->seq = 256;
    c->accum = 1;
    c->lr = 6e-4f;
    c->min_lr = 6e-5f;
    c->warmup = 100;
    c->weight_decay = 0.1f;
    c->beta1 = 0.9f;
    c->beta2 = 0.95f;
    c->eps = 1e-8f;
    c->clip = 1.0f;
    c->eval_every = 100;
    c->eval_batches = 20;
    c->ckpt_every = 500;
    c->seed = 1337;
}

gb_status gb_train_config_validate(const gb_train_config *c) {
    gb_status rc = gb_model_config_validate(&c->model);
    if (rc) return rc;
    if (c->steps < 1 || c->steps > ((int64_t)1 << 40))
        return gb_errorf(GB_ERR_ARG, "train config: steps = %lld must be >= 1", (long long)c->steps);
    if (c->batch < 1 || c->batch > (1 << 20))
        return gb_errorf(GB_ERR_ARG, "train config: batch = %d must be >= 1", c->batch);
    if (c->seq < 1 || c->seq > c->model.n_ctx)
        return gb_errorf(GB_ERR_ARG, "train config: seq = %d must be from 1 to the context length %d", c->seq,
                         c->model.n_ctx);
    if ((int64_t)c->batch * c->seq > ((int64_t)1 << 30))
        return gb_errorf(GB_ERR_ARG, "train config: batch x seq = %lld tokens is too large",
                         (long long)c->batch * c->seq);
    if (c->accum < 1 || c->accum > (1 << 20))
        return gb_errorf(GB_ERR_ARG, "train config: accum = %d must be >= 1", c->accum);
    if (!(c->lr > 0.0f && c->lr < 1e3f))
        return gb_errorf(GB_ERR_ARG, "train config: lr = %g must be > 0", (double)c->lr);
    if (!(c->min_lr >= 0.0f && c->min_lr <= c->lr))
        return gb_errorf(GB_ERR_ARG, "train config: min_lr = %g must be from 0 to lr = %g", (double)c->min_lr,
                         (double)c->lr);
    if (c->warmup < 0 || c->warmup > c->steps)
        return gb_errorf(GB_ERR_ARG, "train config: warmup = %lld must be from 0 to steps = %lld",
                         (long long)c->warmup, (long long)c->steps);
    if (!(c->weight_decay >= 0.0f && c->weight_decay < 1e3f))
        return gb_errorf(GB_ERR_ARG, "train config: weight_decay = %g must be >= 0", (double)c->weight_decay);
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f) || !(c->eps > 0.0f))
        return gb_errorf(GB_ERR_ARG, "train config: AdamW betas must be in [0, 1) and eps > 0");
    if (!(c->clip >= 0.0f && c->clip < 1e30f))
        return gb_errorf(GB_ERR_ARG, "train config: clip = %g must be >= 0 (0 = off)", (double)c->clip);
    if (c->eval_every < 0 || c->eval_batches < 0 || c->eval_batches > (1 << 20) || c->ckpt_every < 0)
        return gb_errorf(GB_ERR_ARG, "train config: eval_every, eval_batches and ckpt_every must be >= 0");
    if (!memchr(c->data_dir, 0, sizeof c->data_dir) || !c->data_dir[0] ||
        !memchr(c->tokenizer, 0, sizeof c->tokenizer) || !memchr(c->preset, 0, sizeof c->preset))
        return gb_errorf(GB_ERR_ARG, "train config: the data directory must be named");
    return GB_OK;
}

float gb_train_lr(const gb_train_config *c, int64_t step) {
    if (step < c->warmup) return (float)((double)c->lr * (double)(step + 1) / (double)c->warmup);
    int64_t span = c->steps - c->warmup;
    double progress = span > 1 ? (double)(step - c->warmup) / (double)(span - 1) : 0.0;
    if (progress > 1.0) progress = 1.0;
    double coeff = 0.5 * (1.0 + cos(M_PI * progress));
    return (float)((double)c->min_lr + coeff * ((double)c->lr - (double)c->min_lr));
}
