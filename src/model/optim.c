/* glassbox — AdamW and gradient-norm clipping over the model's parameter block.
 *
 * The scalars are computed in double and rounded to float once, the way torch.optim.AdamW's
 * Python code hands Python floats to float32 tensor ops, so the two agree to rounding. */
#include <math.h>
#include <string.h>

#include "core/kernels.h"
#include "glassbox/mem.h"
#include "glassbox/model.h"

gb_status gb_adamw_init(gb_adamw *opt, int64_t n, float beta1, float beta2, float eps,
                        float weight_decay) {
    memset(opt, 0, sizeof *opt);
    opt->beta1 = beta1, opt->beta2 = beta2, opt->eps = eps, opt->weight_decay = weight_decay;
    opt->n = n;
    opt->m = n >= 0 ? gb_calloc((size_t)n, sizeof(float)) : NULL;
    opt->v = n >= 0 ? gb_calloc((size_t)n, sizeof(float)) : NULL;
    if (!opt->m || !opt->v) {
        gb_adamw_free(opt);
        return gb_errorf(GB_ERR_NOMEM, "adamw: cannot allocate moments for %lld parameters",
                         (long long)n);
    }
    return GB_OK;
}

void gb_adamw_free(gb_adamw *opt) {
    gb_free(opt->m);
    gb_free(opt->v);
    opt->m = opt->v = NULL;
}

enum { ADAMW_CHUNK = 16384 }; /* floats per task of the fused AdamW loop */

/* 1 if the tensors are sorted by offset and do not overlap (a model's table is) */
static int in_block_order(const gb_tensor_info *t, int n) {
    if (n < 1) return 0;
    for (int i = 1; i < n; i++)
        if (t[i].offset < t[i - 1].offset + t[i - 1].numel) return 0;
    return 1;
}

/* the first tensor that ends after lo (ends are non-decreasing in block order) */
static int first_ending_after(const gb_tensor_info *t, int n, int64_t lo) {
    int a = 0, b = n;
    while (a < b) {
        int mid = a + (b - a) / 2;
        if (t[mid].offset + t[mid].numel > lo) b = mid;
        else a = mid + 1;
    }
    return a;
}

void gb_adamw_step_tensors(gb_adamw *opt, float *params, const float *grads,
                           const gb_tensor_info *tensors, int n_tensors, float lr) {
    GB_ASSERT(grads && opt->m);
    opt->step++;
    double b1 = opt->beta1, b2 = opt->beta2, t = (double)opt->step;
    gb_adamw_scalars s = {
        .beta1 = (float)b1,
        .one_minus_beta1 = (float)(1.0 - b1),
        .beta2 = (float)b2,
        .one_minus_beta2 = (float)(1.0 - b2),
        .eps = opt->eps,
        .step_size = (float)((double)lr / (1.0 - pow(b1, t))),
        .bc2_sqrt = (float)sqrt(1.0 - pow(b2, t)),
    };
    float decay_mul = (float)(1.0 - (double)lr * (double)opt->weight_decay);
    for (int i = 0; i < n_tensors; i++)
        GB_ASSERT(tensors[i].offset >= 0 && tensors[i].numel >= 0 &&
                  tensors[i].offset + tensors[i].numel <= opt->n);
    if (in_block_order(tensors, n_tensors)) {
        /* one parallel loop over fixed chunks of the block (not one per tensor: a model has
         * hundreds of small ones); each chunk updates the pieces of the tensors it covers */
        int64_t end = tensors[n_tensors - 1].offset + tensors[n_tensors - 1].numel;
        int64_t nch = (end + ADAMW_CHUNK - 1) / ADAMW_CHUNK;
#pragma omp parallel for schedule(static)
        for (int64_t ch = 0; ch < nch; ch++) {
            int64_t lo = ch * ADAMW_CHUNK, hi = lo + ADAMW_CHUNK < end ? lo + ADAMW_CHUNK : end;
            gb_adamw_scalars st = s;
            for (int i = first_ending_after(tensors, n_tensors, lo); i < n_tensors && tensors[i].offset < hi; i++) {
                int64_t a = tensors[i].offset > lo ? tensors[i].offset : lo;
                int64_t b = tensors[i].offset + tensors[i].numel < hi ? tensors[i].offset + tensors[i].numel : hi;
                if (a >= b) continue;
                st.decay_mul = tensors[i].decay ? decay_mul : 1.0f;
                gb_adamw_update_serial(params + a, grads + a, opt->m + a, opt->v + a, b - a, &st);
            }
        }
        return;
    }
    for (int i = 0; i < n_tensors; i++) {
        const gb_tensor_info *ti = &tensors[i];
        s.decay_mul = ti->decay ? decay_mul : 1.0f;
        int64_t o = ti->offset;
        gb_adamw_update(params + o, grads + o, opt->m + o, opt->v + o, ti->numel, &s);
    }
}

void gb_adamw_step(gb_adamw *opt, gb_model *m, float lr) {
    GB_ASSERT(opt->n == m->n_floats);
    gb_adamw_step_tensors(opt, m->params, m->grads, m->tensors, m->n_tensors, lr);
}

float gb_model_clip_grad_norm(gb_model *m, float max_norm) {
    GB_ASSERT(m->grads);
    float norm = (float)sqrt(gb_sumsq(m->grads, m->n_floats));
    if (max_norm > 0.0f) { /* torch: coef = max_norm / (norm + 1e-6), clamped to 1 */
        float coef = max_norm / (norm + 1e-6f);
        if (coef < 1.0f) gb_scale(m->grads, coef, m->n_floats);
    }
    return norm;
}
