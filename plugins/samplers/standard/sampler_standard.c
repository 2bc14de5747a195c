/* plugins/samplers/standard/sampler_standard.c -- the standard sampling chain.
 *
 * One sampler per sequence.  sample() runs, in this fixed order:
 *
 *   1. model distribution   log-softmax of the raw logits -> logprob, top_logprobs
 *   2. repetition_penalty   prompt + generated tokens: z > 0 ? z / r : z * r
 *   3. frequency/presence   generated tokens: z -= count * f + (count > 0) * p
 *   4. logit_bias           z += bias
 *   5. ignore_eos           eos ids -> -inf
 *   6. grammar mask         disallowed -> -inf (nothing allowed: an error)
 *   7. temperature          z / T; T < 1e-5 is greedy: argmax of the above, done
 *   8. truncation           mirostat 2.0, or else top_k -> typical_p -> top_p -> min_p
 *   9. draw                 one uniform from the sampler's xoshiro256** stream
 *
 * Steps 2-6 edit the caller's logits in place (after sample() they hold the
 * processed logits, before temperature); the raw values of the edited tokens
 * are kept in an undo log so step 1's logprob is of the model's own logits.
 * No step sorts the vocabulary: top_k is a size-k heap, the mass cutoffs are
 * radix histograms (chain.c).  Nothing is allocated per call: the scratch
 * arrays are sized at create().
 */
#include "sampler_standard.h"

#include "chain.h"
#include "err.h" /* core/err.c, a private copy in the plugin */
#include "history.h"
#include "rng.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOP_K 100
#define MAX_VOCAB (1 << 26)
#define MIROSTAT_DEFAULT_LR 0.1f
/* Temperatures below this are greedy: 1 / T would overflow the exponent
 * (vLLM draws the same line). */
#define GREEDY_BELOW_T 1e-5f

static const fw_host_api *g_host; /* the plugin's one global */

struct fw_sampler {
    fw_sampling_params p;  /* a copy; its pointers are cleared (see below) */
    fw_logit_bias *bias;   /* (p.n_logit_bias) */
    int32_t *eos;          /* (p.n_eos) */
    int32_t track_prompt;  /* repetition_penalty != 1: prompt tokens count */
    int32_t track_out;     /* any penalty on: generated tokens count */
    fw_smp_history hist;
    uint64_t seed;         /* params seed, or one from the clock */
    fw_smp_rng rng;
    int32_t mirostat;      /* 1 when mirostat_target > 0 */
    float mu;              /* Mirostat: surprise bound in bits, 2 tau at first */
    int32_t pending;       /* 1 when last_token was sampled and not yet accepted */
    int32_t last_token;
    float last_surprise;   /* -log2 of its probability under the truncated distribution */
    fw_status failed;      /* an allocation in accept() failed; sample() reports it */
    /* Undo log: raw logits of tokens edited by steps 2-5, in edit order. */
    int32_t *undo_tok;     /* (undo_cap) */
    float *undo_val;       /* (undo_cap) */
    int32_t undo_cap, n_undo;
    /* Whole-vocabulary candidates (NULL when top_k or greedy makes them unneeded). */
    float *w;              /* (n_vocab) */
    int32_t *id;           /* (n_vocab) */
    uint32_t *key;         /* (n_vocab) */
    /* top_k candidates. */
    float kval[MAX_TOP_K], kw[MAX_TOP_K];
    int32_t kid[MAX_TOP_K];
    uint32_t kkey[MAX_TOP_K];
    fw_smp_radix radix;
};

/* ---- parameters ---- */

static fw_status check_range(const char *name, double v, double lo, double hi, fw_err *err)
{
    if (v >= lo && v <= hi) /* false for NaN */
        return FW_OK;
    return fw_err_set(err, FW_ERR_INVALID, "%s: %g is out of range [%g, %g]", name, v, lo, hi);
}

static fw_status check_params(const fw_sampling_params *p, fw_err *err)
{
    const size_t v10 = offsetof(fw_sampling_params, top_logprobs) + sizeof p->top_logprobs;
    fw_status st = FW_OK;

    if (!p)
        return fw_err_set(err, FW_ERR_INVALID, "sampling params: NULL");
    if (p->struct_size < v10)
        return fw_err_set(err, FW_ERR_INVALID, "sampling params: struct_size %u < %zu (ABI 1.0)",
                       (unsigned)p->struct_size, v10);
    if (p->n_vocab < 1 || p->n_vocab > MAX_VOCAB)
        return fw_err_set(err, FW_ERR_INVALID, "n_vocab: %d is out of range [1, %d]",
                       (int)p->n_vocab, MAX_VOCAB);
    if (p->top_k < 0 || p->top_k > MAX_TOP_K)
        return fw_err_set(err, FW_ERR_INVALID, "top_k: %d is out of range [0, %d]",
                       (int)p->top_k, MAX_TOP_K);
    if (p->top_logprobs < 0 || p->top_logprobs > FW_MAX_TOP_LOGPROBS)
        return fw_err_set(err, FW_ERR_INVALID, "top_logprobs: %d is out of range [0, %d]",
                       (int)p->top_logprobs, FW_MAX_TOP_LOGPROBS);
    if ((st = check_range("temperature", p->temperature, 0, 2, err)) ||
        (st = check_range("top_p", p->top_p, 0, 1, err)) ||
        (st = check_range("min_p", p->min_p, 0, 1, err)) ||
        (st = check_range("typical_p", p->typical_p, 0, 1, err)) ||
        (st = check_range("frequency_penalty", p->frequency_penalty, -2, 2, err)) ||
        (st = check_range("presence_penalty", p->presence_penalty, -2, 2, err)) ||
        (st = check_range("repetition_penalty", p->repetition_penalty, 0, 2, err)) ||
        (st = check_range("mirostat_target", p->mirostat_target, 0, 1000, err)) ||
        (st = check_range("mirostat_lr", p->mirostat_lr, 0, 1, err)))
        return st;
    /* z / 0 has no meaning: the spec's range includes 0, the formula does not. */
    if (p->repetition_penalty == 0)
        return fw_err_set(err, FW_ERR_INVALID, "repetition_penalty: must be > 0 (1 = off)");
    if (p->n_logit_bias < 0 || (p->n_logit_bias > 0 && !p->logit_bias))
        return fw_err_set(err, FW_ERR_INVALID, "logit_bias: %d entries but no array",
                       (int)p->n_logit_bias);
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        const fw_logit_bias *b = &p->logit_bias[i];
        if (b->token < 0 || b->token >= p->n_vocab)
            return fw_err_set(err, FW_ERR_INVALID,
                           "logit_bias: token id %d is out of range [0, %d)", (int)b->token,
                           (int)p->n_vocab);
        if (!(b->bias >= -100 && b->bias <= 100))
            return fw_err_set(err, FW_ERR_INVALID,
                           "logit_bias: bias %g for token %d is out of range [-100, 100]",
                           (double)b->bias, (int)b->token);
    }
    if (p->n_eos < 0 || (p->n_eos > 0 && !p->eos_ids))
        return fw_err_set(err, FW_ERR_INVALID, "eos_ids: %d entries but no array", (int)p->n_eos);
    for (int32_t i = 0; i < p->n_eos; i++)
        if (p->eos_ids[i] < 0 || p->eos_ids[i] >= p->n_vocab)
            return fw_err_set(err, FW_ERR_INVALID, "eos_ids: token id %d is out of range [0, %d)",
                           (int)p->eos_ids[i], (int)p->n_vocab);
    if (p->n_prompt < 0 || (p->n_prompt > 0 && !p->prompt))
        return fw_err_set(err, FW_ERR_INVALID, "prompt: %d tokens but no array", (int)p->n_prompt);
    for (int32_t i = 0; i < p->n_prompt; i++)
        if (p->prompt[i] < 0 || p->prompt[i] >= p->n_vocab)
            return fw_err_set(err, FW_ERR_INVALID,
                           "prompt: token %d at %d is out of range [0, %d)", (int)p->prompt[i],
                           (int)i, (int)p->n_vocab);
    return FW_OK;
}

/* ---- allocation ---- */

static void sampler_free(fw_sampler *s)
{
    if (!s)
        return;
    free(s->bias);
    free(s->eos);
    fw_smp_history_deinit(&s->hist);
    free(s->undo_tok);
    free(s->undo_val);
    free(s->w);
    free(s->id);
    free(s->key);
    free(s);
}

/* The undo log holds one entry per possible edit: each tracked token once,
 * each bias, each eos id. */
static fw_status ensure_undo(fw_sampler *s)
{
    int64_t need = (int64_t)s->hist.n + s->p.n_logit_bias + s->p.n_eos;
    int32_t cap = s->undo_cap ? s->undo_cap : 16;
    int32_t *tok;
    float *val;

    if (need <= s->undo_cap)
        return FW_OK;
    if (need > INT32_MAX / 2)
        return FW_ERR_NOMEM;
    while (cap < need)
        cap *= 2;
    tok = realloc(s->undo_tok, (size_t)cap * sizeof *tok);
    if (!tok)
        return FW_ERR_NOMEM;
    s->undo_tok = tok;
    val = realloc(s->undo_val, (size_t)cap * sizeof *val);
    if (!val)
        return FW_ERR_NOMEM;
    s->undo_val = val;
    s->undo_cap = cap;
    return FW_OK;
}

static int is_greedy(const fw_sampler *s) { return s->p.temperature < GREEDY_BELOW_T; }

/* Whole-vocabulary candidates are needed unless every draw is greedy or
 * comes from the top_k heap. */
static int needs_full_scratch(const fw_sampler *s)
{
    return !is_greedy(s) && (s->p.top_k == 0 || s->mirostat);
}

static fw_status alloc_scratch(fw_sampler *s)
{
    size_t n = (size_t)s->p.n_vocab;

    if (!needs_full_scratch(s))
        return FW_OK;
    s->w = malloc(n * sizeof *s->w);
    s->id = malloc(n * sizeof *s->id);
    s->key = malloc(n * sizeof *s->key);
    return s->w && s->id && s->key ? FW_OK : FW_ERR_NOMEM;
}

static fw_status smp_create(const fw_sampling_params *p, fw_sampler **out, fw_err *err)
{
    fw_sampler *s;
    fw_status st;

    if (!out)
        return fw_err_set(err, FW_ERR_INVALID, "sampler create: NULL out");
    *out = NULL;
    if ((st = check_params(p, err)) != FW_OK)
        return st;
    s = calloc(1, sizeof *s);
    if (!s)
        return fw_err_set(err, FW_ERR_NOMEM, "sampler: out of memory");
    memcpy(&s->p, p, sizeof s->p);
    s->p.struct_size = sizeof s->p;
    s->p.logit_bias = NULL; /* borrowed only for create(): copied below */
    s->p.eos_ids = NULL;
    s->p.prompt = NULL;
    s->p.n_prompt = 0;
    fw_smp_history_init(&s->hist);
    s->mirostat = p->mirostat_target > 0;
    if (s->mirostat) {
        if (s->p.mirostat_lr == 0)
            s->p.mirostat_lr = MIROSTAT_DEFAULT_LR;
        s->mu = 2 * p->mirostat_target;
    }
    s->track_prompt = p->repetition_penalty != 1.0f;
    s->track_out = s->track_prompt || p->frequency_penalty != 0 || p->presence_penalty != 0;

    if (p->n_logit_bias > 0) {
        s->bias = malloc((size_t)p->n_logit_bias * sizeof *s->bias);
        if (!s->bias)
            goto nomem;
        memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
    }
    if (p->n_eos > 0) {
        s->eos = malloc((size_t)p->n_eos * sizeof *s->eos);
        if (!s->eos)
            goto nomem;
        memcpy(s->eos, p->eos_ids, (size_t)p->n_eos * sizeof *s->eos);
    }
    if (s->track_prompt)
        for (int32_t i = 0; i < p->n_prompt; i++)
            if (fw_smp_history_add(&s->hist, p->prompt[i], 1) != FW_OK)
                goto nomem;
    if (ensure_undo(s) != FW_OK || alloc_scratch(s) != FW_OK)
        goto nomem;

    if (p->has_seed) {
        s->seed = p->seed;
    } else {
        uint64_t t = g_host && FW_HAS(g_host, fw_host_api, clock_ns) ? g_host->clock_ns() : 0;
        uint64_t x = t ^ (uint64_t)(uintptr_t)s;
        s->seed = fw_smp_splitmix64(&x);
    }
    fw_smp_rng_seed(&s->rng, s->seed, 0);
    *out = s;
    return FW_OK;

nomem:
    sampler_free(s);
    return fw_err_set(err, FW_ERR_NOMEM, "sampler: out of memory (n_vocab %d)", (int)p->n_vocab);
}

static void smp_destroy(fw_sampler *s) { sampler_free(s); }

static fw_status smp_clone(const fw_sampler *src, uint64_t stream, fw_sampler **out, fw_err *err)
{
    fw_sampler *s;

    if (!src || !out)
        return fw_err_set(err, FW_ERR_INVALID, "sampler clone: NULL argument");
    *out = NULL;
    s = malloc(sizeof *s);
    if (!s)
        return fw_err_set(err, FW_ERR_NOMEM, "sampler clone: out of memory");
    memcpy(s, src, sizeof *s);
    s->bias = NULL;
    s->eos = NULL;
    s->undo_tok = NULL;
    s->undo_val = NULL;
    s->undo_cap = 0;
    s->w = NULL;
    s->id = NULL;
    s->key = NULL;
    fw_smp_history_init(&s->hist);
    if (src->p.n_logit_bias > 0) {
        s->bias = malloc((size_t)src->p.n_logit_bias * sizeof *s->bias);
        if (!s->bias)
            goto nomem;
        memcpy(s->bias, src->bias, (size_t)src->p.n_logit_bias * sizeof *s->bias);
    }
    if (src->p.n_eos > 0) {
        s->eos = malloc((size_t)src->p.n_eos * sizeof *s->eos);
        if (!s->eos)
            goto nomem;
        memcpy(s->eos, src->eos, (size_t)src->p.n_eos * sizeof *s->eos);
    }
    if (fw_smp_history_copy(&s->hist, &src->hist) != FW_OK || ensure_undo(s) != FW_OK ||
        alloc_scratch(s) != FW_OK)
        goto nomem;
    /* A fresh start of stream `stream` of the same seed: reproducible, and
     * distinct from every other stream (stream 0 is the original's). */
    fw_smp_rng_seed(&s->rng, s->seed, stream);
    *out = s;
    return FW_OK;

nomem:
    sampler_free(s);
    return fw_err_set(err, FW_ERR_NOMEM, "sampler clone: out of memory");
}

static void smp_accept(fw_sampler *s, int32_t token)
{
    if (!s || token < 0 || token >= s->p.n_vocab)
        return;
    if (s->track_out) {
        if (fw_smp_history_add(&s->hist, token, 0) != FW_OK || ensure_undo(s) != FW_OK)
            s->failed = FW_ERR_NOMEM;
    }
    /* Mirostat learns from the surprise of the token it drew itself. */
    if (s->mirostat && s->pending && token == s->last_token)
        s->mu -= s->p.mirostat_lr * (s->last_surprise - s->p.mirostat_target);
    s->pending = 0;
}

float fw_sampler_standard_mu(const fw_sampler *s) { return s && s->mirostat ? s->mu : 0.0f; }

/* ---- sample ---- */

static void edit(fw_sampler *s, float *z, int32_t token, float value)
{
    s->undo_tok[s->n_undo] = token;
    s->undo_val[s->n_undo] = z[token];
    s->n_undo++;
    z[token] = value;
}

/* Steps 2-5: sparse edits, each logged. */
static void apply_edits(fw_sampler *s, float *z)
{
    const float rep = s->p.repetition_penalty;
    const float freq = s->p.frequency_penalty, pres = s->p.presence_penalty;

    s->n_undo = 0;
    for (int32_t i = 0; i < s->hist.cap; i++) {
        const fw_smp_hist_entry *e = &s->hist.slot[i];
        float v, nv;
        if (e->token < 0)
            continue;
        v = z[e->token];
        nv = v;
        if (rep != 1.0f && (e->in_prompt || e->n_out > 0))
            nv = nv > 0 ? nv / rep : nv * rep;
        if (e->n_out > 0)
            nv -= (float)e->n_out * freq + pres;
        if (nv != v)
            edit(s, z, e->token, nv);
    }
    for (int32_t i = 0; i < s->p.n_logit_bias; i++)
        edit(s, z, s->bias[i].token, z[s->bias[i].token] + s->bias[i].bias);
    if (s->p.ignore_eos)
        for (int32_t i = 0; i < s->p.n_eos; i++)
            edit(s, z, s->eos[i], -INFINITY);
}

/* Step 6: returns how many tokens the mask allows.  Partial words are
 * applied with and-masks on the float bits, a form the vectorizer takes. */
static int64_t apply_mask(float *z, int32_t n_vocab, const uint32_t *mask)
{
    static const uint32_t bit[32] = {
        1u << 0,  1u << 1,  1u << 2,  1u << 3,  1u << 4,  1u << 5,  1u << 6,  1u << 7,
        1u << 8,  1u << 9,  1u << 10, 1u << 11, 1u << 12, 1u << 13, 1u << 14, 1u << 15,
        1u << 16, 1u << 17, 1u << 18, 1u << 19, 1u << 20, 1u << 21, 1u << 22, 1u << 23,
        1u << 24, 1u << 25, 1u << 26, 1u << 27, 1u << 28, 1u << 29, 1u << 30, 1u << 31,
    };
    const float neg_inf = -INFINITY;
    uint32_t ninf;
    int64_t allowed = 0;

    memcpy(&ninf, &neg_inf, sizeof ninf);
    for (int32_t base = 0; base < n_vocab; base += 32) {
        uint32_t bits = mask[base / 32];
        int32_t lim = n_vocab - base < 32 ? n_vocab - base : 32;
        if (lim < 32)
            bits &= (1u << lim) - 1;
        allowed += __builtin_popcount(bits);
        if (bits == 0xFFFFFFFFu)
            continue;
        if (lim == 32) {
            for (int b = 0; b < 32; b++) {
                float x = z[base + b];
                uint32_t xb, keep = 0u - (uint32_t)((bits & bit[b]) != 0);
                memcpy(&xb, &x, sizeof xb);
                xb = (xb & keep) | (ninf & ~keep);
                memcpy(&x, &xb, sizeof x);
                z[base + b] = x;
            }
        } else {
            for (int32_t b = 0; b < lim; b++)
                if (!((bits >> b) & 1u))
                    z[base + b] = -INFINITY;
        }
    }
    return allowed;
}

/* The raw logit of token: its first logged value, else the current one. */
static float raw_logit(const fw_sampler *s, const float *z, int32_t token)
{
    for (int32_t i = 0; i < s->n_undo; i++)
        if (s->undo_tok[i] == token)
            return s->undo_val[i];
    return z[token];
}

/* The first index holding v, the maximum of z: blocks whose (vectorized)
 * maximum is below v are skipped whole. */
static int32_t first_index_of_max(const float *z, int32_t n, float v)
{
    for (int32_t b = 0; b < n; b += 64) {
        int32_t end = n - b < 64 ? n : b + 64;
        if (fw_smp_max(z + b, end - b) < v)
            continue;
        for (int32_t i = b; i < end; i++)
            if (z[i] == v)
                return i;
    }
    return 0;
}

static void cands_init(fw_smp_cands *c, float *w, int32_t *id, int32_t *id_buf, uint32_t *key,
                       int32_t n, const float *z, float inv_t)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->id = id;
    c->id_buf = id_buf;
    c->key = key;
    c->n = n;
    c->z = z;
    c->inv_t = inv_t;
}

/* Whole-vocabulary candidates.  When the model's weights from step 1 are
 * still valid (T = 1, no mask, the edits kept the maximum within 20 nats of
 * the raw one) they are patched at the edited tokens instead of recomputed. */
static void full_candidates(fw_sampler *s, const float *z, float m_raw, double s_raw,
                            int reuse_ok, fw_smp_cands *c)
{
    const int32_t nv = s->p.n_vocab;
    const float inv_t = 1.0f / s->p.temperature;
    float m = s->n_undo || !reuse_ok ? fw_smp_max(z, nv) : m_raw;

    cands_init(c, s->w, NULL, s->id, s->key, nv, z, inv_t);
    if (reuse_ok && inv_t == 1.0f && m <= m_raw && m >= m_raw - 20) {
        c->m = m_raw;
        for (int32_t i = 0; i < s->n_undo; i++)
            s->w[s->undo_tok[i]] = fw_smp_fexp(z[s->undo_tok[i]] - m_raw);
        c->sum = s->n_undo ? fw_smp_sum_kept(s->w, NULL, nv, 0, 0, 0.0f) : s_raw;
    } else {
        c->m = m;
        c->sum = fw_smp_expsum(z, nv, m, inv_t, s->w);
    }
}

/* The top_k candidates, from a heap over the processed logits. */
static void top_k_candidates(fw_sampler *s, const float *z, fw_smp_cands *c)
{
    int32_t n = fw_smp_top_k(z, s->p.n_vocab, s->p.top_k, s->kid, s->kval);
    float m = -INFINITY;

    cands_init(c, s->kw, s->kid, s->kid, s->kkey, n, z, 1.0f / s->p.temperature);
    for (int32_t i = 0; i < n; i++)
        m = s->kval[i] > m ? s->kval[i] : m;
    c->m = m;
    for (int32_t i = 0; i < n; i++) {
        s->kw[i] = expf((s->kval[i] - m) * c->inv_t);
        c->sum += s->kw[i];
    }
}

static void truncate_chain(fw_sampler *s, fw_smp_cands *c)
{
    if (s->mirostat) {
        fw_smp_keep_mirostat(c, s->mu);
        return;
    }
    if (s->p.typical_p < 1.0f)
        fw_smp_keep_typical(c, s->p.typical_p, &s->radix);
    if (s->p.top_p < 1.0f)
        fw_smp_keep_top_p(c, s->p.top_p, &s->radix);
    if (s->p.min_p > 0.0f)
        fw_smp_keep_min_p(c, s->p.min_p);
}

static fw_status smp_sample(fw_sampler *s, float *z, const uint32_t *mask,
                            fw_sample_result *out, fw_err *err)
{
    const size_t r10 = offsetof(fw_sample_result, top_logprob) + sizeof out->top_logprob;
    int32_t nv, token;
    float m_raw;
    double s_raw, lse_raw, slp;
    int full, reuse;

    if (!s || !z || !out)
        return fw_err_set(err, FW_ERR_INVALID, "sample: NULL argument");
    if (out->struct_size < r10)
        return fw_err_set(err, FW_ERR_INVALID, "sample: result struct_size %u < %zu (ABI 1.0)",
                       (unsigned)out->struct_size, r10);
    if (s->failed)
        return fw_err_set(err, s->failed, "sample: out of memory recording the token history");
    nv = s->p.n_vocab;
    full = needs_full_scratch(s);
    reuse = full && !mask && s->p.temperature == 1.0f;

    /* 1. The model's distribution: log-sum-exp of the raw logits (kept as
     * the candidates' weights when step 7 would compute the same ones). */
    m_raw = fw_smp_max(z, nv);
    s_raw = fw_smp_expsum(z, nv, m_raw, 1.0f, reuse ? s->w : NULL);
    if (!isfinite(s_raw) || !(m_raw > -INFINITY))
        return fw_err_set(err, FW_ERR_INVALID,
                       "sample: logits contain NaN or infinity, or are all -inf");
    lse_raw = (double)m_raw + log(s_raw);
    out->n_top = 0;
    if (s->p.top_logprobs > 0) {
        float val[FW_MAX_TOP_LOGPROBS];
        out->n_top = fw_smp_top_n(z, nv, s->p.top_logprobs, out->top_token, val);
        for (int32_t i = 0; i < out->n_top; i++)
            out->top_logprob[i] = (float)(val[i] - lse_raw);
    }

    /* 2-6. Penalties, logit_bias, ignore_eos, grammar mask. */
    apply_edits(s, z);
    if (mask && apply_mask(z, nv, mask) == 0)
        return fw_err_set(err, FW_ERR_INVALID, "sample: the grammar mask allows no token");

    /* 7-9. Temperature, truncation, draw. */
    if (is_greedy(s)) {
        float m = s->n_undo || mask ? fw_smp_max(z, nv) : m_raw;
        if (!(m > -INFINITY))
            return fw_err_set(err, FW_ERR_INVALID, "sample: no token is allowed (mask, ignore_eos)");
        token = first_index_of_max(z, nv, m);
        slp = 0;
    } else {
        fw_smp_cands c;
        int32_t j;
        if (full)
            full_candidates(s, z, m_raw, s_raw, reuse, &c);
        else
            top_k_candidates(s, z, &c);
        if (c.n == 0 || !(c.sum > 0))
            return fw_err_set(err, FW_ERR_INVALID, "sample: no token is allowed (mask, ignore_eos)");
        truncate_chain(s, &c);
        j = fw_smp_draw(&c, fw_smp_rng_uniform(&s->rng));
        if (j < 0)
            return fw_err_set(err, FW_ERR_INTERNAL, "sample: no candidate with weight left");
        token = fw_smp_token(&c, j);
        slp = log((double)c.w[j] / c.sum);
    }

    out->token = token;
    out->logprob = (float)(raw_logit(s, z, token) - lse_raw);
    out->sampling_logprob = (float)slp;
    s->pending = 1;
    s->last_token = token;
    s->last_surprise = (float)(-slp / log(2.0));
    return FW_OK;
}

/* ---- plugin ---- */

static const fw_sampler_vtable vtable = {
    .struct_size = sizeof(fw_sampler_vtable),
    .create = smp_create,
    .destroy = smp_destroy,
    .clone = smp_clone,
    .sample = smp_sample,
    .accept = smp_accept,
};

static const fw_plugin_desc desc = {
    .struct_size = sizeof(fw_plugin_desc),
    .abi_major = FW_ABI_MAJOR,
    .abi_minor = FW_ABI_MINOR,
    .kind = FW_PLUGIN_SAMPLER,
    .name = "standard",
    .version = "0.1.0",
    .vtable = &vtable,
};

const fw_plugin_desc *fw_sampler_standard_desc(const fw_host_api *host)
{
    if (!host || host->abi_major != FW_ABI_MAJOR)
        return NULL;
    g_host = host;
    return &desc;
}

FW_PLUGIN_DEFINE(fw_sampler_standard_desc)
