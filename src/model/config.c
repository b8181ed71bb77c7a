/* glassbox — model configs: named presets and validation. */
#include <stdio.h>
#include <string.h>

#include "glassbox/model.h"

static gb_model_config gpt2_layout(int n_layer, int n_head, int d_model, int n_ctx) {
    gb_model_config c = {.arch = "gpt2",
                         .n_layer = n_layer,
                         .n_head = n_head,
                         .n_kv_head = n_head,
                         .d_model = d_model,
                         .d_ff = 4 * d_model,
                         .vocab_size = 50257,
                         .n_ctx = n_ctx,
                         .norm = GB_NORM_LAYERNORM,
                         .norm_eps = 1e-5f,
                         .pos = GB_POS_LEARNED,
                         .rope_theta = 10000.0f,
                         .mlp = GB_MLP_GELU,
                         .bias = 1,
                         .tied = 1,
                         .fused_qkv = 1};
    return c;
}

static gb_model_config llama_layout(int n_layer, int n_head, int n_kv_head, int d_model, int d_ff,
                                    int n_ctx) {
    gb_model_config c = {.arch = "llama",
                         .n_layer = n_layer,
                         .n_head = n_head,
                         .n_kv_head = n_kv_head,
                         .d_model = d_model,
                         .d_ff = d_ff,
                         .vocab_size = 50257,
                         .n_ctx = n_ctx,
                         .norm = GB_NORM_RMSNORM,
                         .norm_eps = 1e-5f,
                         .pos = GB_POS_ROPE,
                         .rope_theta = 10000.0f,
                         .mlp = GB_MLP_SWIGLU,
                         .bias = 0,
                         .tied = 0,
                         .fused_qkv = 0};
    return c;
}

static const char *const preset_names[] = {"gpt2-124m", "gpt2-10m", "gpt2-tiny", "llama-10m",
                                           "llama-tiny", NULL};

const char *const *gb_model_preset_names(void) { return preset_names; }

gb_status gb_model_config_preset(gb_model_config *out, const char *name) {
    if (!strcmp(name, "gpt2-124m") || !strcmp(name, "gpt2")) *out = gpt2_layout(12, 12, 768, 1024);
    else if (!strcmp(name, "gpt2-10m")) *out = gpt2_layout(6, 6, 384, 512);
    else if (!strcmp(name, "gpt2-tiny")) *out = gpt2_layout(2, 4, 128, 256);
    /* d_ff ≈ 8/3·d_model rounded up to a multiple of 64, as Llama does */
    else if (!strcmp(name, "llama-10m") || !strcmp(name, "llama")) *out = llama_layout(6, 6, 2, 384, 1024, 512);
    else if (!strcmp(name, "llama-tiny")) *out = llama_layout(2, 4, 2, 128, 384, 256);
    else
        return gb_errorf(GB_ERR_ARG,
                         "unknown model preset '%s' (known: gpt2-124m, gpt2-10m, gpt2-tiny, "
                         "llama-10m, llama-tiny)",
                         name);
    return GB_OK;
}

/* Upper bounds keep every size product far from int64 overflow (see docs/model.md). */
#define MAX_LAYER 1024
#define MAX_HEAD 4096
#define MAX_DIM (1 << 18)
#define MAX_FF (1 << 20)
#define MAX_VOCAB (1 << 24)
#define MAX_CTX (1 << 22)

static gb_status check_range(const char *field, int v, int max) {
    if (v < 1 || v > max)
        return gb_errorf(GB_ERR_ARG, "model config: %s = %d is out of range (1..%d)", field, v, max);
    return GB_OK;
}

gb_status gb_model_config_validate(const gb_model_config *c) {
    gb_status rc;
    if ((rc = check_range("n_layer", c->n_layer, MAX_LAYER)) ||
        (rc = check_range("n_head", c->n_head, MAX_HEAD)) ||
        (rc = check_range("n_kv_head", c->n_kv_head, MAX_HEAD)) ||
        (rc = check_range("d_model", c->d_model, MAX_DIM)) ||
        (rc = check_range("d_ff", c->d_ff, MAX_FF)) ||
        (rc = check_range("vocab_size", c->vocab_size, MAX_VOCAB)) ||
        (rc = check_range("n_ctx", c->n_ctx, MAX_CTX)))
        return rc;
    if (c->d_model % c->n_head != 0)
        return gb_errorf(GB_ERR_ARG, "model config: n_head = %d does not divide d_model = %d",
                         c->n_head, c->d_model);
    if (c->n_head % c->n_kv_head != 0)
        return gb_errorf(GB_ERR_ARG, "model config: n_kv_head = %d does not divide n_head = %d",
                         c->n_kv_head, c->n_head);
    if (c->norm != GB_NORM_LAYERNORM && c->norm != GB_NORM_RMSNORM)
        return gb_errorf(GB_ERR_ARG, "model config: unknown norm kind %d", (int)c->norm);
    if (c->pos != GB_POS_LEARNED && c->pos != GB_POS_ROPE)
        return gb_errorf(GB_ERR_ARG, "model config: unknown position kind %d", (int)c->pos);
    if (c->mlp != GB_MLP_GELU && c->mlp != GB_MLP_SWIGLU)
        return gb_errorf(GB_ERR_ARG, "model config: unknown mlp kind %d", (int)c->mlp);
    if (!(c->norm_eps > 0.0f && c->norm_eps < 1.0f))
        return gb_errorf(GB_ERR_ARG, "model config: norm_eps = %g must be in (0, 1)", (double)c->norm_eps);
    if (c->pos == GB_POS_ROPE) {
        int hs = c->d_model / c->n_head;
        if (hs % 2 != 0)
            return gb_errorf(GB_ERR_ARG,
                             "model config: rope needs an even head size, d_model/n_head = %d", hs);
        if (!(c->rope_theta > 1.0f && c->rope_theta < 1e30f))
            return gb_errorf(GB_ERR_ARG, "model config: rope_theta = %g must be > 1",
                             (double)c->rope_theta);
    }
    if (memchr(c->arch, '\0', sizeof c->arch) == NULL || c->arch[0] == '\0')
        return gb_errorf(GB_ERR_ARG, "model config: arch must be a non-empty name of < %zu chars",
                         sizeof c->arch);
    return GB_OK;
}
