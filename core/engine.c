/* core/engine.c -- the served models behind the HTTP server, and the
 * POST /v1/chat/completions path on the event-loop thread:
 *
 *   body -> fw_chat_request (validated) -> template render -> token ids
 *   -> fw_req submitted to the model's runner (scheduler thread)
 *   <- sampled tokens (event_active wakes this thread)
 *   -> incremental detokenizer -> stop sequences -> template parser
 *   -> SSE chunks, or one ChatCompletionResponse at the end.
 */
#include "fwbuild.h"

#include "engine.h"
#include "api_error.h"
#include "api_request.h"
#include "api_response.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "runner.h"
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct fw_engine {
    const fw_config *cfg;
    struct event_base *base;
    fw_runner **runners; /* (n_runners), one per configured model */
    int32_t n_runners;
    int32_t in_flight;   /* requests not yet answered */
    int draining;
    uint64_t next_id;
    fw_metrics *metrics;
};

/* ---- per-request HTTP state -------------------------------------------------- */

typedef struct tool_call {
    char *id, *name;
    fw_buf args;
} tool_call;

typedef struct choice {
    fw_detok detok;
    fw_chat_parser *parser;
    fw_buf pending;      /* decoded text not yet past the stop-sequence check */
    fw_buf raw;          /* all text (raw_output) */
    fw_buf content, reasoning;
    tool_call *calls;
    int32_t n_calls;
    int call_in_content; /* tool_choice "none": a call's JSON is open in content */
    int call_dropped;    /* parallel_tool_calls false: the call being parsed is dropped */
    int32_t *token_ids;  /* (n_tokens) */
    int32_t n_tokens, cap_tokens;
    fw_api_logprob *lp;  /* (n_lp) */
    int32_t n_lp, cap_lp, lp_sent;
    const char *finish;  /* NULL until done */
    int done;
    /* streaming: deltas gathered during one wake */
    fw_buf d_content, d_reasoning;
    fw_api_tool_call *d_calls;
    int32_t n_d_calls, cap_d_calls;
    fw_buf d_args;       /* argument fragments, d_calls point into it (offsets) */
    size_t *d_arg_off;
} choice;

typedef struct chat {
    fw_engine *engine;
    fw_runner *runner;
    fw_req *req;
    struct evhttp_request *http; /* NULL once the client is gone */
    struct evhttp_connection *conn;
    fw_chat_request *cr;
    char id[48];
    int64_t created;
    choice *choices;
    int32_t n_choices, n_done;
    int stream, started, finished, failed;
    char error[256];
    fw_api_fragment *frags;  /* the rendered prompt as pieces */
    int32_t n_frags, cap_frags;
    fw_buf frag_text;        /* text of fragments, NUL-separated */
    int frags_fixed;         /* frags[].text point into frag_text (else offsets + 1) */
    char *echo_text;
    uint64_t t_start_ns;
    uint64_t t_last_token_ns;
    struct event *timer;     /* request_timeout_s */
    int64_t completion_tokens;
} chat;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void send_api_error(struct evhttp_request *http, int status, const char *code,
                           const char *message)
{
    char *body = fw_api_error_json(status, code, message);
    if (body) {
        fw_http_send_json(http, status, body, strlen(body));
        free(body);
    } else {
        fw_http_send_error(http, 500, "internal_server_error", "out_of_memory", "out of memory");
    }
}

/* An answer before the request reaches the runner, counted in the metrics. */
static void reject(fw_engine *e, struct evhttp_request *http, int status, const char *code,
                   const char *message)
{
    send_api_error(http, status, code, message);
    fw_metrics_request_done(e->metrics, status, 0, 0);
}

/* A 422 {"detail": [...]} with one value_error at ["body", key1, key2]
 * (keys may be NULL), for what only the engine can check: the template
 * cannot express the request, a grammar does not compile. */
static void reject_detail(fw_engine *e, struct evhttp_request *http, const char *key1,
                          const char *key2, const char *message)
{
    fw_api_loc body = {NULL, "body", 0}, k1 = {&body, key1, 0}, k2 = {&k1, key2, 0};
    fw_api_errors errs;
    char *json;

    fw_api_errors_init(&errs);
    fw_api_errors_add(&errs, key2 ? &k2 : key1 ? &k1 : &body, "value_error", "Value error, %s", message);
    json = fw_api_errors_json(&errs);
    if (json)
        fw_http_send_json(http, 422, json, strlen(json));
    else
        send_api_error(http, 500, "internal_server_error", "out of memory");
    fw_metrics_request_done(e->metrics, json ? 422 : 500, 0, 0);
    free(json);
    fw_api_errors_deinit(&errs);
}

/* ---- prompt rendering ---------------------------------------------------------- */

typedef struct render_ctx {
    const fw_tokenizer *tok;
    int32_t *ids;
    size_t n, cap;
    chat *c;     /* collects fragments for raw_output; may be NULL */
    fw_err *err;
} render_ctx;

static fw_status push_ids(render_ctx *rc, const int32_t *ids, size_t n)
{
    if (rc->n + n > rc->cap) {
        size_t cap = rc->cap ? rc->cap : 256;
        int32_t *p;
        while (cap < rc->n + n)
            cap *= 2;
        p = realloc(rc->ids, cap * sizeof *p);
        if (!p)
            return FW_ERR_NOMEM;
        rc->ids = p;
        rc->cap = cap;
    }
    memcpy(rc->ids + rc->n, ids, n * sizeof *ids);
    rc->n += n;
    return FW_OK;
}

static void push_frag(chat *c, const char *text, size_t n, int32_t token)
{
    fw_api_fragment *p;
    if (!c)
        return;
    if (c->n_frags == c->cap_frags) {
        int32_t cap = c->cap_frags ? c->cap_frags * 2 : 32;
        p = realloc(c->frags, (size_t)cap * sizeof *p);
        if (!p)
            return;
        c->frags = p;
        c->cap_frags = cap;
    }
    /* text pointers are fixed up after rendering (frag_text may move) */
    c->frags[c->n_frags].text = text ? (const char *)(uintptr_t)(c->frag_text.len + 1) : NULL;
    c->frags[c->n_frags].token = token;
    if (text) {
        fw_buf_append(&c->frag_text, text, n);
        fw_buf_putc(&c->frag_text, '\0');
    }
    c->n_frags++;
}

static fw_status sink_text(void *ctx, const char *s, size_t n)
{
    render_ctx *rc = ctx;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    fw_status st = fw_tokenizer_encode(rc->tok, s, n, 0, &ids, &n_ids, rc->err);
    if (st == FW_OK)
        st = push_ids(rc, ids, n_ids);
    free(ids);
    push_frag(rc->c, s, n, -1);
    return st;
}

static fw_status sink_special(void *ctx, const char *token)
{
    render_ctx *rc = ctx;
    int32_t id = fw_tokenizer_token_id(rc->tok, token);
    if (id < 0) {
        /* Not a single token in this vocabulary: encode it as text with
         * special matching (it may still contain specials). */
        int32_t *ids = NULL;
        size_t n_ids = 0;
        fw_status st = fw_tokenizer_encode(rc->tok, token, strlen(token), 1, &ids, &n_ids, rc->err);
        if (st == FW_OK)
            st = push_ids(rc, ids, n_ids);
        free(ids);
        push_frag(rc->c, token, strlen(token), -1);
        return st;
    }
    push_frag(rc->c, NULL, 0, id);
    return push_ids(rc, &id, 1);
}

static fw_status render(fw_runner *r, const char *doc, chat *c, int32_t **ids, int32_t *n,
                        fw_err *err)
{
    render_ctx rc = {.tok = fw_runner_tokenizer(r), .c = c, .err = err};
    fw_prompt_sink sink = {sizeof sink, &rc, sink_text, sink_special};
    fw_status st;

    if (c) {
        c->n_frags = 0;
        fw_buf_reset(&c->frag_text);
    }
    st = fw_runner_template_vt(r)->render(fw_runner_template(r), doc, &sink, err);
    if (st != FW_OK) {
        free(rc.ids);
        return st;
    }
    *ids = rc.ids;
    *n = (int32_t)rc.n;
    return FW_OK;
}

/* A prompt fragment's bytes (its text, or its special token's); NULL when
 * the token has none. */
static const char *frag_bytes(const chat *c, const fw_api_fragment *f, const fw_tokenizer *tok,
                              size_t *len)
{
    const char *text;
    if (!f->text)
        return fw_tokenizer_token_bytes(tok, f->token, len);
    text = c->frag_text.data + ((uintptr_t)f->text - 1);
    *len = strlen(text);
    return text;
}

/* Does the prompt end inside an open reasoning block ("...<think>\n")?  Then
 * the output starts as reasoning and the parser must know: 1.  -1 when it
 * ends with a closed one ("<think>\n\n</think>\n\n": thinking disabled), else 0. */
static int prompt_opens_thinking(const chat *c, const fw_tokenizer *tok)
{
    int32_t i;
    for (i = c->n_frags - 1; i >= 0; i--) {
        size_t len, k;
        const char *text = frag_bytes(c, &c->frags[i], tok, &len);
        if (!text)
            return 0;
        k = len;
        while (k > 0 && (text[k - 1] == '\n' || text[k - 1] == ' '))
            k--;
        if (k == 0)
            continue; /* whitespace only: look at the piece before */
        if (k >= 8 && !memcmp(text + k - 8, "</think>", 8))
            return -1;
        return k >= 7 && !memcmp(text + k - 7, "<think>", 7);
    }
    return 0;
}

/* An assistant prefill (no generation prompt): the output continues the
 * final turn, inside a reasoning block when the prefill opened one and did
 * not close it: 1, else -1.  The turn starts after the last special token
 * that is not a reasoning tag (every template's turn markers are). */
static int prefill_opens_thinking(const chat *c, const fw_tokenizer *tok)
{
    int32_t i;
    for (i = c->n_frags - 1; i >= 0; i--) {
        const char *open = NULL, *close = NULL, *at;
        size_t len;
        const char *text = frag_bytes(c, &c->frags[i], tok, &len);
        if (!text || (!c->frags[i].text && !((len == 7 && !memcmp(text, "<think>", 7)) ||
                                             (len == 8 && !memcmp(text, "</think>", 8)))))
            return -1;
        for (at = text; (at = memmem(at, len - (size_t)(at - text), "<think>", 7)) != NULL; at += 7)
            open = at;
        for (at = text; (at = memmem(at, len - (size_t)(at - text), "</think>", 8)) != NULL; at += 8)
            close = at;
        if (open && (!close || open > close))
            return 1;
        if (close)
            return -1;
    }
    return -1;
}

/* prompt_truncate_len: drop the oldest non-system messages (never the last)
 * until the prompt fits; returns the final rendering. */
static fw_status render_truncated(fw_runner *r, const fw_chat_request *cr, chat *c, int32_t **ids,
                                  int32_t *n, fw_err *err)
{
    cJSON *doc, *msgs;
    fw_status st = render(r, cr->template_json, c, ids, n, err);

    if (st != FW_OK || cr->prompt_truncate_len <= 0 || *n <= cr->prompt_truncate_len)
        return st;
    doc = cJSON_Parse(cr->template_json);
    msgs = doc ? cJSON_GetObjectItemCaseSensitive(doc, "messages") : NULL;
    while (st == FW_OK && *n > cr->prompt_truncate_len && msgs) {
        int32_t i, count = cJSON_GetArraySize(msgs), victim = -1;
        char *text;
        for (i = 0; i < count - 1 && victim < 0; i++) {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, i), "role");
            if (!cJSON_IsString(role) || (strcmp(role->valuestring, "system") != 0 &&
                                          strcmp(role->valuestring, "developer") != 0))
                victim = i;
        }
        if (victim < 0)
            break;
        cJSON_DeleteItemFromArray(msgs, victim);
        text = cJSON_PrintUnformatted(doc);
        if (!text)
            break;
        free(*ids);
        *ids = NULL;
        st = render(r, text, c, ids, n, err);
        free(text);
    }
    cJSON_Delete(doc);
    return st;
}

/* ---- output assembly ----------------------------------------------------------- */

static void choice_init(choice *ch, const fw_tokenizer *tok)
{
    memset(ch, 0, sizeof *ch);
    fw_detok_init(&ch->detok, tok, 1);
    fw_buf_init(&ch->pending);
    fw_buf_init(&ch->raw);
    fw_buf_init(&ch->content);
    fw_buf_init(&ch->reasoning);
    fw_buf_init(&ch->d_content);
    fw_buf_init(&ch->d_reasoning);
    fw_buf_init(&ch->d_args);
}

static void choice_deinit(choice *ch, const fw_template_vtable *vt)
{
    int32_t i;
    fw_detok_deinit(&ch->detok);
    if (ch->parser)
        vt->parser_free(ch->parser);
    fw_buf_deinit(&ch->pending);
    fw_buf_deinit(&ch->raw);
    fw_buf_deinit(&ch->content);
    fw_buf_deinit(&ch->reasoning);
    fw_buf_deinit(&ch->d_content);
    fw_buf_deinit(&ch->d_reasoning);
    fw_buf_deinit(&ch->d_args);
    for (i = 0; i < ch->n_calls; i++) {
        free(ch->calls[i].id);
        free(ch->calls[i].name);
        fw_buf_deinit(&ch->calls[i].args);
    }
    free(ch->calls);
    free(ch->token_ids);
    free(ch->lp);
    free(ch->d_calls);
    free(ch->d_arg_off);
}

static void d_call_add(choice *ch, int32_t index, const char *id, const char *name,
                       const char *args, size_t n)
{
    if (ch->n_d_calls == ch->cap_d_calls) {
        int32_t cap = ch->cap_d_calls ? ch->cap_d_calls * 2 : 8;
        fw_api_tool_call *p = realloc(ch->d_calls, (size_t)cap * sizeof *p);
        size_t *o = realloc(ch->d_arg_off, (size_t)cap * sizeof *o);
        if (p)
            ch->d_calls = p;
        if (o)
            ch->d_arg_off = o;
        if (!p || !o)
            return;
        ch->cap_d_calls = cap;
    }
    ch->d_arg_off[ch->n_d_calls] = ch->d_args.len;
    fw_buf_append(&ch->d_args, args, n);
    ch->d_calls[ch->n_d_calls] = (fw_api_tool_call){index, id, name, NULL, n};
    ch->n_d_calls++;
}

typedef struct parse_ctx {
    chat *c;
    choice *ch;
} parse_ctx;

static void content_add(choice *ch, const char *s, size_t n)
{
    fw_buf_append(&ch->content, s, n);
    fw_buf_append(&ch->d_content, s, n);
}

/* tool_choice "none" forbids calls: one the model writes anyway is not
 * returned as a call; its {"name": ..., "arguments": ...} JSON goes to
 * content.  A call ends at the next event (or the end of the output). */
static void call_as_content(choice *ch, const fw_parse_event *ev)
{
    if (ch->call_in_content && (!ev || ev->kind != FW_PARSE_TOOL_ARGS)) {
        content_add(ch, "}", 1);
        ch->call_in_content = 0;
    }
    if (!ev)
        return;
    if (ev->kind == FW_PARSE_TOOL_BEGIN) {
        fw_buf t;
        fw_buf_init(&t);
        fw_buf_puts(&t, "{\"name\": ");
        fw_buf_json_str(&t, ev->name ? ev->name : "", ev->name ? strlen(ev->name) : 0);
        fw_buf_puts(&t, ", \"arguments\": ");
        content_add(ch, t.data, t.len);
        fw_buf_deinit(&t);
        ch->call_in_content = 1;
    } else if (ev->kind == FW_PARSE_TOOL_ARGS && ch->call_in_content) {
        content_add(ch, ev->text, ev->text_len);
    }
}

static fw_status on_parse(void *ctx, const fw_parse_event *ev)
{
    parse_ctx *pc = ctx;
    choice *ch = pc->ch;

    if (pc->c->cr->tool_choice == FW_TOOL_CHOICE_NONE) {
        call_as_content(ch, ev);
        if (ev->kind == FW_PARSE_TOOL_BEGIN || ev->kind == FW_PARSE_TOOL_ARGS)
            return FW_OK;
    }
    /* parallel_tool_calls false: the first call only, as vLLM; later ones
     * are dropped, not turned into content (stream and whole alike) */
    if (!pc->c->cr->parallel_tool_calls && ev->kind == FW_PARSE_TOOL_BEGIN)
        ch->call_dropped = ch->n_calls > 0;
    if (ch->call_dropped && (ev->kind == FW_PARSE_TOOL_BEGIN || ev->kind == FW_PARSE_TOOL_ARGS))
        return FW_OK;
    switch (ev->kind) {
    case FW_PARSE_CONTENT:
        content_add(ch, ev->text, ev->text_len);
        break;
    case FW_PARSE_REASONING:
        fw_buf_append(&ch->reasoning, ev->text, ev->text_len);
        fw_buf_append(&ch->d_reasoning, ev->text, ev->text_len);
        break;
    case FW_PARSE_TOOL_BEGIN: {
        tool_call *p = realloc(ch->calls, ((size_t)ch->n_calls + 1) * sizeof *p);
        char idbuf[64];
        if (!p)
            return FW_ERR_NOMEM;
        ch->calls = p;
        p = &ch->calls[ch->n_calls++];
        memset(p, 0, sizeof *p);
        if (ev->id && *ev->id) {
            p->id = strdup(ev->id);
        } else {
            snprintf(idbuf, sizeof idbuf, "call_%s_%d_%d", pc->c->id + 9, (int)(ch - pc->c->choices),
                     ev->tool_index);
            p->id = strdup(idbuf);
        }
        p->name = strdup(ev->name ? ev->name : "");
        fw_buf_init(&p->args);
        if (!p->id || !p->name)
            return FW_ERR_NOMEM;
        d_call_add(ch, ch->n_calls - 1, p->id, p->name, "", 0);
        break;
    }
    case FW_PARSE_TOOL_ARGS:
        if (ch->n_calls > 0) {
            fw_buf_append(&ch->calls[ch->n_calls - 1].args, ev->text, ev->text_len);
            d_call_add(ch, ch->n_calls - 1, NULL, NULL, ev->text, ev->text_len);
        }
        break;
    }
    return FW_OK;
}

/* Text that passed the stop check goes to the template's parser. */
static void emit_text(chat *c, choice *ch, const char *s, size_t n)
{
    parse_ctx pc = {c, ch};
    fw_err err = {0};
    if (!n)
        return;
    fw_buf_append(&ch->raw, s, n);
    if (fw_runner_template_vt(c->runner)->parser_feed(ch->parser, s, n, on_parse, &pc, &err) != FW_OK)
        fw_log(FW_LOG_WARN, "api", "%s: output parser: %s", c->id, err.msg);
}

/* Stop sequences are matched across token boundaries: text that could be
 * the start of one is held back.  Returns 1 when a stop sequence matched. */
static int check_stops(chat *c, choice *ch, int final)
{
    const fw_chat_request *cr = c->cr;
    size_t hold = 0, best = (size_t)-1, i;
    int s;

    for (s = 0; s < cr->n_stop; s++) {
        const char *hit = memmem(ch->pending.data ? ch->pending.data : "", ch->pending.len,
                                 cr->stop[s], strlen(cr->stop[s]));
        if (hit && (size_t)(hit - ch->pending.data) < best)
            best = (size_t)(hit - ch->pending.data);
    }
    if (best != (size_t)-1) {
        emit_text(c, ch, ch->pending.data, best);
        fw_buf_reset(&ch->pending);
        return 1;
    }
    if (!final) {
        for (s = 0; s < cr->n_stop; s++) {
            size_t sl = strlen(cr->stop[s]);
            for (i = sl - 1; i > hold && i > 0; i--)
                if (i <= ch->pending.len &&
                    !memcmp(ch->pending.data + ch->pending.len - i, cr->stop[s], i)) {
                    hold = i;
                    break;
                }
        }
    }
    emit_text(c, ch, ch->pending.data, ch->pending.len - hold);
    memmove(ch->pending.data, ch->pending.data + ch->pending.len - hold, hold);
    ch->pending.len = hold;
    if (ch->pending.data)
        ch->pending.data[hold] = '\0';
    return 0;
}

static void finish_choice(chat *c, choice *ch, const char *reason)
{
    const char *delta;
    size_t n;
    parse_ctx pc = {c, ch};
    fw_err err = {0};

    if (ch->done)
        return;
    if (fw_detok_flush(&ch->detok, &delta, &n, &err) == FW_OK)
        fw_buf_append(&ch->pending, delta, n);
    if (check_stops(c, ch, 1))
        reason = "stop";
    fw_runner_template_vt(c->runner)->parser_finish(ch->parser, on_parse, &pc, &err);
    call_as_content(ch, NULL);
    if (!strcmp(reason, "stop") && ch->n_calls > 0)
        reason = "tool_calls";
    ch->finish = reason;
    ch->done = 1;
    c->n_done++;
}

static void add_logprob(chat *c, choice *ch, const fw_tok_event *ev)
{
    const fw_tokenizer *tok = fw_runner_tokenizer(c->runner);
    fw_api_logprob *lp;
    int32_t i;

    if (ch->n_lp == ch->cap_lp) {
        int32_t cap = ch->cap_lp ? ch->cap_lp * 2 : 32;
        fw_api_logprob *p = realloc(ch->lp, (size_t)cap * sizeof *p);
        if (!p)
            return;
        ch->lp = p;
        ch->cap_lp = cap;
    }
    lp = &ch->lp[ch->n_lp++];
    memset(lp, 0, sizeof *lp);
    lp->token_id = ev->token;
    lp->token = fw_tokenizer_token_bytes(tok, ev->token, &lp->token_len);
    if (!lp->token) {
        lp->token = "";
        lp->token_len = 0;
    }
    lp->logprob = ev->logprob;
    lp->sampling_logprob = ev->sampling_logprob;
    lp->has_sampling_logprob = 1;
    lp->text_offset = (int32_t)(ch->raw.len + ch->pending.len);
    lp->n_top = ev->n_top < c->cr->top_logprobs ? ev->n_top : c->cr->top_logprobs;
    for (i = 0; i < lp->n_top; i++) {
        lp->top[i].token_id = ev->top_token[i];
        lp->top[i].token = fw_tokenizer_token_bytes(tok, ev->top_token[i], &lp->top[i].token_len);
        if (!lp->top[i].token) {
            lp->top[i].token = "";
            lp->top[i].token_len = 0;
        }
        lp->top[i].logprob = ev->top_logprob[i];
    }
}

static void on_token(chat *c, const fw_tok_event *ev)
{
    choice *ch;
    const char *delta;
    size_t n;
    fw_err err = {0};

    if (ev->choice < 0 || ev->choice >= c->n_choices)
        return;
    ch = &c->choices[ev->choice];
    if (ch->done)
        return;
    if (ev->finish == FW_FINISH_ERROR) {
        c->failed = 1;
        pthread_mutex_lock(&c->req->mu);
        snprintf(c->error, sizeof c->error, "%s", c->req->error[0] ? c->req->error : "generation failed");
        pthread_mutex_unlock(&c->req->mu);
        finish_choice(c, ch, "stop");
        return;
    }
    if (ev->token >= 0 && ev->finish != FW_FINISH_STOP) {
        /* the token is part of the output */
        if (ch->n_tokens == ch->cap_tokens) {
            int32_t cap = ch->cap_tokens ? ch->cap_tokens * 2 : 64;
            int32_t *p = realloc(ch->token_ids, (size_t)cap * sizeof *p);
            if (p) {
                ch->token_ids = p;
                ch->cap_tokens = cap;
            }
        }
        if (ch->n_tokens < ch->cap_tokens)
            ch->token_ids[ch->n_tokens++] = ev->token;
        c->completion_tokens++;
        if (c->cr->logprobs_mode != FW_LOGPROBS_NONE)
            add_logprob(c, ch, ev);
        if (fw_detok_feed(&ch->detok, ev->token, &delta, &n, &err) == FW_OK)
            fw_buf_append(&ch->pending, delta, n);
        if (check_stops(c, ch, 0)) {
            finish_choice(c, ch, "stop");
            if (c->n_done == c->n_choices)
                atomic_store(&c->req->cancelled, 1);
            return;
        }
    } else if (ev->token >= 0) {
        c->completion_tokens++; /* the stop token was generated, as OpenAI counts */
    }
    if (ev->finish == FW_FINISH_STOP || ev->finish == FW_FINISH_DONE)
        finish_choice(c, ch, "stop");
    else if (ev->finish == FW_FINISH_LENGTH)
        finish_choice(c, ch, "length");
}

/* ---- writing responses ------------------------------------------------------------ */

static void fill_usage(const chat *c, fw_api_usage *u)
{
    u->prompt_tokens = c->req->n_prompt;
    u->completion_tokens = c->completion_tokens;
    pthread_mutex_lock(&c->req->mu);
    u->cached_tokens = c->req->cached_tokens;
    pthread_mutex_unlock(&c->req->mu);
}

static void fill_perf(const chat *c, fw_api_perf *p)
{
    uint64_t first;
    fw_api_perf_init(p);
    pthread_mutex_lock(&c->req->mu);
    first = c->req->t_first_token_ns;
    p->cached_prompt_tokens = c->req->cached_tokens;
    pthread_mutex_unlock(&c->req->mu);
    if (c->req->n_draft > 0) {
        p->speculation_prompt_tokens = c->req->n_draft;
        pthread_mutex_lock(&c->req->mu);
        p->speculation_prompt_matched_tokens = c->req->spec_matched;
        pthread_mutex_unlock(&c->req->mu);
        p->speculation_generated_tokens = c->completion_tokens;
    }
    p->prompt_tokens = c->req->n_prompt;
    p->server_time_to_first_token_s = first ? (double)(first - c->t_start_ns) / 1e9 : 0.0;
    p->server_processing_time_s = (double)(now_ns() - c->t_start_ns) / 1e9;
}

static void fix_fragments(chat *c)
{
    int32_t i;
    if (c->frags_fixed)
        return;
    c->frags_fixed = 1;
    for (i = 0; i < c->n_frags; i++)
        if (c->frags[i].text)
            c->frags[i].text = c->frag_text.data + ((uintptr_t)c->frags[i].text - 1);
}

static void fill_raw(chat *c, choice *ch, fw_api_raw_output *raw, fw_api_logprobs *lps)
{
    memset(raw, 0, sizeof *raw);
    raw->fragments = c->frags;
    raw->n_fragments = c->n_frags;
    raw->prompt_token_ids = c->req->prompt;
    raw->n_prompt_token_ids = c->req->n_prompt;
    raw->completion = ch->raw.data ? ch->raw.data : "";
    raw->completion_len = ch->raw.len;
    raw->completion_token_ids = ch->token_ids;
    raw->n_completion_token_ids = ch->n_tokens;
    raw->completion_logprobs = lps->mode == FW_LOGPROBS_NEW ? lps : NULL;
    raw->grammar = c->req->grammar_text;
}

static void send_final(chat *c)
{
    fw_api_choice *out = calloc((size_t)c->n_choices, sizeof *out);
    fw_api_tool_call **calls = calloc((size_t)c->n_choices, sizeof *calls);
    fw_api_raw_output *raws = calloc((size_t)c->n_choices, sizeof *raws);
    fw_api_response resp = {0};
    fw_api_usage usage;
    fw_api_perf perf;
    struct evkeyvalq *h;
    fw_buf body;
    char num[64];
    int32_t i, j;

    if (!out || !calls || !raws) {
        send_api_error(c->http, 500, "internal_server_error", "out of memory");
        goto out;
    }
    fw_buf_init(&body);
    fill_usage(c, &usage);
    fill_perf(c, &perf);
    for (i = 0; i < c->n_choices; i++) {
        choice *ch = &c->choices[i];
        fw_api_choice *o = &out[i];
        o->index = i;
        o->content = ch->content.data ? ch->content.data : "";
        o->content_len = ch->content.len;
        if (ch->reasoning.len) {
            o->reasoning_content = ch->reasoning.data;
            o->reasoning_len = ch->reasoning.len;
        }
        if (ch->n_calls) {
            calls[i] = calloc((size_t)ch->n_calls, sizeof **calls);
            if (calls[i]) {
                for (j = 0; j < ch->n_calls; j++) {
                    calls[i][j].index = j;
                    calls[i][j].id = ch->calls[j].id;
                    calls[i][j].name = ch->calls[j].name;
                    calls[i][j].arguments = ch->calls[j].args.data ? ch->calls[j].args.data : "{}";
                    calls[i][j].arguments_len = ch->calls[j].args.data ? ch->calls[j].args.len : 2;
                }
                o->tool_calls = calls[i];
                o->n_tool_calls = ch->n_calls;
            }
        }
        o->finish_reason = ch->finish;
        o->logprobs.mode = c->cr->logprobs_mode;
        o->logprobs.top_n = c->cr->top_logprobs;
        o->logprobs.items = ch->lp;
        o->logprobs.n = ch->n_lp;
        if (c->cr->return_token_ids) {
            o->token_ids = ch->token_ids;
            o->n_token_ids = ch->n_tokens;
        }
        if (c->cr->raw_output) {
            fill_raw(c, ch, &raws[i], &o->logprobs);
            o->raw_output = &raws[i];
        }
    }
    /* echo: the prompt text before each choice's content */
    if (c->echo_text) {
        for (i = 0; i < c->n_choices; i++) {
            choice *ch = &c->choices[i];
            fw_buf echoed;
            fw_buf_init(&echoed);
            fw_buf_puts(&echoed, c->echo_text);
            fw_buf_append(&echoed, ch->content.data ? ch->content.data : "", ch->content.len);
            fw_buf_deinit(&ch->content);
            ch->content = echoed;
            out[i].content = ch->content.data;
            out[i].content_len = ch->content.len;
        }
    }
    resp.id = c->id;
    resp.created = c->created;
    resp.model = c->cr->model;
    resp.choices = out;
    resp.n_choices = c->n_choices;
    resp.usage = &usage;
    resp.perf = c->cr->perf_metrics_in_response ? &perf : NULL;
    if (c->cr->return_token_ids) {
        resp.prompt_token_ids = c->req->prompt;
        resp.n_prompt_token_ids = c->req->n_prompt;
    }
    fw_api_response_write(&body, &resp);
    h = evhttp_request_get_output_headers(c->http);
    snprintf(num, sizeof num, "%lld", (long long)usage.prompt_tokens);
    evhttp_add_header(h, "fireworks-prompt-tokens", num);
    snprintf(num, sizeof num, "%lld", (long long)usage.cached_tokens);
    evhttp_add_header(h, "fireworks-cached-prompt-tokens", num);
    snprintf(num, sizeof num, "%.6f", perf.server_time_to_first_token_s);
    evhttp_add_header(h, "fireworks-server-time-to-first-token", num);
    snprintf(num, sizeof num, "%.6f", perf.server_processing_time_s);
    evhttp_add_header(h, "fireworks-server-processing-time", num);
    if (body.oom)
        send_api_error(c->http, 500, "internal_server_error", "out of memory");
    else
        fw_http_send_json(c->http, 200, body.data, body.len);
    fw_buf_deinit(&body);
out:
    for (i = 0; calls && i < c->n_choices; i++)
        free(calls[i]);
    free(calls);
    free(out);
    free(raws);
}

static void send_chunk_buf(chat *c, const fw_buf *b)
{
    struct evbuffer *eb;
    if (!c->http || !b->len)
        return;
    eb = evbuffer_new();
    if (!eb)
        return;
    evbuffer_add(eb, b->data, b->len);
    evhttp_send_reply_chunk(c->http, eb);
    evbuffer_free(eb);
}

static void stream_start(chat *c)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->http);
    fw_api_delta d = {0};
    fw_api_chunk k = {0};
    fw_buf b;
    int32_t i;

    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(c->http, 200, "OK");
    c->started = 1;
    fw_buf_init(&b);
    for (i = 0; i < c->n_choices; i++) {
        memset(&d, 0, sizeof d);
        d.index = i;
        d.role = "assistant";
        if (c->echo_text) {
            d.content = c->echo_text;
            d.content_len = strlen(c->echo_text);
        }
        memset(&k, 0, sizeof k);
        k.id = c->id;
        k.created = c->created;
        k.model = c->cr->model;
        k.choices = &d;
        k.n_choices = 1;
        if (c->cr->return_token_ids && i == 0) {
            k.prompt_token_ids = c->req->prompt;
            k.n_prompt_token_ids = c->req->n_prompt;
        }
        fw_api_sse_chunk(&b, &k);
    }
    send_chunk_buf(c, &b);
    fw_buf_deinit(&b);
}

/* Does the choice have anything to send in this wake? */
static int has_delta(const choice *ch)
{
    return ch->d_content.len || ch->d_reasoning.len || ch->n_d_calls || ch->n_lp > ch->lp_sent ||
           (ch->done && ch->finish);
}

/* Writes what one wake produced for each choice, then the end.  The last
 * chunk of the response (every choice done) carries usage and perf_metrics;
 * a choice's last chunk carries its finish_reason and raw_output. */
static void stream_flush(chat *c, int32_t *tok_start)
{
    fw_buf b;
    fw_api_raw_output raw;
    int32_t i, j, last = -1;

    fw_buf_init(&b);
    for (i = 0; c->n_done == c->n_choices && i < c->n_choices; i++)
        if (has_delta(&c->choices[i]))
            last = i;
    for (i = 0; i < c->n_choices; i++) {
        choice *ch = &c->choices[i];
        fw_api_delta d = {0};
        fw_api_chunk k = {0};
        fw_api_usage usage;
        fw_api_perf perf;
        fw_api_logprobs lps; /* raw_output's completion_logprobs: all of them */

        for (j = 0; j < ch->n_d_calls; j++) {
            ch->d_calls[j].arguments = ch->d_args.data ? ch->d_args.data + ch->d_arg_off[j] : "";
        }
        if (!has_delta(ch))
            continue;
        d.index = i;
        if (ch->d_content.len) {
            d.content = ch->d_content.data;
            d.content_len = ch->d_content.len;
        }
        if (ch->d_reasoning.len) {
            d.reasoning_content = ch->d_reasoning.data;
            d.reasoning_len = ch->d_reasoning.len;
        }
        d.tool_calls = ch->n_d_calls ? ch->d_calls : NULL;
        d.n_tool_calls = ch->n_d_calls;
        if (c->cr->logprobs_mode != FW_LOGPROBS_NONE && ch->n_lp > ch->lp_sent) {
            d.logprobs.mode = c->cr->logprobs_mode;
            d.logprobs.top_n = c->cr->top_logprobs;
            d.logprobs.items = ch->lp + ch->lp_sent;
            d.logprobs.n = ch->n_lp - ch->lp_sent;
            ch->lp_sent = ch->n_lp;
        }
        if (c->cr->return_token_ids && ch->n_tokens > tok_start[i]) {
            d.token_ids = ch->token_ids + tok_start[i];
            d.n_token_ids = ch->n_tokens - tok_start[i];
        }
        if (ch->done && ch->finish) {
            d.finish_reason = ch->finish;
            ch->finish = NULL; /* sent */
            if (c->cr->raw_output) {
                lps = (fw_api_logprobs){c->cr->logprobs_mode, c->cr->top_logprobs, ch->lp, ch->n_lp};
                fix_fragments(c);
                fill_raw(c, ch, &raw, &lps);
                d.raw_output = &raw;
            }
        }
        k.id = c->id;
        k.created = c->created;
        k.model = c->cr->model;
        k.choices = &d;
        k.n_choices = 1;
        if (i == last) {
            fill_usage(c, &usage);
            k.usage = &usage;
            if (c->cr->perf_metrics_in_response) {
                fill_perf(c, &perf);
                k.perf = &perf;
            }
        }
        fw_api_sse_chunk(&b, &k);
        fw_buf_reset(&ch->d_content);
        fw_buf_reset(&ch->d_reasoning);
        fw_buf_reset(&ch->d_args);
        ch->n_d_calls = 0;
    }
    send_chunk_buf(c, &b);
    fw_buf_deinit(&b);
}

/* ---- lifetime --------------------------------------------------------------------- */

static void on_conn_close(struct evhttp_connection *conn, void *arg);

/* The HTTP side is done with the request (answered or client gone). */
static void chat_end(chat *c)
{
    if (c->finished)
        return;
    c->finished = 1;
    atomic_store(&c->req->cancelled, 1);
    if (c->timer)
        evtimer_del(c->timer);
    if (c->conn)
        evhttp_connection_set_closecb(c->conn, NULL, NULL);
    c->engine->in_flight--;
    if (c->engine->draining && c->engine->in_flight == 0)
        event_base_loopexit(c->engine->base, NULL);
    fw_req_unref(c->req); /* frees c through on_free once the scheduler lets go */
}

static void chat_free(fw_req *q)
{
    chat *c = q->http;
    int32_t i;
    if (!c)
        return;
    if (q->wake)
        event_free(q->wake);
    if (c->timer)
        event_free(c->timer);
    for (i = 0; i < c->n_choices; i++)
        choice_deinit(&c->choices[i], fw_runner_template_vt(c->runner));
    free(c->choices);
    free(c->frags);
    fw_buf_deinit(&c->frag_text);
    free(c->echo_text);
    fw_chat_request_destroy(c->cr);
    free(c);
}

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
    chat *c = arg;
    struct evhttp_request *req = c->http;
    (void)conn;
    fw_log(FW_LOG_INFO, "api", "%s: client disconnected; cancelling", c->id);
    c->http = NULL;
    c->conn = NULL;
    fw_metrics_request_done(c->engine->metrics, 499, 0, 0);
    chat_end(c);
    /* libevent 2.1 detaches an unfinished request from a failed connection
     * and leaves it to us; one still queued on the connection is its own. */
    if (req && !evhttp_request_get_connection(req))
        evhttp_request_free(req);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    chat *c = arg;
    fw_tok_event *evs = NULL;
    int32_t n, i, *tok_start;
    (void)fd;
    (void)what;

    if (c->finished)
        return;
    n = fw_req_take_events(c->req, &evs);
    tok_start = calloc((size_t)c->n_choices, sizeof *tok_start);
    for (i = 0; tok_start && i < c->n_choices; i++)
        tok_start[i] = c->choices[i].n_tokens;
    if (n > 0) {
        uint64_t t = now_ns();
        if (!c->t_last_token_ns)
            fw_metrics_observe_ttft(c->engine->metrics, (double)(t - c->t_start_ns) / 1e9);
        else
            fw_metrics_observe_itl(c->engine->metrics, (double)(t - c->t_last_token_ns) / 1e9);
        c->t_last_token_ns = t;
    }
    for (i = 0; i < n; i++)
        on_token(c, &evs[i]);
    free(evs);
    if (c->stream && c->http && tok_start)
        stream_flush(c, tok_start);
    free(tok_start);
    if (c->n_done < c->n_choices)
        return;
    /* every choice is done: answer */
    if (c->http) {
        if (c->stream) {
            fw_buf b;
            fw_buf_init(&b);
            if (c->failed)
                fw_api_error_write(&b, 500, "generation_failed", c->error);
            if (c->failed) {
                fw_buf tmp;
                fw_buf_init(&tmp);
                fw_buf_puts(&tmp, "data: ");
                fw_buf_append(&tmp, b.data, b.len);
                fw_buf_puts(&tmp, "\n\n");
                send_chunk_buf(c, &tmp);
                fw_buf_deinit(&tmp);
            }
            fw_buf_reset(&b);
            fw_api_sse_done(&b);
            send_chunk_buf(c, &b);
            fw_buf_deinit(&b);
            evhttp_send_reply_end(c->http);
        } else if (c->failed) {
            send_api_error(c->http, 500, "generation_failed", c->error);
        } else {
            fix_fragments(c);
            send_final(c);
        }
        fw_metrics_request_done(c->engine->metrics, c->failed ? 500 : 200, c->req->n_prompt,
                                c->completion_tokens);
        {
            uint64_t first = c->req->t_first_token_ns;
            fw_reqlog rl = {c->id, c->cr->model, c->failed ? 500 : 200, c->req->n_prompt,
                            c->completion_tokens,
                            first ? (double)(first - c->t_start_ns) / 1e6 : -1.0,
                            (double)(now_ns() - c->t_start_ns) / 1e6, c->stream,
                            c->cr->metadata_json};
            fw_log_request(&rl);
        }
    }
    chat_end(c);
}

/* request_timeout_s: stop generating and answer with what there is. */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    chat *c = arg;
    int32_t i;
    (void)fd;
    (void)what;
    if (c->finished)
        return;
    fw_log(FW_LOG_WARN, "api", "%s: request_timeout_s reached; finishing with length", c->id);
    atomic_store(&c->req->cancelled, 1);
    for (i = 0; i < c->n_choices; i++)
        finish_choice(c, &c->choices[i], "length");
    on_wake(-1, 0, c);
}

/* ---- the request path --------------------------------------------------------------- */

static fw_runner *find_runner(fw_engine *e, const char *model)
{
    int32_t i;
    for (i = 0; i < e->n_runners; i++) {
        const char *name = fw_runner_name(e->runners[i]);
        const char *slash;
        if (!strcmp(name, model))
            return e->runners[i];
        /* "accounts/fireworks/models/NAME" names NAME, as on Fireworks */
        slash = strrchr(model, '/');
        if (slash && !strcmp(name, slash + 1))
            return e->runners[i];
    }
    return NULL;
}

static void fill_sampling(fw_req *q, const fw_chat_request *cr, const fw_runner *r)
{
    const fw_model_config *mc = fw_runner_config(r);
    const fw_gen_defaults *gd = fw_model_gen_defaults(fw_runner_model(r));

    q->sampling = cr->sampling;
    q->sampling.struct_size = sizeof q->sampling;
    /* request > config file > generation_config.json > built-in */
    if (!(cr->set & FW_CHAT_SET_TEMPERATURE)) {
        q->sampling.temperature = 1.0f;
        if (gd && !isnan(gd->temperature))
            q->sampling.temperature = (float)gd->temperature;
        if (!isnan(mc->temperature))
            q->sampling.temperature = (float)mc->temperature;
    }
    if (!(cr->set & FW_CHAT_SET_TOP_P)) {
        q->sampling.top_p = 1.0f;
        if (gd && !isnan(gd->top_p))
            q->sampling.top_p = (float)gd->top_p;
        if (!isnan(mc->top_p))
            q->sampling.top_p = (float)mc->top_p;
    }
    if (!(cr->set & FW_CHAT_SET_TOP_K)) {
        q->sampling.top_k = 0;
        if (gd && gd->top_k > 0)
            q->sampling.top_k = gd->top_k > 100 ? 100 : gd->top_k;
        if (mc->top_k >= 0)
            q->sampling.top_k = (int32_t)mc->top_k;
    }
    if (!(cr->set & FW_CHAT_SET_MIN_P)) {
        q->sampling.min_p = 0.0f;
        if (gd && !isnan(gd->min_p))
            q->sampling.min_p = (float)gd->min_p;
        if (!isnan(mc->min_p))
            q->sampling.min_p = (float)mc->min_p;
    }
    if (!(cr->set & FW_CHAT_SET_REPETITION_PENALTY) && gd && !isnan(gd->repetition_penalty) &&
        gd->repetition_penalty > 0)
        q->sampling.repetition_penalty = (float)gd->repetition_penalty;
    q->sampling.top_logprobs = cr->top_logprobs;
}

/* The reasoning-token cap of each choice, or -1: an integer reasoning_effort
 * or thinking.budget_tokens, else "low" as the model's reasoning_low_budget.
 * Templates without budgets (reasoning_tags) ignore them, as the spec says
 * for models where integers have no effect. */
static int64_t reasoning_budget(const fw_runner *r, const fw_chat_request *cr)
{
    int64_t low = fw_runner_config(r)->reasoning_low_budget;
    if (!fw_runner_reasoning_budgets(r))
        return -1;
    if (cr->reasoning_budget >= 0)
        return cr->reasoning_budget;
    if (cr->reasoning_effort && !strcmp(cr->reasoning_effort, "low") && low > 0)
        return low;
    return -1;
}

/* A token id of logit_bias or speculation must be in the vocabulary: else
 * a 400 (the runner would fail the request after the stream started). */
static int token_in_vocab(fw_engine *e, struct evhttp_request *http, const char *field,
                          int32_t token, int32_t vocab)
{
    char msg[160];
    if (token >= 0 && token < vocab)
        return 1;
    snprintf(msg, sizeof msg, "%s: token id %d is out of range [0, %d)", field, token, vocab);
    reject(e, http, 400, "invalid_request_error", msg);
    return 0;
}

static char *grammar_for(fw_runner *r, const fw_chat_request *cr, uint32_t *source, fw_err *err,
                         fw_status *st)
{
    const fw_template_vtable *vt = fw_runner_template_vt(r);
    char *out = NULL, *copy;

    *st = FW_OK;
    *source = 0;
    switch (cr->response_format) {
    case FW_RF_JSON_OBJECT:
        *source = cr->format_text ? FW_GRAMMAR_JSON_SCHEMA : FW_GRAMMAR_JSON_OBJECT;
        return strdup(cr->format_text ? cr->format_text : "{}");
    case FW_RF_JSON_SCHEMA:
        *source = FW_GRAMMAR_JSON_SCHEMA;
        return strdup(cr->format_text ? cr->format_text : "{}");
    case FW_RF_GRAMMAR:
        *source = FW_GRAMMAR_GBNF;
        return strdup(cr->format_text ? cr->format_text : "");
    default:
        break;
    }
    if ((cr->tool_choice == FW_TOOL_CHOICE_REQUIRED || cr->tool_choice == FW_TOOL_CHOICE_FUNCTION) &&
        cr->n_tools > 0 && vt->tool_grammar) {
        *st = vt->tool_grammar(fw_runner_template(r), cr->template_json, &out, err);
        if (*st != FW_OK || !out)
            return NULL;
        copy = strdup(out);
        free(out); /* host->alloc is malloc */
        *source = FW_GRAMMAR_GBNF;
        return copy;
    }
    return NULL;
}

void fw_engine_chat(fw_engine *e, struct evhttp_request *http)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(http);
    size_t len = evbuffer_get_length(in);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(http), "Content-Type");
    fw_chat_request *cr = NULL;
    char *error_json = NULL, *body;
    fw_runner *r;
    chat *c = NULL;
    fw_req *q = NULL;
    fw_err err = {0};
    int32_t *ids = NULL, n_ids = 0, i, ctx, vocab;
    int status, forced_open;
    fw_status st;

    if (ct && strncmp(ct, "application/json", 16) != 0) {
        reject(e, http, 400, "invalid_request_error", "Content-Type must be application/json");
        return;
    }
    body = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
    status = fw_chat_request_parse(body ? body : "", len, &cr, &error_json);
    if (status != 200) {
        if (error_json) {
            fw_http_send_json(http, status, error_json, strlen(error_json));
            fw_metrics_request_done(e->metrics, status, 0, 0);
        } else {
            reject(e, http, 500, "internal_server_error", "out of memory");
        }
        free(error_json);
        return;
    }
    r = find_runner(e, cr->model);
    if (!r) {
        char msg[300];
        snprintf(msg, sizeof msg, "Model not found: %s (see GET /v1/models)", cr->model);
        reject(e, http, 404, "model_not_found", msg);
        fw_chat_request_destroy(cr);
        return;
    }
    if (fw_runner_state(r) != 1) {
        reject(e, http, 503, "model_not_ready",
               fw_runner_state(r) < 0 ? fw_runner_error(r) : "the model is still loading");
        fw_chat_request_destroy(cr);
        return;
    }

    c = calloc(1, sizeof *c);
    q = fw_req_new();
    if (!c || !q) {
        free(c);
        free(q);
        reject(e, http, 500, "internal_server_error", "out of memory");
        fw_chat_request_destroy(cr);
        return;
    }
    c->engine = e;
    c->runner = r;
    c->req = q;
    c->cr = cr;
    c->http = http;
    c->stream = cr->stream;
    c->created = (int64_t)time(NULL);
    c->t_start_ns = now_ns();
    snprintf(c->id, sizeof c->id, "chatcmpl-%016llx%04x", (unsigned long long)(now_ns() ^ (uint64_t)(uintptr_t)c),
             (unsigned)(e->next_id++ & 0xffff));
    fw_buf_init(&c->frag_text);
    q->http = c;
    q->on_free = chat_free;

    /* prompt */
    st = render_truncated(r, cr, c, &ids, &n_ids, &err);
    if (st != FW_OK) {
        /* the format cannot express this request: a validation error */
        if (st == FW_ERR_INVALID)
            reject_detail(e, http, NULL, NULL, err.msg);
        else
            reject(e, http, 500, "internal_server_error", err.msg);
        fw_req_unref(q);
        return;
    }
    q->prompt = ids;
    q->n_prompt = n_ids;
    q->n_choices = cr->n;
    ctx = fw_runner_max_context(r);
    /* max_tokens 0 is valid (the spec sets no bound): prefill only */
    q->max_tokens = cr->max_tokens >= 0 ? cr->max_tokens : fw_runner_config(r)->default_max_tokens;
    if (n_ids >= ctx || (cr->context_length_exceeded == FW_CTX_ERROR && n_ids + q->max_tokens > ctx)) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "The prompt is too long: %d prompt tokens + %lld max_tokens exceeds the model's "
                 "context length of %d tokens",
                 n_ids, (long long)q->max_tokens, ctx);
        reject(e, http, 400, "context_length_exceeded", msg);
        fw_req_unref(q);
        return;
    }
    if (n_ids + q->max_tokens > ctx)
        q->max_tokens = ctx - n_ids; /* truncate: lower max_tokens to fit */
    fill_sampling(q, cr, r);
    q->logit_bias = NULL;
    vocab = fw_model_get_desc(fw_runner_model(r))->vocab_size;
    for (i = 0; i < cr->n_logit_bias; i++)
        if (!token_in_vocab(e, http, "logit_bias", cr->logit_bias[i].token, vocab)) {
            fw_req_unref(q);
            return;
        }
    for (i = 0; i < cr->n_speculation_ids; i++)
        if (!token_in_vocab(e, http, "speculation", cr->speculation_ids[i], vocab)) {
            fw_req_unref(q);
            return;
        }
    if (cr->n_logit_bias > 0) {
        q->logit_bias = malloc((size_t)cr->n_logit_bias * sizeof *q->logit_bias);
        if (q->logit_bias)
            memcpy(q->logit_bias, cr->logit_bias, (size_t)cr->n_logit_bias * sizeof *q->logit_bias);
        q->sampling.logit_bias = q->logit_bias;
        q->sampling.n_logit_bias = q->logit_bias ? cr->n_logit_bias : 0;
    }
    q->ignore_eos = cr->ignore_eos;
    /* speculation / prediction: the draft verified in batched forwards */
    if (cr->n_speculation_ids > 0) {
        q->draft = malloc((size_t)cr->n_speculation_ids * sizeof *q->draft);
        if (q->draft) {
            memcpy(q->draft, cr->speculation_ids, (size_t)cr->n_speculation_ids * sizeof *q->draft);
            q->n_draft = cr->n_speculation_ids;
        }
    } else if (cr->speculation_text && *cr->speculation_text) {
        size_t nd = 0;
        if (fw_tokenizer_encode(fw_runner_tokenizer(r), cr->speculation_text,
                                strlen(cr->speculation_text), 0, &q->draft, &nd, &err) == FW_OK)
            q->n_draft = (int32_t)nd;
    }
    q->cache_salt = fw_kv_hash_str(cr->prompt_cache_isolation_key ? cr->prompt_cache_isolation_key
                                                                    : cr->user);
    q->grammar_text = grammar_for(r, cr, &q->grammar_source, &err, &st);
    if (st == FW_OK && q->grammar_text)
        st = fw_runner_grammar(r, q, &err);
    if (st != FW_OK) {
        /* the grammar is the client's: response_format's, else the tools' */
        if (st != FW_ERR_INVALID)
            reject(e, http, 500, "internal_server_error", err.msg);
        else if (cr->response_format == FW_RF_GRAMMAR)
            reject_detail(e, http, "response_format", "grammar", err.msg);
        else if (cr->response_format == FW_RF_JSON_OBJECT || cr->response_format == FW_RF_JSON_SCHEMA)
            reject_detail(e, http, "response_format", NULL, err.msg);
        else
            reject_detail(e, http, "tool_choice", NULL, err.msg); /* the forced-call grammar */
        fw_req_unref(q);
        return;
    }
    if (cr->echo || cr->echo_last > 0) {
        size_t tl = 0;
        int32_t from = cr->echo_last > 0 && cr->echo_last < n_ids ? n_ids - (int32_t)cr->echo_last : 0;
        if (fw_tokenizer_decode(fw_runner_tokenizer(r), ids + from, (size_t)(n_ids - from), 0,
                                &c->echo_text, &tl, &err) != FW_OK)
            c->echo_text = NULL;
    }

    /* output state */
    c->n_choices = cr->n;
    c->choices = calloc((size_t)cr->n, sizeof *c->choices);
    if (!c->choices) {
        reject(e, http, 500, "internal_server_error", "out of memory");
        fw_req_unref(q);
        return;
    }
    q->reasoning_open = cr->add_generation_prompt ? prompt_opens_thinking(c, fw_runner_tokenizer(r))
                                                  : prefill_opens_thinking(c, fw_runner_tokenizer(r));
    forced_open = q->reasoning_open > 0;
    q->reasoning_budget = reasoning_budget(r, cr);
    for (i = 0; i < cr->n; i++) {
        cJSON *opts = cJSON_CreateObject();
        cJSON *tools = cr->tools_json && cr->tool_choice != FW_TOOL_CHOICE_NONE
                           ? cJSON_Parse(cr->tools_json)
                           : NULL;
        char *opts_json;
        choice_init(&c->choices[i], fw_runner_tokenizer(r));
        if (opts && tools)
            cJSON_AddItemToObject(opts, "tools", tools);
        else
            cJSON_Delete(tools);
        if (opts)
            cJSON_AddBoolToObject(opts, "thinking_forced_open", forced_open);
        if (opts && !cr->add_generation_prompt)
            cJSON_AddBoolToObject(opts, "continue_final_message", 1);
        opts_json = opts ? cJSON_PrintUnformatted(opts) : NULL;
        cJSON_Delete(opts);
        st = fw_runner_template_vt(r)->parser_new(fw_runner_template(r), opts_json, &c->choices[i].parser,
                                                  &err);
        free(opts_json);
        if (st != FW_OK) {
            c->n_choices = i + 1;
            reject(e, http, 500, "internal_server_error", err.msg);
            fw_req_unref(q);
            return;
        }
    }

    q->wake = event_new(e->base, -1, 0, on_wake, c);
    if (!q->wake) {
        reject(e, http, 500, "internal_server_error", "out of memory");
        fw_req_unref(q);
        return;
    }
    if (fw_runner_submit(r, q, (int32_t)e->cfg->server.queue_depth, &err) != FW_OK) {
        if (err.code == FW_ERR_LIMIT) {
            evhttp_add_header(evhttp_request_get_output_headers(http), "Retry-After", "1");
            reject(e, http, 429, "rate_limit_exceeded", err.msg);
        } else {
            reject(e, http, 500, "internal_server_error", err.msg);
        }
        fw_req_unref(q);
        return;
    }
    e->in_flight++;
    c->timer = evtimer_new(e->base, on_timeout, c);
    if (c->timer) {
        struct timeval tv = {(time_t)e->cfg->server.request_timeout_s, 0};
        evtimer_add(c->timer, &tv);
    }
    c->conn = evhttp_request_get_connection(http);
    if (c->conn)
        evhttp_connection_set_closecb(c->conn, on_conn_close, c);
    if (c->stream)
        stream_start(c);
}

/* ---- the engine -------------------------------------------------------------------------- */

fw_status fw_engine_create(const fw_config *cfg, fw_registry *reg, struct event_base *base,
                           fw_engine **out, fw_err *err)
{
    fw_engine *e = calloc(1, sizeof *e);
    int32_t i;

    *out = NULL;
    if (!e)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    e->cfg = cfg;
    e->base = base;
    if (fw_metrics_create(&e->metrics, err) != FW_OK) {
        free(e);
        return (fw_status)err->code;
    }
    e->runners = calloc((size_t)cfg->n_models + 1, sizeof *e->runners);
    if (!e->runners) {
        fw_engine_destroy(e);
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    for (i = 0; i < cfg->n_models; i++) {
        fw_status st = fw_runner_create(&cfg->models[i], reg, &e->runners[i], err);
        if (st != FW_OK) {
            fw_engine_destroy(e);
            return st;
        }
        e->n_runners++;
    }
    *out = e;
    return FW_OK;
}

void fw_engine_destroy(fw_engine *e)
{
    int32_t i;
    if (!e)
        return;
    for (i = 0; i < e->n_runners; i++)
        fw_runner_destroy(e->runners[i]);
    free(e->runners);
    fw_metrics_destroy(e->metrics);
    free(e);
}

int fw_engine_ready(const fw_engine *e)
{
    int32_t i;
    if (!e)
        return 0;
    for (i = 0; i < e->n_runners; i++)
        if (fw_runner_state(e->runners[i]) != 1)
            return 0;
    return 1;
}

int fw_engine_failed(const fw_engine *e, const char **why)
{
    int32_t i;
    for (i = 0; e && i < e->n_runners; i++)
        if (fw_runner_state(e->runners[i]) < 0) {
            *why = fw_runner_error(e->runners[i]);
            return 1;
        }
    return 0;
}

void fw_engine_drain(fw_engine *e, struct event_base *base)
{
    e->draining = 1;
    if (e->in_flight == 0)
        event_base_loopexit(base, NULL);
}

void fw_engine_metrics(fw_engine *e, fw_buf *out)
{
    int32_t i;
    for (i = 0; i < e->n_runners; i++) {
        fw_runner_stats st;
        if (fw_runner_state(e->runners[i]) != 1)
            continue;
        fw_runner_get_stats(e->runners[i], &st);
        fw_metrics_set_model(e->metrics, fw_runner_name(e->runners[i]), &st);
    }
    fw_metrics_write(e->metrics, out);
}
