/* core/runner.c -- one served model: load it, then run continuous batching.
 *
 * Each step the scheduler builds one fw_batch from every running sequence:
 * one token per decoding sequence plus prefill chunks (prefill_chunk tokens
 * at most, max_batch_tokens in all), so new prompts join between steps
 * without stalling decode.  A request with n > 1 prefills once; when its
 * prompt is done the other choices fork its KV blocks (copy-on-write of the
 * last partial block) and sample from the same logits.
 *
 * KV preemption (as vLLM's recompute mode): sequences are ranked by
 * admission order.  When one cannot get the blocks of its step, the most
 * recently admitted sequences give theirs back and wait, ahead of new
 * requests, keeping their tokens, sampler and matcher; coming back they
 * prefill prompt + generated tokens again (from the prefix cache as far as
 * it still holds them) and go on sampling where they stopped.  The oldest
 * sequence therefore always advances, and one sequence always fits: the
 * context is capped at the cache's size.
 */
#include "runner.h"
#include "err.h"
#include "log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

typedef enum seq_state { SEQ_PREFILL = 1, SEQ_DECODE = 2 } seq_state;

#define FW_MAX_DRAFT 8 /* draft tokens verified per sequence per step */

/* Compiled grammars are kept per (source, text): compiling walks the whole
 * vocabulary (hundreds of ms), and clients repeat the same schema.  The
 * scheduler thread compiles (grammar_load), the HTTP thread only validates
 * and takes cached entries (fw_runner_grammar); entries are guarded by gmu. */
#define FW_GRAMMAR_CACHE 32
typedef struct gram_cache {
    uint32_t source;
    char *text;
    fw_grammar *g;
    int32_t users;        /* requests alive; an entry in use is never evicted */
    uint64_t stamp;
} gram_cache;

typedef struct fw_seq {
    fw_req *req;
    int32_t choice;
    int32_t *tokens;      /* (n_tokens) prompt then generated */
    int32_t n_tokens, cap;
    int32_t n_computed;   /* tokens whose KV is in the cache */
    int32_t n_generated;
    int32_t spec_ok;      /* the first spec_ok output tokens equal the draft's */
    seq_state state;
    int leader;           /* forks the other choices after prefill */
    int32_t row0, n_rows; /* this step's logits rows */
    int32_t n_draft_in;   /* draft tokens fed this step */
    int iso_done;         /* ran alone in the current isolation round */
    uint64_t order;       /* admission rank: lower = older = higher priority */
    int32_t take;         /* tokens (not drafts) computed this step */
    fw_kv_seq kv;
    fw_sampler *sampler;
    fw_matcher *matcher;
    fw_reasoning rs;      /* reasoning budget: where the output is, what is forced */
    struct fw_seq *next;
} fw_seq;

struct fw_runner {
    const fw_model_config *mc;
    fw_registry *reg;
    char error[256];
    atomic_int state;     /* 0 loading, 1 ready, -1 failed */
    atomic_int stop;

    /* loaded parts (scheduler thread builds them; read-only afterwards) */
    fw_model *model;
    const fw_model_desc *desc;
    fw_tokenizer *tok;
    const fw_backend_vtable *be_vt;
    fw_backend *be;
    const fw_template_vtable *tpl_vt;
    fw_template *tpl;
    fw_reasoning_rules rr;    /* the template's reasoning open/close, for budgets */
    const fw_sampler_vtable *smp_vt;
    const fw_grammar_vtable *gram_vt;
    fw_kv_cache *kv;
    int32_t block_size, max_context, n_vocab;
    int32_t *eos;         /* (n_eos) eos ids + template stop tokens */
    int32_t n_eos;
    fw_vocab vocab;       /* for grammar masks */
    pthread_mutex_t gmu;  /* gcache, gstamp */
    gram_cache gcache[FW_GRAMMAR_CACHE];
    uint64_t gstamp;
    const char **vocab_bytes;
    int32_t *vocab_len;

    /* submit queue */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    fw_req **queue;       /* ring of pending requests */
    int32_t q_head, q_len, q_cap;

    /* scheduler-owned */
    int isolate;          /* a batch failed: run each sequence alone once */
    fw_seq *running;      /* oldest first (order) */
    int32_t n_running;
    fw_seq *preempted;    /* waiting for blocks, oldest first; before new requests */
    int32_t n_preempted;
    uint64_t n_ordered;   /* admission counter for fw_seq.order */
    /* one step's batch arrays, sized for seq_cap sequences, reused */
    int32_t seq_cap;
    int32_t *b_tokens, *b_pos, *b_seq; /* (tok_cap) */
    int32_t *b_seq_len, *b_p0;         /* (seq_cap) */
    const int32_t **b_tables;          /* (seq_cap) */
    fw_seq **b_seqs;                   /* (seq_cap) */
    int32_t *b_logits_idx;             /* (seq_cap * (FW_MAX_DRAFT + 1)) */
    float *logits;        /* (max rows, n_vocab) */
    int32_t logits_rows;
    float *scratch;       /* (n_vocab) per-choice copy of a logits row */
    uint32_t *mask;       /* (ceil(n_vocab / 32)) */

    /* stats, guarded by mu */
    fw_runner_stats stats;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- requests ------------------------------------------------------------ */

fw_req *fw_req_new(void)
{
    fw_req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    q->reasoning_budget = -1;
    atomic_init(&q->refs, 1);
    atomic_init(&q->cancelled, 0);
    return q;
}

void fw_req_ref(fw_req *q) { atomic_fetch_add(&q->refs, 1); }

void fw_req_unref(fw_req *q)
{
    if (!q || atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    if (q->on_free)
        q->on_free(q);
    if (q->grammar_cache) {
        pthread_mutex_lock(&q->runner->gmu);
        ((gram_cache *)q->grammar_cache)->users--;
        pthread_mutex_unlock(&q->runner->gmu);
    } else if (q->grammar) {
        q->gram_vt->grammar_free(q->grammar);
    }
    pthread_mutex_destroy(&q->mu);
    free(q->events);
    free(q->prompt);
    free(q->logit_bias);
    free(q->grammar_text);
    free(q->draft);
    free(q);
}

int32_t fw_req_take_events(fw_req *q, fw_tok_event **events)
{
    int32_t n;
    pthread_mutex_lock(&q->mu);
    *events = q->events;
    n = q->n_events;
    q->events = NULL;
    q->n_events = q->cap_events = 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void req_push(fw_req *q, const fw_tok_event *ev, const char *error)
{
    pthread_mutex_lock(&q->mu);
    if (q->n_events == q->cap_events) {
        int32_t cap = q->cap_events ? q->cap_events * 2 : 16;
        fw_tok_event *p = realloc(q->events, (size_t)cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&q->mu);
            return; /* out of memory: the token is lost, the request ends at cancel */
        }
        q->events = p;
        q->cap_events = cap;
    }
    q->events[q->n_events++] = *ev;
    if (error && !q->error[0])
        snprintf(q->error, sizeof q->error, "%s", error);
    if (!q->t_first_token_ns && ev->token >= 0)
        q->t_first_token_ns = now_ns();
    pthread_mutex_unlock(&q->mu);
    if (q->wake)
        event_active(q->wake, EV_READ, 0);
}

static void push_error(fw_req *q, int32_t choice, const char *msg)
{
    fw_tok_event ev = {.choice = choice, .token = -1, .finish = FW_FINISH_ERROR};
    req_push(q, &ev, msg);
}

/* ---- loading --------------------------------------------------------------- */

static fw_status pick_plugin(fw_runner *r, fw_plugin_kind kind, const char *name,
                             const fw_plugin_info **out, fw_err *err)
{
    *out = fw_registry_find(r->reg, kind, name);
    if (!*out)
        return fw_err_set(err, FW_ERR_NOT_FOUND,
                          "no %s plugin '%s' (see fireworksd --list-plugins; "
                          "FIREWORKSD_PLUGIN_PATH, plugins.dir)",
                          fw_plugin_kind_name(kind), name);
    return FW_OK;
}

/* The template a model's family speaks, when the config names none. */
static const char *infer_template(const fw_model_desc *d, const char **variant)
{
    *variant = NULL;
    switch (d->arch) {
    case FW_ARCH_QWEN3:
    case FW_ARCH_QWEN3_MOE:
        return "qwen3";
    case FW_ARCH_GPT_OSS:
        return "harmony";
    case FW_ARCH_GLM4_MOE:
        *variant = "glm-4.5";
        return "glm";
    case FW_ARCH_DEEPSEEK_V3:
        *variant = "kimi-k2";
        return "kimi";
    }
    return NULL;
}

static int add_eos(fw_runner *r, int32_t id)
{
    int32_t i;
    int32_t *p;
    if (id < 0)
        return 0;
    for (i = 0; i < r->n_eos; i++)
        if (r->eos[i] == id)
            return 0;
    p = realloc(r->eos, ((size_t)r->n_eos + 1) * sizeof *p);
    if (!p)
        return -1;
    r->eos = p;
    r->eos[r->n_eos++] = id;
    return 0;
}

static fw_status load(fw_runner *r, fw_err *err)
{
    const fw_model_config *mc = r->mc;
    const fw_plugin_info *pi;
    const fw_tensor_view *views;
    const char *tname, *variant;
    const int32_t *eos;
    int32_t n_views, n_eos, i;
    fw_kv_layout layout = {0};
    fw_status st;
    uint64_t t0 = now_ns();

    fw_log(FW_LOG_INFO, "model", "loading %s from %s", mc->name, mc->path);
    if ((st = fw_model_open(mc->path, &r->model, err)) != FW_OK)
        return st;
    r->desc = fw_model_get_desc(r->model);
    if ((st = fw_tokenizer_load(mc->path, &r->tok, err)) != FW_OK)
        return st;
    r->n_vocab = r->desc->vocab_size;
    r->max_context = mc->max_context > 0 ? (int32_t)mc->max_context : r->desc->max_context;
    if (r->max_context <= 0)
        r->max_context = 4096;

    /* backend */
    if (!strcmp(mc->backend, "auto")) {
        pi = fw_registry_best_backend(r->reg);
        if (!pi)
            return fw_err_set(err, FW_ERR_NOT_FOUND, "no usable backend plugin found");
    } else if ((st = pick_plugin(r, FW_PLUGIN_BACKEND, mc->backend, &pi, err)) != FW_OK) {
        return st;
    }
    if (pi->probe_score <= 0)
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "backend '%s' cannot run on this machine",
                          pi->desc->name);
    r->be_vt = fw_plugin_backend(pi);
    if ((st = r->be_vt->init(mc->backend_options, &r->be, err)) != FW_OK ||
        (st = r->be_vt->supports(r->be, r->desc, err)) != FW_OK)
        return fw_err_prefix(err, "backend %s: ", pi->desc->name);
    views = fw_model_tensors(r->model, &n_views);
    if ((st = r->be_vt->load_weights(r->be, r->desc, views, n_views, err)) != FW_OK)
        return fw_err_prefix(err, "backend %s: ", pi->desc->name);
    layout.struct_size = sizeof layout;
    layout.block_size = (int32_t)mc->kv_block_size;
    layout.dtype = FW_DTYPE_F32;
    layout.budget_bytes = (uint64_t)mc->kv_cache_bytes;
    if ((st = r->be_vt->kv_alloc(r->be, &layout, err)) != FW_OK)
        return fw_err_prefix(err, "backend %s: kv cache: ", pi->desc->name);
    if ((st = fw_kv_cache_create(layout.n_blocks, layout.block_size, &r->kv, err)) != FW_OK)
        return st;
    r->block_size = layout.block_size;
    if ((int64_t)layout.n_blocks * layout.block_size < r->max_context) {
        /* one sequence must fit the whole cache, or it could wait forever:
         * longer prompts get the context-length error */
        fw_log(FW_LOG_WARN, "model", "%s: context capped at %d tokens: the kv cache holds no more "
               "(raise kv_cache_bytes for %d)", mc->name, layout.n_blocks * layout.block_size,
               r->max_context);
        r->max_context = layout.n_blocks * layout.block_size;
    }
    fw_log(FW_LOG_INFO, "model", "%s: backend %s, kv cache %d blocks of %d tokens (%llu bytes each)",
           mc->name, pi->desc->name, layout.n_blocks, layout.block_size,
           (unsigned long long)layout.bytes_per_block);

    /* template */
    tname = mc->template_name;
    variant = mc->template_variant;
    if (!tname) {
        tname = infer_template(r->desc, &variant);
        if (mc->template_variant)
            variant = mc->template_variant;
        if (!tname)
            return fw_err_set(err, FW_ERR_NOT_FOUND, "cannot infer a chat template; set models[].template");
    }
    if ((st = pick_plugin(r, FW_PLUGIN_TEMPLATE, tname, &pi, err)) != FW_OK)
        return st;
    r->tpl_vt = fw_plugin_template(pi);
    if ((st = r->tpl_vt->create(variant, mc->template_options, &r->tpl, err)) != FW_OK)
        return fw_err_prefix(err, "template %s: ", tname);
    if ((st = fw_reasoning_rules_init(&r->rr, r->tpl_vt, r->tpl, r->tok, err)) != FW_OK)
        return fw_err_prefix(err, "template %s: ", tname);

    /* sampler and grammar */
    if ((st = pick_plugin(r, FW_PLUGIN_SAMPLER, mc->sampler, &pi, err)) != FW_OK)
        return st;
    r->smp_vt = fw_plugin_sampler(pi);
    pi = fw_registry_find(r->reg, FW_PLUGIN_GRAMMAR, "gbnf");
    r->gram_vt = pi ? fw_plugin_grammar(pi) : NULL;

    /* stop tokens: the model's eos ids plus the template's stop strings */
    eos = fw_model_eos_ids(r->model, &n_eos);
    for (i = 0; i < n_eos; i++)
        if (add_eos(r, eos[i]) != 0)
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    if (r->tpl_vt->stop_strings) {
        const char *const *ss = r->tpl_vt->stop_strings(r->tpl);
        for (; ss && *ss; ss++)
            if (add_eos(r, fw_tokenizer_token_id(r->tok, *ss)) != 0)
                return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }

    /* the vocabulary as bytes, for grammar masks */
    r->vocab_bytes = calloc((size_t)r->n_vocab, sizeof *r->vocab_bytes);
    r->vocab_len = calloc((size_t)r->n_vocab, sizeof *r->vocab_len);
    r->scratch = malloc((size_t)r->n_vocab * sizeof *r->scratch);
    r->mask = malloc(((size_t)r->n_vocab + 31) / 32 * sizeof *r->mask);
    if (!r->vocab_bytes || !r->vocab_len || !r->scratch || !r->mask)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    for (i = 0; i < r->n_vocab; i++) {
        size_t len = 0;
        const char *b = fw_tokenizer_token_bytes(r->tok, i, &len);
        if (b && !fw_tokenizer_is_special(r->tok, i)) {
            r->vocab_bytes[i] = b;
            r->vocab_len[i] = (int32_t)len;
        }
    }
    r->vocab.struct_size = sizeof r->vocab;
    r->vocab.n_tokens = r->n_vocab;
    r->vocab.bytes = r->vocab_bytes;
    r->vocab.len = r->vocab_len;
    r->vocab.n_eos = r->n_eos;
    r->vocab.eos_ids = r->eos;

    fw_log(FW_LOG_INFO, "model", "%s ready in %.2f s (template %s%s%s, context %d)", mc->name,
           (double)(now_ns() - t0) / 1e9, tname, variant ? " " : "", variant ? variant : "",
           r->max_context);
    return FW_OK;
}

/* ---- sequences ------------------------------------------------------------ */

static void seq_free(fw_runner *r, fw_seq *s)
{
    fw_kv_seq_release(r->kv, &s->kv);
    if (s->sampler)
        r->smp_vt->destroy(s->sampler);
    if (s->matcher)
        r->gram_vt->matcher_free(s->matcher);
    free(s->tokens);
    fw_req_unref(s->req);
    free(s);
}

static int seq_push_token(fw_seq *s, int32_t tok)
{
    if (s->n_tokens == s->cap) {
        int32_t cap = s->cap * 2;
        int32_t *p = realloc(s->tokens, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        s->tokens = p;
        s->cap = cap;
    }
    s->tokens[s->n_tokens++] = tok;
    return 0;
}

static fw_seq *seq_new(fw_req *q, int32_t choice)
{
    fw_seq *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cap = q->n_prompt + 64;
    s->tokens = malloc((size_t)s->cap * sizeof *s->tokens);
    if (!s->tokens) {
        free(s);
        return NULL;
    }
    memcpy(s->tokens, q->prompt, (size_t)q->n_prompt * sizeof *s->tokens);
    s->n_tokens = q->n_prompt;
    s->choice = choice;
    s->state = SEQ_PREFILL;
    s->req = q;
    fw_req_ref(q);
    fw_kv_seq_init(&s->kv, q->cache_salt);
    fw_reasoning_start(&s->rs, &q->runner->rr, q->reasoning_open, q->reasoning_budget);
    return s;
}

/* Links s into a list kept oldest first; choices of one request (same
 * order) stay in choice order. */
static void seq_insert(fw_seq **list, fw_seq *s)
{
    fw_seq **pp = list;
    while (*pp && (*pp)->order <= s->order)
        pp = &(*pp)->next;
    s->next = *pp;
    *pp = s;
}

/* s (holding no blocks) waits for blocks ahead of new requests; it keeps
 * its tokens, sampler and matcher, and recomputes its KV when it resumes. */
static void seq_wait(fw_runner *r, fw_seq *s)
{
    s->n_computed = 0;
    s->state = SEQ_PREFILL;
    s->take = s->n_draft_in = s->n_rows = 0;
    seq_insert(&r->preempted, s);
    r->n_preempted++;
    pthread_mutex_lock(&r->mu);
    r->stats.preemptions++;
    pthread_mutex_unlock(&r->mu);
}

/* Takes the running sequence s out of the batch and frees its blocks (a
 * block shared with a prefix or a sibling choice stays with its other users). */
static void preempt(fw_runner *r, fw_seq *s)
{
    fw_seq **pp = &r->running;
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    r->n_running--;
    fw_log(FW_LOG_DEBUG, "sched", "preempting choice %d (%d tokens, %d generated): kv cache full",
           s->choice, s->n_tokens, s->n_generated);
    fw_kv_seq_release(r->kv, &s->kv);
    seq_wait(r, s);
}

/* Admission control: a sequence of n_tokens (re)joins the batch only when
 * *room (blocks this round may still promise) holds all of it plus one
 * token, so it does not start just to be preempted; with nothing running
 * it always may (the context is capped at the cache size). */
static int kv_room(const fw_runner *r, int32_t *room, int32_t n_tokens, int busy)
{
    int32_t need = (int32_t)(((int64_t)n_tokens + r->block_size) / r->block_size);
    if (need > *room && busy)
        return 0;
    *room -= need;
    return 1;
}

/* Brings back preempted sequences, oldest first, while they fit. */
static void resume_preempted(fw_runner *r, int32_t max_seqs, int32_t *room)
{
    fw_seq *s;
    while ((s = r->preempted) != NULL && r->n_running < max_seqs &&
           kv_room(r, room, s->n_tokens, r->n_running > 0)) {
        r->preempted = s->next;
        r->n_preempted--;
        s->n_computed = fw_kv_seq_rematch(r->kv, &s->kv, s->tokens, s->n_tokens);
        seq_insert(&r->running, s);
        r->n_running++;
    }
}

/* Takes the cached entry for q's grammar, if there is one (gmu held). */
static int grammar_hold(fw_runner *r, fw_req *q)
{
    gram_cache *e;
    int32_t i;

    for (i = 0; i < FW_GRAMMAR_CACHE; i++) {
        e = &r->gcache[i];
        if (e->g && e->source == q->grammar_source && !strcmp(e->text, q->grammar_text)) {
            e->stamp = ++r->gstamp;
            e->users++;
            q->grammar = e->g;
            q->grammar_cache = e;
            return 1;
        }
    }
    return 0;
}

/* Checks the request's grammar (HTTP thread).  A cached grammar is held
 * for q at once; otherwise the grammar is only parsed, without the
 * vocabulary (well under a millisecond, where the vocabulary index takes
 * hundreds), and grammar_load compiles it on the scheduler thread. */
fw_status fw_runner_grammar(fw_runner *r, fw_req *q, fw_err *err)
{
    fw_grammar *g = NULL;
    fw_status st;
    int held;

    if (!r->gram_vt)
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "no grammar plugin is loaded");
    q->runner = r;
    q->gram_vt = r->gram_vt;
    pthread_mutex_lock(&r->gmu);
    held = grammar_hold(r, q);
    pthread_mutex_unlock(&r->gmu);
    if (held)
        return FW_OK;
    if ((st = r->gram_vt->compile(q->grammar_source, q->grammar_text, NULL, &g, err)) != FW_OK)
        return st;
    r->gram_vt->grammar_free(g);
    return FW_OK;
}

/* Compiles q's grammar with the vocabulary, or finds it in the cache
 * (scheduler thread: the only one that adds entries, so each entry is
 * compiled once).  A grammar compiled while the cache is full of grammars
 * in use belongs to the request.  The compile runs outside gmu. */
static fw_status grammar_load(fw_runner *r, fw_req *q, fw_err *err)
{
    gram_cache *e, *victim = NULL;
    fw_grammar *g = NULL;
    char *text;
    fw_status st;
    int32_t i;
    int held;

    pthread_mutex_lock(&r->gmu);
    held = grammar_hold(r, q);
    pthread_mutex_unlock(&r->gmu);
    if (held)
        return FW_OK;
    if ((st = r->gram_vt->compile(q->grammar_source, q->grammar_text, &r->vocab, &g, err)) != FW_OK)
        return st;
    q->grammar = g; /* the request's own unless the cache takes it */
    text = strdup(q->grammar_text);
    if (!text)
        return FW_OK;
    pthread_mutex_lock(&r->gmu);
    for (i = 0; i < FW_GRAMMAR_CACHE; i++) {
        e = &r->gcache[i];
        if (e->users == 0 && (!victim || !e->g || (victim->g && e->stamp < victim->stamp)))
            victim = e;
    }
    if (victim) {
        if (victim->g)
            r->gram_vt->grammar_free(victim->g);
        free(victim->text);
        victim->source = q->grammar_source;
        victim->text = text;
        victim->g = g;
        victim->users = 1;
        victim->stamp = ++r->gstamp;
        q->grammar_cache = victim;
        text = NULL;
    }
    pthread_mutex_unlock(&r->gmu);
    free(text);
    return FW_OK;
}

static fw_status seq_matcher(fw_runner *r, fw_seq *s, fw_err *err)
{
    return r->gram_vt->matcher_new(s->req->grammar, &s->matcher, err);
}

/* Admits a request: its leader sequence, sampler, grammar and cached prefix. */
static void admit(fw_runner *r, fw_req *q)
{
    fw_err err = {0};
    fw_seq *s;
    fw_status st;
    int32_t cached;

    if (atomic_load(&q->cancelled))
        return;
    s = seq_new(q, 0);
    if (!s) {
        push_error(q, 0, "out of memory");
        return;
    }
    s->leader = q->n_choices > 1;
    q->sampling.n_vocab = r->n_vocab;
    q->sampling.eos_ids = r->eos;
    q->sampling.n_eos = r->n_eos;
    q->sampling.prompt = q->prompt;
    q->sampling.n_prompt = q->n_prompt;
    q->sampling.ignore_eos = q->ignore_eos;
    st = r->smp_vt->create(&q->sampling, &s->sampler, &err);
    if (st == FW_OK && q->grammar_source && !q->grammar)
        st = q->gram_vt ? grammar_load(r, q, &err)
                        : fw_err_set(&err, FW_ERR_INTERNAL, "the grammar was not checked before submit");
    if (st == FW_OK && q->grammar)
        st = seq_matcher(r, s, &err);
    if (st != FW_OK) {
        push_error(q, 0, err.msg);
        seq_free(r, s);
        return;
    }
    cached = fw_kv_seq_match_prefix(r->kv, &s->kv, q->prompt, q->n_prompt);
    s->n_computed = cached;
    pthread_mutex_lock(&q->mu);
    q->cached_tokens = cached;
    pthread_mutex_unlock(&q->mu);
    s->order = ++r->n_ordered;
    seq_insert(&r->running, s);
    r->n_running++;
}

/* ---- one step ------------------------------------------------------------- */

static int is_eos(const fw_runner *r, int32_t tok)
{
    int32_t i;
    for (i = 0; i < r->n_eos; i++)
        if (r->eos[i] == tok)
            return 1;
    return 0;
}

/* A complete document ends when nothing but EOS may follow. */
static int grammar_complete(fw_runner *r, fw_seq *s)
{
    int32_t w, i, words = (r->n_vocab + 31) / 32;
    fw_err err = {0};

    if (!r->gram_vt->is_accepting(s->matcher) || r->gram_vt->fill_mask(s->matcher, r->mask, &err) != FW_OK)
        return 0;
    for (w = 0; w < words; w++)
        if (r->mask[w])
            for (i = 0; i < 32 && w * 32 + i < r->n_vocab; i++)
                if ((r->mask[w] >> i) & 1 && !is_eos(r, w * 32 + i))
                    return 0;
    return 1;
}

/* Samples one token for s from a logits row; returns 1 when s is finished. */
static int sample_one(fw_runner *r, fw_seq *s, const float *row)
{
    fw_req *q = s->req;
    fw_sample_result res;
    fw_tok_event ev = {0};
    fw_err err = {0};
    const uint32_t *mask = NULL;
    int32_t i, forced = fw_reasoning_forced(&s->rs, &r->rr);
    int gram = s->matcher && !fw_reasoning_active(&s->rs); /* grammars start after reasoning */

    memcpy(r->scratch, row, (size_t)r->n_vocab * sizeof *row);
    if (forced >= 0) {
        /* reasoning budget spent: the close text, one token per step; the
         * sampler reports its logprob under the model's distribution */
        fw_reasoning_force_mask(r->mask, r->n_vocab, forced);
        mask = r->mask;
    } else if (gram) {
        if (r->gram_vt->fill_mask(s->matcher, r->mask, &err) != FW_OK) {
            push_error(q, s->choice, err.msg);
            return 1;
        }
        fw_reasoning_allow_open(&s->rs, &r->rr, r->mask, r->n_vocab);
        mask = r->mask;
    }
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    if (r->smp_vt->sample(s->sampler, r->scratch, mask, &res, &err) != FW_OK) {
        push_error(q, s->choice, err.msg);
        return 1;
    }
    r->smp_vt->accept(s->sampler, res.token);
    fw_reasoning_accept(&s->rs, &r->rr, r->tok, res.token);
    if (fw_reasoning_active(&s->rs))
        gram = 0; /* the token opened reasoning: the grammar starts after it */
    if (gram && !is_eos(r, res.token) &&
        r->gram_vt->accept_token(s->matcher, res.token, &err) != FW_OK) {
        push_error(q, s->choice, err.msg);
        return 1;
    }
    ev.choice = s->choice;
    ev.token = res.token;
    ev.logprob = res.logprob;
    ev.sampling_logprob = res.sampling_logprob;
    ev.n_top = res.n_top;
    for (i = 0; i < res.n_top && i < FW_MAX_TOP_LOGPROBS; i++) {
        ev.top_token[i] = res.top_token[i];
        ev.top_logprob[i] = res.top_logprob[i];
    }
    if (q->n_draft > 0 && q->n_choices == 1 && s->spec_ok == s->n_generated &&
        s->n_generated < q->n_draft && res.token == q->draft[s->n_generated]) {
        s->spec_ok++; /* the output still follows the draft: one more matched */
        pthread_mutex_lock(&q->mu);
        q->spec_matched++;
        pthread_mutex_unlock(&q->mu);
    }
    s->n_generated++;
    if (is_eos(r, res.token) && !q->ignore_eos)
        ev.finish = FW_FINISH_STOP;
    else if (gram && grammar_complete(r, s))
        ev.finish = FW_FINISH_DONE; /* the token completed it: output, then "stop" */
    else if (s->n_generated >= q->max_tokens || s->n_tokens + 1 >= r->max_context)
        ev.finish = FW_FINISH_LENGTH;
    if (ev.finish != FW_FINISH_STOP && seq_push_token(s, res.token) != 0) {
        push_error(q, s->choice, "out of memory");
        return 1;
    }
    s->state = SEQ_DECODE;
    pthread_mutex_lock(&r->mu);
    r->stats.generated_tokens++;
    pthread_mutex_unlock(&r->mu);
    req_push(q, &ev, NULL);
    return ev.finish != FW_FINISH_NONE;
}

/* After the leader's prefill: the other choices share its KV blocks and
 * sample their first token from the same logits row. */
static void fork_choices(fw_runner *r, fw_seq *leader, const float *row)
{
    fw_req *q = leader->req;
    int32_t c;

    leader->leader = 0;
    for (c = 1; c < q->n_choices; c++) {
        fw_err err = {0};
        int32_t cs = -1, cd = -1;
        int no_room = 0;
        fw_seq *s = seq_new(q, c);
        fw_status st = s ? FW_OK : fw_err_set(&err, FW_ERR_NOMEM, "out of memory");
        if (st == FW_OK) {
            s->order = leader->order;
            st = r->smp_vt->clone(leader->sampler, (uint64_t)c, &s->sampler, &err);
        }
        if (st == FW_OK && q->grammar)
            st = seq_matcher(r, s, &err);
        if (st == FW_OK)
            st = fw_kv_seq_fork(r->kv, &leader->kv, &s->kv, leader->n_computed, &cs, &cd, &err);
        if (st == FW_ERR_LIMIT) {
            /* no block for its copy of the last prompt block: it samples
             * from the shared row now and computes its KV once blocks free */
            no_room = 1;
            st = FW_OK;
        }
        if (st == FW_OK && cs >= 0)
            st = r->be_vt->kv_copy(r->be, cs, cd, &err);
        if (st != FW_OK) {
            push_error(q, c, err.msg);
            if (s)
                seq_free(r, s);
            continue;
        }
        s->n_computed = leader->n_computed;
        if (sample_one(r, s, row)) {
            seq_free(r, s);
            continue;
        }
        if (no_room) {
            fw_log(FW_LOG_DEBUG, "sched", "choice %d waits for a block of its own: kv cache full", c);
            seq_wait(r, s);
            continue;
        }
        seq_insert(&r->running, s);
        r->n_running++;
    }
}

/* Draft tokens the sequence may verify this step: while its output so far
 * equals the start of the request's speculation, the next draft tokens. */
static int32_t draft_avail(const fw_seq *s)
{
    const fw_req *q = s->req;
    int32_t g = s->n_generated;
    if (!q->n_draft || s->state != SEQ_DECODE || g >= q->n_draft || q->n_choices != 1 ||
        s->spec_ok != g)
        return 0;
    return q->n_draft - g < FW_MAX_DRAFT ? q->n_draft - g : FW_MAX_DRAFT;
}

/* Samples the rows of one sequence after a forward.  Row j follows input j;
 * with a draft, row j is only valid while every earlier draft token was
 * what the model sampled (speculative decoding: each sample is exact). */
static void sample_rows(fw_runner *r, fw_seq *s, int32_t p0)
{
    fw_req *q = s->req;
    int32_t j, c, drafts = s->n_draft_in, g0 = s->n_generated;

    if (q->max_tokens == 0) {
        /* prefill only (max_tokens 0: a prompt cached, or echoed): every
         * choice ends with "length" and no token */
        for (c = 0; c < q->n_choices; c++) {
            fw_tok_event ev = {.choice = c, .token = -1, .finish = FW_FINISH_LENGTH};
            req_push(q, &ev, NULL);
        }
        s->state = 0;
        return;
    }
    for (j = 0; j < s->n_rows; j++) {
        const float *row = r->logits + (size_t)(s->row0 + j) * (size_t)r->n_vocab;
        if (s->leader)
            fork_choices(r, s, row);
        if (sample_one(r, s, row)) {
            s->state = 0; /* finished: removed by the caller */
            return;
        }
        if (j < drafts && s->spec_ok != g0 + j + 1)
            break; /* rejected: the rest of the draft is wrong */
    }
    if (drafts > 0) {
        /* positions p0 .. p0 + j hold inputs that were right */
        if (j == s->n_rows)
            j--;
        s->n_computed = p0 + j + 1;
    }
}

/* Gets s the blocks for this step's tokens.  Without room, speculation is
 * dropped first, then the most recently admitted sequences are preempted
 * for it, never an older one.  Returns 0 when s waits this step: it is the
 * newest one left, and the older ones go first. */
static int reserve_or_preempt(fw_runner *r, fw_seq *s)
{
    fw_err err = {0};
    fw_seq *victim;

    for (;;) {
        if (fw_kv_seq_reserve(r->kv, &s->kv, s->n_computed + s->take + s->n_draft_in, &err) == FW_OK)
            return 1;
        if (s->n_draft_in > 0) {
            s->n_draft_in = 0;
            continue;
        }
        for (victim = s; victim->next; victim = victim->next)
            ;
        if (victim != s) {
            preempt(r, victim);
            continue;
        }
        if (s == r->running) {
            /* alone and still short: cannot happen while the context is
             * capped at the cache size; an error rather than a stall */
            push_error(s->req, s->choice, "kv cache full: the sequence does not fit");
            atomic_store(&s->req->cancelled, 1);
        }
        return 0;
    }
}

static void batch_arrays_free(fw_runner *r)
{
    free(r->b_tokens);
    free(r->b_pos);
    free(r->b_seq);
    free(r->b_seq_len);
    free(r->b_p0);
    free(r->b_tables);
    free(r->b_seqs);
    free(r->b_logits_idx);
    r->seq_cap = 0;
}

/* Makes the batch arrays hold n_seqs sequences; they only grow. */
static int batch_arrays(fw_runner *r, int32_t n_seqs, int32_t max_tokens)
{
    int32_t cap = r->seq_cap;
    size_t tok;
    if (n_seqs <= cap)
        return 0;
    while (cap < n_seqs)
        cap = cap ? cap * 2 : 16;
    tok = (size_t)max_tokens + (size_t)cap * FW_MAX_DRAFT;
    batch_arrays_free(r);
    r->b_tokens = malloc(tok * sizeof *r->b_tokens);
    r->b_pos = malloc(tok * sizeof *r->b_pos);
    r->b_seq = malloc(tok * sizeof *r->b_seq);
    r->b_seq_len = malloc((size_t)cap * sizeof *r->b_seq_len);
    r->b_p0 = malloc((size_t)cap * sizeof *r->b_p0);
    r->b_tables = malloc((size_t)cap * sizeof *r->b_tables);
    r->b_seqs = malloc((size_t)cap * sizeof *r->b_seqs);
    r->b_logits_idx = malloc((size_t)cap * (FW_MAX_DRAFT + 1) * sizeof *r->b_logits_idx);
    if (!r->b_tokens || !r->b_pos || !r->b_seq || !r->b_seq_len || !r->b_p0 || !r->b_tables ||
        !r->b_seqs || !r->b_logits_idx) {
        batch_arrays_free(r);
        return -1;
    }
    r->seq_cap = cap;
    return 0;
}

/* Drops the cancelled sequences of a list: their blocks return at once. */
static void drop_cancelled(fw_runner *r, fw_seq **list, int32_t *n)
{
    fw_seq *s, **pp;
    for (pp = list; (s = *pp) != NULL;) {
        if (atomic_load(&s->req->cancelled)) {
            *pp = s->next;
            (*n)--;
            seq_free(r, s);
        } else {
            pp = &s->next;
        }
    }
}

/* Builds and runs one batch; returns 0 when there was nothing to run. */
static int step(fw_runner *r, int32_t max_tokens, int32_t chunk)
{
    fw_seq *s, **pp;
    int32_t n_tok = 0, n_seq = 0, n_log = 0, i;
    int32_t *tokens, *pos, *seq, *seq_len, *logits_idx, *p0;
    fw_seq **seqs;
    fw_batch b = {0};
    fw_err err = {0};
    fw_status st;

    drop_cancelled(r, &r->running, &r->n_running);
    drop_cancelled(r, &r->preempted, &r->n_preempted);
    if (!r->running)
        return 0;
    if (r->isolate) {
        int pending = 0;
        for (s = r->running; s; s = s->next)
            pending |= !s->iso_done;
        if (!pending) {
            r->isolate = 0;
            for (s = r->running; s; s = s->next)
                s->iso_done = 0;
        }
    }
    if (batch_arrays(r, r->n_running, max_tokens) != 0)
        return 0;
    tokens = r->b_tokens;
    pos = r->b_pos;
    seq = r->b_seq;
    seq_len = r->b_seq_len;
    p0 = r->b_p0;
    seqs = r->b_seqs;
    logits_idx = r->b_logits_idx;

    /* plan: decode tokens first (latency), then prefill chunks, oldest first */
    for (s = r->running; s; s = s->next)
        s->take = s->n_draft_in = 0;
    for (i = 0; i < 2; i++) {
        for (s = r->running; s; s = s->next) {
            int32_t take, drafts = 0;
            if ((i == 0) != (s->state == SEQ_DECODE) || n_tok >= max_tokens)
                continue;
            if (r->isolate && (n_seq >= 1 || s->iso_done))
                continue;
            take = s->n_tokens - s->n_computed;
            if (s->state == SEQ_PREFILL && take > chunk)
                take = chunk;
            if (take > max_tokens - n_tok)
                take = max_tokens - n_tok;
            if (take <= 0)
                continue;
            if (s->state == SEQ_DECODE)
                drafts = draft_avail(s);
            if (s->n_computed + take + drafts > r->max_context)
                drafts = 0;
            s->take = take;
            s->n_draft_in = drafts;
            n_tok += take + drafts;
            n_seq++;
        }
    }
    /* blocks, oldest first: an older sequence's need preempts newer ones */
    for (s = r->running; s; s = s->next)
        if (s->take > 0 && !reserve_or_preempt(r, s))
            s->take = s->n_draft_in = 0;

    /* the batch, in plan order */
    n_tok = n_seq = 0;
    for (i = 0; i < 2; i++) {
        for (s = r->running; s; s = s->next) {
            int32_t j, take = s->take, drafts = s->n_draft_in;
            if ((i == 0) != (s->state == SEQ_DECODE) || take <= 0)
                continue;
            p0[n_seq] = s->n_computed;
            for (j = 0; j < take + drafts; j++) {
                tokens[n_tok] = j < take ? s->tokens[s->n_computed + j]
                                         : s->req->draft[s->n_generated + j - take];
                pos[n_tok] = s->n_computed + j;
                seq[n_tok] = n_seq;
                n_tok++;
            }
            seqs[n_seq] = s;
            s->iso_done = r->isolate;
            seq_len[n_seq] = s->n_computed + take + drafts;
            r->b_tables[n_seq] = s->kv.blocks;
            s->n_rows = 0;
            if (s->n_computed + take == s->n_tokens) {
                s->row0 = n_log;
                for (j = drafts; j >= 0; j--)
                    logits_idx[n_log++] = n_tok - 1 - j;
                s->n_rows = drafts + 1;
            }
            n_seq++;
        }
    }
    if (n_tok == 0)
        return 0;
    if (n_log > r->logits_rows) {
        float *p = realloc(r->logits, (size_t)n_log * (size_t)r->n_vocab * sizeof *p);
        if (!p)
            return 0;
        r->logits = p;
        r->logits_rows = n_log;
    }
    b.struct_size = sizeof b;
    b.n_tokens = n_tok;
    b.n_seqs = n_seq;
    b.n_logits = n_log;
    b.tokens = tokens;
    b.pos = pos;
    b.seq = seq;
    b.seq_len = seq_len;
    b.block_table = r->b_tables;
    b.logits_idx = logits_idx;
    st = r->be_vt->forward(r->be, &b, r->logits, &err);
    if (st != FW_OK && n_seq > 1 && !r->isolate) {
        /* Find the culprit: nothing advanced, so run each sequence alone
         * once; only those that fail alone are failed. */
        fw_log(FW_LOG_WARN, "sched", "forward of %d sequences failed (%s); retrying one by one",
               n_seq, err.msg);
        r->isolate = 1;
        return 1;
    }
    if (st != FW_OK) {
        /* A backend error fails the requests of this batch only. */
        fw_log(FW_LOG_ERROR, "sched", "forward failed: %s", err.msg);
        for (i = 0; i < n_seq; i++) {
            push_error(seqs[i]->req, seqs[i]->choice, err.msg);
            atomic_store(&seqs[i]->req->cancelled, 1);
        }
        return 1;
    }
    pthread_mutex_lock(&r->mu);
    r->stats.steps++;
    pthread_mutex_unlock(&r->mu);
    for (i = 0; i < n_seq; i++) {
        s = seqs[i];
        s->n_computed = seq_len[i] - s->n_draft_in; /* drafts: settled by sample_rows */
        if (s->n_rows > 0)
            sample_rows(r, s, p0[i]);
        /* also when s just finished: its blocks outlive it in the prefix cache */
        fw_kv_seq_register(r->kv, &s->kv, s->tokens, s->n_computed);
    }
    /* remove finished sequences */
    for (pp = &r->running; (s = *pp) != NULL;) {
        if (s->state == 0) {
            *pp = s->next;
            r->n_running--;
            seq_free(r, s);
        } else {
            pp = &s->next;
        }
    }
    return 1;
}

/* ---- the scheduler thread -------------------------------------------------- */

static void *scheduler_main(void *arg)
{
    fw_runner *r = arg;
    fw_err err = {0};
    int32_t max_seqs = (int32_t)r->mc->max_batch_seqs;
    int32_t max_tokens = (int32_t)r->mc->max_batch_tokens;
    int32_t chunk = (int32_t)r->mc->prefill_chunk;

    if (load(r, &err) != FW_OK) {
        snprintf(r->error, sizeof r->error, "model %s: %s", r->mc->name, err.msg);
        fw_log(FW_LOG_ERROR, "model", "%s", r->error);
        atomic_store(&r->state, -1);
        return NULL;
    }
    if (max_tokens < max_seqs)
        max_tokens = max_seqs; /* every running sequence gets its decode token */
    if (batch_arrays(r, max_seqs, max_tokens) != 0) {
        snprintf(r->error, sizeof r->error, "model %s: out of memory for the batch", r->mc->name);
        atomic_store(&r->state, -1);
        return NULL;
    }
    atomic_store(&r->state, 1);

    while (!atomic_load(&r->stop)) {
        fw_req *admitted[64];
        int32_t n_admit = 0, n_compile = 0, i, room;

        /* preempted sequences first, then new requests while there is
         * room (sequences and KV blocks); sleep when idle */
        pthread_mutex_lock(&r->mu);
        while (!atomic_load(&r->stop) && r->q_len == 0 && !r->running && !r->preempted)
            pthread_cond_wait(&r->cond, &r->mu);
        pthread_mutex_unlock(&r->mu);
        room = fw_kv_cache_available(r->kv);
        resume_preempted(r, max_seqs, &room);
        pthread_mutex_lock(&r->mu);
        while (!r->preempted && r->q_len > 0 && n_admit < 64 && r->n_running + n_admit < max_seqs) {
            fw_req *q = r->queue[r->q_head];
            /* one new grammar compiled per step: running sequences wait
             * for each compile, not for all of them at once */
            if (q->grammar_source && !q->grammar && !atomic_load(&q->cancelled) && n_compile++ > 0)
                break;
            if (!atomic_load(&q->cancelled) &&
                !kv_room(r, &room, q->n_prompt, r->n_running + n_admit > 0))
                break;
            admitted[n_admit++] = q;
            r->q_head = (r->q_head + 1) % r->q_cap;
            r->q_len--;
        }
        pthread_mutex_unlock(&r->mu);
        for (i = 0; i < n_admit; i++) {
            pthread_mutex_lock(&r->mu);
            r->stats.prompt_tokens += (uint64_t)admitted[i]->n_prompt;
            pthread_mutex_unlock(&r->mu);
            admit(r, admitted[i]);
            fw_req_unref(admitted[i]); /* the queue's reference */
        }
        step(r, max_tokens, chunk);
        pthread_mutex_lock(&r->mu);
        r->stats.running = r->n_running;
        r->stats.waiting = r->q_len + r->n_preempted;
        fw_kv_cache_stats(r->kv, &r->stats.kv);
        pthread_mutex_unlock(&r->mu);
    }
    while (r->running) {
        fw_seq *s = r->running;
        r->running = s->next;
        seq_free(r, s);
    }
    while (r->preempted) {
        fw_seq *s = r->preempted;
        r->preempted = s->next;
        seq_free(r, s);
    }
    r->n_running = r->n_preempted = 0;
    return NULL;
}

fw_status fw_runner_create(const fw_model_config *mc, fw_registry *reg, fw_runner **out, fw_err *err)
{
    fw_runner *r = calloc(1, sizeof *r);

    *out = NULL;
    if (!r)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    r->mc = mc;
    r->reg = reg;
    atomic_init(&r->state, 0);
    atomic_init(&r->stop, 0);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->gmu, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, scheduler_main, r) != 0) {
        fw_runner_destroy(r);
        return fw_err_set(err, FW_ERR_INTERNAL, "cannot start the scheduler thread");
    }
    r->thread_started = 1;
    *out = r;
    return FW_OK;
}

void fw_runner_destroy(fw_runner *r)
{
    int32_t i;
    if (!r)
        return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->mu);
        atomic_store(&r->stop, 1);
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    while (r->q_len > 0) {
        fw_req_unref(r->queue[r->q_head]);
        r->q_head = (r->q_head + 1) % r->q_cap;
        r->q_len--;
    }
    free(r->queue);
    for (i = 0; i < FW_GRAMMAR_CACHE; i++) {
        if (r->gcache[i].g)
            r->gram_vt->grammar_free(r->gcache[i].g);
        free(r->gcache[i].text);
    }
    if (r->tpl)
        r->tpl_vt->destroy(r->tpl);
    fw_reasoning_rules_deinit(&r->rr);
    if (r->be)
        r->be_vt->destroy(r->be);
    fw_kv_cache_destroy(r->kv);
    fw_tokenizer_destroy(r->tok);
    fw_model_close(r->model);
    free(r->eos);
    free(r->vocab_bytes);
    free(r->vocab_len);
    free(r->logits);
    free(r->scratch);
    free(r->mask);
    batch_arrays_free(r);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->gmu);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int fw_runner_state(fw_runner *r) { return atomic_load(&r->state); }
const char *fw_runner_error(fw_runner *r) { return r->error; }
const char *fw_runner_name(const fw_runner *r) { return r->mc->name; }
const fw_tokenizer *fw_runner_tokenizer(const fw_runner *r) { return r->tok; }
const fw_template_vtable *fw_runner_template_vt(const fw_runner *r) { return r->tpl_vt; }
fw_template *fw_runner_template(const fw_runner *r) { return r->tpl; }
const fw_model_config *fw_runner_config(const fw_runner *r) { return r->mc; }
int32_t fw_runner_max_context(const fw_runner *r) { return r->max_context; }
const fw_model *fw_runner_model(const fw_runner *r) { return r->model; }
int fw_runner_reasoning_budgets(const fw_runner *r) { return r->rr.supported; }

fw_status fw_runner_submit(fw_runner *r, fw_req *req, int32_t queue_depth, fw_err *err)
{
    pthread_mutex_lock(&r->mu);
    if (r->q_len >= queue_depth) {
        pthread_mutex_unlock(&r->mu);
        return fw_err_set(err, FW_ERR_LIMIT, "the request queue is full (%d waiting)", queue_depth);
    }
    if (r->q_len == r->q_cap) {
        int32_t cap = r->q_cap ? r->q_cap * 2 : 64, i;
        fw_req **p = malloc((size_t)cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&r->mu);
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        }
        for (i = 0; i < r->q_len; i++)
            p[i] = r->queue[(r->q_head + i) % r->q_cap];
        free(r->queue);
        r->queue = p;
        r->q_head = 0;
        r->q_cap = cap;
    }
    req->runner = r;
    req->t_submit_ns = now_ns();
    fw_req_ref(req);
    r->queue[(r->q_head + r->q_len) % r->q_cap] = req;
    r->q_len++;
    r->stats.waiting = r->q_len;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
    return FW_OK;
}

void fw_runner_get_stats(fw_runner *r, fw_runner_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}
