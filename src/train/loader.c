/* glassbox — the training data loader: windows of T+1 tokens over the shards of one split
 * of a prepared directory, in a seeded order that a four-field cursor saves and restores.
 *
 * Order: shards in meta.json order; within a shard, its W = (N-1)/T windows either in file
 * order or in a Fisher–Yates permutation drawn from the loader's RNG at the moment the shard
 * is entered. The cursor keeps (epoch, shard, window) and the RNG state as it was just
 * before that draw, so a restored loader redraws the same permutation and continues
 * exactly. Nothing depends on threads or timing. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/fileio.h"
#include "glassbox/mem.h"
#include "glassbox/train.h"

#define META_MAX_BYTES (64u << 20)

static int64_t shard_windows(const gb_loader *L, int64_t i) {
    int64_t n = L->shards[i].n_tokens;
    return n > L->T ? (n - 1) / L->T : 0;
}

/* A shard name from meta.json must be a plain file name inside the directory. */
static int plain_name(const char *s) {
    return s[0] && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\') && strlen(s) < 256;
}

gb_status gb_loader_open(gb_loader *L, const char *dir, const char *split, int T, int shuffle,
                         uint64_t seed) {
    memset(L, 0, sizeof *L);
    L->perm_shard = -1;
    L->T = T;
    L->shuffle = shuffle;
    gb_status rc = GB_OK;
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    size_t plen = strlen(dir) + 32;
    char *meta_path = malloc(plen);
    if (!meta_path) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    snprintf(meta_path, plen, "%s/meta.json", dir);
    if (T < 1) { rc = gb_errorf(GB_ERR_ARG, "sequence length %d must be >= 1", T); goto done; }
    if ((rc = gb_read_file(meta_path, META_MAX_BYTES, &text, &len))) goto done;
    root = cJSON_ParseWithLength(text, len);
    const cJSON *sp = root ? cJSON_GetObjectItemCaseSensitive(root, split) : NULL;
    const cJSON *names = sp ? cJSON_GetObjectItemCaseSensitive(sp, "shards") : NULL;
    if (!root || !cJSON_IsObject(root)) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: not a JSON object", meta_path);
        goto done;
    }
    if (!cJSON_IsArray(names)) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: no \"%s\".\"shards\" list (not a `glassbox data prepare` directory?)",
                       meta_path, split);
        goto done;
    }
    int n = cJSON_GetArraySize(names);
    if (n < 1 || n > 1000000) {
        rc = gb_errorf(GB_ERR_FORMAT, "%s: \"%s\" lists %d shards", meta_path, split, n);
        goto done;
    }
    L->shards = calloc((size_t)n, sizeof *L->shards);
    L->paths = calloc((size_t)n, sizeof *L->paths);
    if (!L->shards || !L->paths) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(names, i);
        if (!cJSON_IsString(it) || !plain_name(it->valuestring)) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: shard %d of \"%s\" is not a plain file name", meta_path, i, split);
            goto done;
        }
        size_t l = strlen(dir) + strlen(it->valuestring) + 2;
        if (!(L->paths[i] = malloc(l))) { rc = gb_errorf(GB_ERR_NOMEM, "out of memory"); goto done; }
        snprintf(L->paths[i], l, "%s/%s", dir, it->valuestring);
        L->n_shards = i + 1;
        if ((rc = gb_shard_open(&L->shards[i], L->paths[i]))) goto done;
        const gb_shard *s = &L->shards[i];
        if (i == 0) {
            memcpy(L->digest, s->tokenizer_digest, 32);
            L->vocab_size = s->vocab_size;
        } else if (memcmp(L->digest, s->tokenizer_digest, 32) != 0) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: made with another tokenizer than %s (digests differ)",
                           L->paths[i], L->paths[0]);
            goto done;
        } else if (s->vocab_size != L->vocab_size) {
            rc = gb_errorf(GB_ERR_FORMAT, "%s: vocabulary size %lld differs from %s's %lld", L->paths[i],
                           (long long)s->vocab_size, L->paths[0], (long long)L->vocab_size);
            goto done;
        }
        L->n_tokens += s->n_tokens;
        L->n_windows += shard_windows(L, i);
    }
    gb_loader_rewind(L, seed);
done:
    if (rc) gb_loader_close(L);
    cJSON_Delete(root);
    gb_free(text);
    free(meta_path);
    return rc;
}

void gb_loader_close(gb_loader *L) {
    if (!L) return;
    for (int i = 0; i < L->n_shards; i++) {
        gb_shard_close(&L->shards[i]);
        free(L->paths[i]);
    }
    free(L->shards);
    free(L->paths);
    free(L->perm);
    memset(L, 0, sizeof *L);
    L->perm_shard = -1;
}

/* Moves the cursor off a used-up shard (or one too short for a window) to the next shard
 * with a window, so a saved cursor always names the window read next, and its rng is the
 * live state from which that shard's permutation is (or was) drawn. */
static void normalize(gb_loader *L) {
    if (L->n_windows == 0) return;
    while (L->cur.window >= shard_windows(L, L->cur.shard)) {
        L->cur.window = 0;
        if (++L->cur.shard == L->n_shards) {
            L->cur.shard = 0;
            L->cur.epoch++;
        }
        L->perm_shard = -1;
        memcpy(L->cur.rng, L->rng.s, sizeof L->cur.rng);
    }
}

void gb_loader_rewind(gb_loader *L, uint64_t seed) {
    gb_rng_seed(&L->rng, seed);
    memset(&L->cur, 0, sizeof L->cur);
    memcpy(L->cur.rng, L->rng.s, sizeof L->cur.rng);
    L->perm_shard = -1;
    normalize(L);
}

/* Makes the current shard's permutation (drawing from the RNG), if it is not made yet. */
static gb_status enter_shard(gb_loader *L) {
    if (L->perm_shard == L->cur.shard || !L->shuffle) return GB_OK;
    int64_t w = shard_windows(L, L->cur.shard);
    memcpy(L->cur.rng, L->rng.s, sizeof L->cur.rng);
    free(L->perm);
    L->perm = NULL;
    if (w > UINT32_MAX) return gb_errorf(GB_ERR_ARG, "%s: too many windows", L->paths[L->cur.shard]);
    if (!(L->perm = malloc((size_t)(w ? w : 1) * sizeof *L->perm))) return gb_errorf(GB_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < w; i++) L->perm[i] = (uint32_t)i;
    for (int64_t i = w - 1; i > 0; i--) {
        int64_t j = (int64_t)gb_rng_below(&L->rng, (uint64_t)i + 1);
        uint32_t t = L->perm[i];
        L->perm[i] = L->perm[j];
        L->perm[j] = t;
    }
    L->perm_shard = L->cur.shard;
    return GB_OK;
}

gb_status gb_loader_next(gb_loader *L, int32_t *inputs, int32_t *targets, int B) {
    if (L->n_windows == 0)
        return gb_errorf(GB_ERR_ARG, "%s: no sequence of %d+1 tokens in this split", L->n_shards ? L->paths[0] : "data",
                         L->T);
    const int T = L->T;
    for (int b = 0; b < B; b++) {
        gb_status rc = enter_shard(L);
        if (rc) return rc;
        int64_t w = L->shuffle ? L->perm[L->cur.window] : L->cur.window;
        const gb_shard *s = &L->shards[L->cur.shard];
        int64_t start = w * T;
        for (int t = 0; t < T; t++) {
            inputs[(size_t)b * T + t] = (int32_t)gb_shard_token(s, start + t);
            targets[(size_t)b * T + t] = (int32_t)gb_shard_token(s, start + t + 1);
        }
        L->cur.window++;
        normalize(L);
    }
    return GB_OK;
}

void gb_loader_get_cursor(const gb_loader *L, gb_data_cursor *c) { *c = L->cur; }

gb_status gb_loader_set_cursor(gb_loader *L, const gb_data_cursor *c) {
    if (c->epoch < 0 || c->shard < 0 || c->shard >= L->n_shards || c->window < 0 ||
        c->window >= shard_windows(L, c->shard))
        return gb_errorf(GB_ERR_FORMAT,
                         "data cursor (epoch %lld, shard %lld, window %lld) does not fit the data (%d shards)",
                         (long long)c->epoch, (long long)c->shard, (long long)c->window, L->n_shards);
    L->cur = *c;
    memcpy(L->rng.s, c->rng, sizeof L->rng.s);
    L->perm_shard = -1;
    return GB_OK;
}
