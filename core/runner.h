/* core/runner.h -- one served model: its loaded parts and the scheduler
 * thread that runs continuous batching over them.
 *
 * Threads: fw_runner_submit / fw_req_* are called from the HTTP thread; the
 * scheduler thread owns the backend, the KV cache, samplers and matchers.
 * They meet only in fw_req's event queue (mutex) and the runner's submit
 * queue (mutex + condition), and through atomics (cancel, refs).
 */
#ifndef FW_CORE_RUNNER_H
#define FW_CORE_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <fireworks/backend.h>
#include <fireworks/grammar.h>
#include <fireworks/sampler.h>
#include <fireworks/template.h>

#include "config.h"
#include "kv_cache.h"
#include "model.h"
#include "plugin.h"
#include "reasoning.h"
#include "tokenizer.h"

struct event;
struct event_base;

typedef enum fw_finish {
    FW_FINISH_NONE = 0,
    FW_FINISH_STOP = 1,   /* eos / stop token: the token is not output */
    FW_FINISH_LENGTH = 2, /* max_tokens or context: the token is output */
    FW_FINISH_ERROR = 3,  /* no token; req->error says why */
    FW_FINISH_DONE = 4,   /* the grammar is complete: the token is output, then "stop" */
} fw_finish;

/* One sampled token of one choice, scheduler -> HTTP thread. */
typedef struct fw_tok_event {
    int32_t choice;
    int32_t token;        /* -1 with FW_FINISH_ERROR, and with FW_FINISH_LENGTH
                           * for max_tokens 0 (nothing sampled) */
    uint32_t finish;      /* fw_finish */
    float logprob;
    float sampling_logprob;
    int32_t n_top;
    int32_t top_token[FW_MAX_TOP_LOGPROBS];
    float top_logprob[FW_MAX_TOP_LOGPROBS];
} fw_tok_event;

typedef struct fw_runner fw_runner;

/* A request as the scheduler sees it.  Created by the HTTP side, shared by
 * reference count; the scheduler holds one reference while any of its
 * sequences live. */
typedef struct fw_req {
    /* set before submit, then read-only */
    fw_runner *runner;
    int32_t *prompt;          /* (n_prompt) */
    int32_t n_prompt;
    int32_t n_choices;
    int64_t max_tokens;       /* per choice; 0: prefill only, each choice ends "length" */
    fw_sampling_params sampling; /* n_vocab, eos, prompt filled by the runner */
    fw_logit_bias *logit_bias;   /* owned copy (sampling.logit_bias points here) */
    uint32_t grammar_source;  /* 0 = none, else fw_grammar_source */
    char *grammar_text;       /* owned */
    const fw_grammar_vtable *gram_vt; /* set by fw_runner_grammar */
    fw_grammar *grammar;      /* compiled with the vocabulary at admission (or cached) */
    void *grammar_cache;      /* the runner's cache entry holding grammar; NULL: owned here */
    uint64_t cache_salt;      /* prompt_cache_isolation_key / user hash */
    int ignore_eos;
    int32_t *draft;           /* (n_draft) speculation: the predicted output, owned */
    int32_t n_draft;
    int64_t reasoning_budget; /* reasoning tokens per choice; -1 = no cap */
    int32_t reasoning_open;   /* 1: the prompt leaves reasoning open; -1: it closed it */
    uint64_t t_submit_ns;

    /* scheduler -> HTTP */
    pthread_mutex_t mu;
    fw_tok_event *events;     /* (n_events) pending, guarded by mu */
    int32_t n_events, cap_events;
    int32_t cached_tokens;    /* guarded by mu */
    int32_t spec_matched;     /* guarded by mu: draft tokens accepted */
    uint64_t t_first_token_ns;/* guarded by mu */
    char error[256];          /* guarded by mu, with a FW_FINISH_ERROR event */
    struct event *wake;       /* event_active'd after events are added */

    atomic_int cancelled;     /* HTTP -> scheduler: stop every choice */
    atomic_int refs;
    void (*on_free)(struct fw_req *r); /* HTTP side's destructor for its part */
    void *http;               /* the HTTP side's state */
} fw_req;

typedef struct fw_runner_stats {
    int32_t waiting;          /* requests queued */
    int32_t running;          /* sequences in the batch */
    fw_kv_stats kv;
    uint64_t steps;
    uint64_t prompt_tokens, generated_tokens;
    uint64_t preemptions;     /* sequences preempted for KV blocks (recomputed later) */
} fw_runner_stats;

/* Starts the scheduler thread, which loads the model first. */
fw_status fw_runner_create(const fw_model_config *mc, fw_registry *reg, fw_runner **out, fw_err *err);
/* Cancels everything, joins the thread, frees the model. */
void fw_runner_destroy(fw_runner *r);

/* 1 loaded, 0 loading, -1 failed (fw_runner_error says why). */
int fw_runner_state(fw_runner *r);
const char *fw_runner_error(fw_runner *r);
const char *fw_runner_name(const fw_runner *r);

/* Valid once loaded; used read-only by the HTTP thread. */
const fw_tokenizer *fw_runner_tokenizer(const fw_runner *r);
const fw_template_vtable *fw_runner_template_vt(const fw_runner *r);
fw_template *fw_runner_template(const fw_runner *r);
const fw_model_config *fw_runner_config(const fw_runner *r);
int32_t fw_runner_max_context(const fw_runner *r);
const fw_model *fw_runner_model(const fw_runner *r);
/* 1 when the template caps reasoning (fw_template_vtable.reasoning_tags). */
int fw_runner_reasoning_budgets(const fw_runner *r);

/* Checks req's grammar (grammar_source, grammar_text) without the
 * vocabulary, or finds it compiled in the runner's cache and holds it for
 * req until req is freed.  HTTP thread, before submit, so that a grammar
 * that does not compile is the client's error (FW_ERR_INVALID, err says
 * where), not a failed generation; the scheduler compiles it with the
 * vocabulary (once per cache entry) when it admits req. */
fw_status fw_runner_grammar(fw_runner *r, fw_req *req, fw_err *err);
/* Queues req (takes a reference).  FW_ERR_LIMIT when the queue is full. */
fw_status fw_runner_submit(fw_runner *r, fw_req *req, int32_t queue_depth, fw_err *err);
void fw_runner_get_stats(fw_runner *r, fw_runner_stats *out);

fw_req *fw_req_new(void);
void fw_req_ref(fw_req *q);
void fw_req_unref(fw_req *q);
/* Moves pending events out (caller frees *events). */
int32_t fw_req_take_events(fw_req *q, fw_tok_event **events);

#endif
