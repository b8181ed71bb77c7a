/* See model_fixture.h. */
#include "model_fixture.h"

#include <math.h>

#include "glassbox/train.h"

gb_model *fixture_write_model(const gb_model_config *c, const char *path, uint64_t seed) {
    gb_model *m = NULL;
    if (gb_model_init(&m, c)) return NULL;
    gb_model_init_weights(m, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const gb_tensor_info *t = &m->tensors[i];
        if (t->ndim != 1) continue;
        for (int64_t j = 0; j < t->numel; j++) m->params[t->offset + j] += 0.05f * sinf((float)(j + 3 * i));
    }
    if (gb_ckpt_save(path, NULL, m, NULL, NULL, NULL, NULL)) {
        gb_model_free(m);
        return NULL;
    }
    return m;
}
