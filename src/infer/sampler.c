/* glassbox — the sampler: logits → next token, with log-probabilities.
 *
 * Order of operations (docs/chat.md has the formulas):
 *   1. penalties over the last repeat_last_n accepted tokens, each distinct token once:
 *      repetition (llama.cpp: l/r if l > 0 else l·r), then frequency and presence
 *      (OpenAI: l -= count·f + (count > 0)·p);
 *   2. temperature 0: argmax (lowest id on ties) — no randomness;
 *   3. otherwise l/T, softmax, then top-k, top-p (smallest prefix of the sorted tokens whose
 *      mass reaches top_p), min-p (p >= min_p·p_max), renormalise, draw with the seeded RNG.
 * Logprobs are log-softmax after step 1 and the temperature (untempered when greedy), over
 * the whole vocabulary: the truncation filters decide what may be drawn, not how likely the
 * model found it. Every buffer is sized at creation: sampling allocates nothing. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox/infer.h"
#include "glassbox/rng.h"

typedef struct cand {
    float p; /* probability (unnormalised after filtering) */
    uint32_t id;
} cand;

struct gb_sampler {
    gb_sampler_params p;
    int64_t n_vocab;
    gb_rng rng;
    float *work;      /* (n_vocab) penalised, tempered logits */
    cand *cands;      /* (n_vocab) candidates */
    int32_t *counts;  /* (n_vocab) occurrences of each token in the window */
    uint32_t *stamp;  /* (n_vocab) call number that last penalised the token */
    uint32_t call;
    uint32_t *ring;   /* (repeat_last_n) last accepted tokens */
    int64_t ring_len, ring_head;
};

void gb_sampler_params_default(gb_sampler_params *p) {
    *p = (gb_sampler_params){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .frequency_penalty = 0.0f,
        .presence_penalty = 0.0f,
        .seed = 0,
    };
}

gb_status gb_sampler_new(gb_sampler **out, const gb_sampler_params *p, int64_t n_vocab) {
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > (int64_t)UINT32_MAX)
        return gb_errorf(GB_ERR_ARG, "sampler: vocabulary size %lld out of range", (long long)n_vocab);
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
        return gb_errorf(GB_ERR_ARG, "temperature %g must be a finite number >= 0", (double)p->temperature);
    if (p->top_k < 0) return gb_errorf(GB_ERR_ARG, "top-k %d must be >= 0", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return gb_errorf(GB_ERR_ARG, "top-p %g must be in (0, 1]", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return gb_errorf(GB_ERR_ARG, "min-p %g must be in [0, 1]", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return gb_errorf(GB_ERR_ARG, "repeat penalty %g must be > 0", (double)p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 24))
        return gb_errorf(GB_ERR_ARG, "repeat-last-n %d must be in [0, 16777216]", p->repeat_last_n);
    if (!isfinite(p->frequency_penalty) || !isfinite(p->presence_penalty))
        return gb_errorf(GB_ERR_ARG, "frequency/presence penalties must be finite");

    gb_sampler *s = calloc(1, sizeof *s);
    if (!s) return gb_errorf(GB_ERR_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    gb_rng_seed(&s->rng, p->seed);
    size_t nv = (size_t)n_vocab;
    s->work = malloc(nv * sizeof *s->work);
    s->cands = malloc(nv * sizeof *s->cands);
    s->counts = calloc(nv, sizeof *s->counts);
    s->stamp = calloc(nv, sizeof *s->stamp);
    s->ring = malloc((size_t)(p->repeat_last_n > 0 ? p->repeat_last_n : 1) * sizeof *s->ring);
    if (!s->work || !s->cands || !s->counts || !s->stamp || !s->ring) {
        gb_sampler_free(s);
        return gb_errorf(GB_ERR_NOMEM, "sampler: out of memory for %lld tokens", (long long)n_vocab);
    }
    *out = s;
    return GB_OK;
}

void gb_sampler_free(gb_sampler *s) {
    if (!s) return;
    free(s->work);
    free(s->cands);
    free(s->counts);
    free(s->stamp);
    free(s->ring);
    free(s);
}

void gb_sampler_accept(gb_sampler *s, uint32_t token) {
    int64_t n = s->p.repeat_last_n;
    if (n <= 0 || token >= (uint64_t)s->n_vocab) return;
    if (s->ring_len == n) { /* evict the oldest */
        uint32_t old = s->ring[s->ring_head];
        s->counts[old]--;
        s->ring[s->ring_head] = token;
        s->ring_head = (s->ring_head + 1) % n;
    } else {
        s->ring[(s->ring_head + s->ring_len) % n] = token;
        s->ring_len++;
    }
    s->counts[token]++;
}

/* Step 1: work = logits with the three penalties applied to each token of the window. */
static void apply_penalties(gb_sampler *s, const float *logits) {
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *s->work);
    for (int64_t i = 0; i < s->n_vocab; i++)
        if (isnan(s->work[i])) s->work[i] = -INFINITY;
    const float rp = s->p.repeat_penalty, fp = s->p.frequency_penalty, pp = s->p.presence_penalty;
    if (s->ring_len == 0 || (rp == 1.0f && fp == 0.0f && pp == 0.0f)) return;
    if (++s->call == 0) { /* stamps wrapped: start over so none looks current */
        memset(s->stamp, 0, (size_t)s->n_vocab * sizeof *s->stamp);
        s->call = 1;
    }
    int64_t n = s->p.repeat_last_n;
    for (int64_t k = 0; k < s->ring_len; k++) {
        uint32_t t = s->ring[(s->ring_head + k) % n];
        if (s->stamp[t] == s->call) continue;
        s->stamp[t] = s->call;
        float l = s->work[t];
        if (rp != 1.0f) l = l > 0.0f ? l / rp : l * rp;
        l -= (float)s->counts[t] * fp + (float)(s->counts[t] > 0) * pp;
        s->work[t] = l;
    }
}

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Inserts (id, lp) into top[0..*n) kept best first (ties: lower id first), at most cap. */
static void top_insert(gb_token_logprob *top, int *n, int cap, uint32_t id, float lp) {
    int i = *n < cap ? (*n)++ : cap;
    if (i == cap && !(lp > top[cap - 1].logprob)) return;
    if (i == cap) i = cap - 1;
    while (i > 0 && lp > top[i - 1].logprob) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = (gb_token_logprob){id, lp};
}

/* Keeps the candidates that top-k, top-p and min-p allow; returns how many (>= 1), sorted
 * best first. cands[0..n) hold probabilities summing to ~1 on entry. */
static int64_t truncate_cands(const gb_sampler *s, cand *c, int64_t n) {
    const int k = s->p.top_k;
    const float top_p = s->p.top_p, min_p = s->p.min_p;
    if (k == 0 && top_p >= 1.0f && min_p <= 0.0f) return n; /* nothing to do: no sort */
    /* Only the head of the sorted list matters, so tokens below t = 1/n are set aside before
     * sorting when that cannot change the result: when top-k keeps only tokens above t, or
     * (top-k off) when min-p drops everything below t anyway, or the mass below t is less
     * than 1 - top_p so the nucleus ends before reaching it. The nucleus is measured
     * against the mass of the unpruned top-k set (all tokens when top-k is off). */
    float pmax = 0.0f;
    double total = 0.0, small = 0.0;
    const float t = 1.0f / (float)n;
    int64_t n_big = 0;
    for (int64_t i = 0; i < n; i++) {
        total += c[i].p;
        if (c[i].p > pmax) pmax = c[i].p;
        if (c[i].p < t)
            small += c[i].p;
        else
            n_big++;
    }
    int prune = 0;
    if (k > 0)
        prune = n_big >= k;
    else
        prune = (min_p > 0.0f && min_p * pmax > t) ||
                (top_p < 1.0f && small < (1.0 - (double)top_p) - 1e-6);
    if (prune && n_big > 0) {
        int64_t j = 0;
        for (int64_t i = 0; i < n; i++)
            if (c[i].p >= t) c[j++] = c[i];
        n = j;
    }
    qsort(c, (size_t)n, sizeof *c, cand_cmp);
    if (k > 0 && n > k) n = k;
    if (top_p < 1.0f) {
        double sum = total, cum = 0.0;
        if (k > 0) {
            sum = 0.0;
            for (int64_t i = 0; i < n; i++) sum += c[i].p;
        }
        for (int64_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= (double)top_p * sum) {
                n = i + 1;
                break;
            }
        }
    }
    if (min_p > 0.0f) {
        float floor_p = min_p * c[0].p;
        int64_t j = 1;
        while (j < n && c[j].p >= floor_p) j++;
        n = j;
    }
    return n;
}

/* Penalties and temperature into s->work; returns the greedy choice, its logit in *mx and
 * the log partition function of work - mx in *log_z. */
static uint32_t prepare(gb_sampler *s, const float *logits, float *mx, float *log_z, double *sum) {
    const int64_t V = s->n_vocab;
    apply_penalties(s, logits);
    float *w = s->work;
    if (s->p.temperature != 0.0f) {
        const float inv_t = 1.0f / s->p.temperature;
        for (int64_t i = 0; i < V; i++) w[i] *= inv_t;
    }
    int64_t best = 0; /* the lowest id on ties */
    for (int64_t i = 1; i < V; i++)
        if (w[i] > w[best]) best = i;
    *mx = w[best];
    *sum = 0.0;
    if (*mx > -INFINITY) /* all -inf: nothing to normalise */
        for (int64_t i = 0; i < V; i++) *sum += exp((double)(w[i] - *mx));
    *log_z = *mx > -INFINITY ? (float)log(*sum) : 0.0f;
    return (uint32_t)best;
}

/* The drawable candidates, best first, in s->cands; returns how many. */
static int64_t candidates(gb_sampler *s, uint32_t best, float mx, double sum) {
    cand *c = s->cands;
    if (s->p.temperature == 0.0f || !(mx > -INFINITY)) {
        c[0] = (cand){1.0f, best};
        return 1;
    }
    const float *w = s->work;
    for (int64_t i = 0; i < s->n_vocab; i++)
        c[i] = (cand){(float)(exp((double)(w[i] - mx)) / sum), (uint32_t)i};
    return truncate_cands(s, c, s->n_vocab);
}

int64_t gb_sampler_candidates(gb_sampler *s, const float *logits, uint32_t *ids, float *probs) {
    float mx, log_z;
    double sum;
    uint32_t best = prepare(s, logits, &mx, &log_z, &sum);
    int64_t n = candidates(s, best, mx, sum);
    double mass = 0.0;
    for (int64_t i = 0; i < n; i++) mass += s->cands[i].p;
    for (int64_t i = 0; i < n; i++) {
        ids[i] = s->cands[i].id;
        probs[i] = (float)(s->cands[i].p / mass);
    }
    return n;
}

uint32_t gb_sampler_sample(gb_sampler *s, const float *logits, gb_token_logprob *chosen,
                           gb_token_logprob *top, int n_top) {
    const int64_t V = s->n_vocab;
    float mx, log_z;
    double sum;
    uint32_t pick = prepare(s, logits, &mx, &log_z, &sum);
    if (s->p.temperature != 0.0f && mx > -INFINITY) {
        const cand *c = s->cands;
        int64_t n = candidates(s, pick, mx, sum);
        double mass = 0.0;
        for (int64_t i = 0; i < n; i++) mass += c[i].p;
        /* 53 random bits: the draw resolves any probability a float can hold */
        double u = (double)(gb_rng_u64(&s->rng) >> 11) * 0x1p-53 * mass, cum = 0.0;
        pick = c[n - 1].id;
        for (int64_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (u < cum) {
                pick = c[i].id;
                break;
            }
        }
    }
    const float *w = s->work;
    if (chosen) *chosen = (gb_token_logprob){pick, w[pick] - mx - log_z};
    if (top && n_top > 0) {
        if (n_top > V) n_top = (int)V;
        int have = 0;
        for (int64_t i = 0; i < V; i++) top_insert(top, &have, n_top, (uint32_t)i, w[i] - mx - log_z);
    }
    return pick;
}
