/* core/api_response.c -- response and stream-chunk JSON (see api_response.h). */
#include "api_response.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_error.h"
#include "api_request.h"

static void str_or_null(fw_buf *b, const char *s, size_t n)
{
    if (s)
        fw_api_json_str(b, s, n);
    else
        fw_buf_puts(b, "null");
}

static void cstr(fw_buf *b, const char *s) { str_or_null(b, s, s ? strlen(s) : 0); }

static void ids(fw_buf *b, const int32_t *v, int32_t n)
{
    int32_t i;

    fw_buf_putc(b, '[');
    for (i = 0; i < n; i++)
        fw_buf_printf(b, i ? ",%" PRId32 : "%" PRId32, v[i]);
    fw_buf_putc(b, ']');
}

void fw_api_f32_write(fw_buf *b, float v)
{
    char s[32];
    int prec;

    if (!isfinite(v)) {
        fw_buf_puts(b, "-9999.0");
        return;
    }
    for (prec = 6; prec < 9; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, (double)v);
        if (strtof(s, NULL) == v)
            break;
    }
    if (prec == 9)
        snprintf(s, sizeof s, "%.9g", (double)v);
    fw_buf_puts(b, s);
}

static void f64(fw_buf *b, double v)
{
    char s[40];
    int prec;

    if (!isfinite(v)) {
        fw_buf_puts(b, "null");
        return;
    }
    for (prec = 6; prec < 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    if (prec == 17)
        snprintf(s, sizeof s, "%.17g", v);
    fw_buf_puts(b, s);
}

static void bytes_array(fw_buf *b, const char *s, size_t n)
{
    size_t i;

    fw_buf_putc(b, '[');
    for (i = 0; i < n; i++)
        fw_buf_printf(b, i ? ",%u" : "%u", (unsigned)(unsigned char)s[i]);
    fw_buf_putc(b, ']');
}

/* NewLogProbs: {"content": [{token, logprob, sampling_logprob, bytes,
 * top_logprobs, token_id, text_offset}]} */
static void logprobs_new(fw_buf *b, const fw_api_logprobs *lp)
{
    int32_t i, k;

    fw_buf_puts(b, "{\"content\":[");
    for (i = 0; i < lp->n; i++) {
        const fw_api_logprob *t = &lp->items[i];
        int32_t n_top = t->n_top < 0 ? 0 : t->n_top > FW_MAX_TOP_LOGPROBS ? FW_MAX_TOP_LOGPROBS
                                                                            : t->n_top;
        if (i)
            fw_buf_putc(b, ',');
        fw_buf_puts(b, "{\"token\":");
        fw_api_json_str(b, t->token ? t->token : "", t->token ? t->token_len : 0);
        fw_buf_puts(b, ",\"logprob\":");
        fw_api_f32_write(b, t->logprob);
        fw_buf_puts(b, ",\"sampling_logprob\":");
        if (t->has_sampling_logprob)
            fw_api_f32_write(b, t->sampling_logprob);
        else
            fw_buf_puts(b, "null");
        fw_buf_puts(b, ",\"bytes\":");
        bytes_array(b, t->token, t->token ? t->token_len : 0);
        fw_buf_puts(b, ",\"top_logprobs\":[");
        for (k = 0; k < n_top; k++) {
            const fw_api_top_logprob *a = &t->top[k];
            if (k)
                fw_buf_putc(b, ',');
            fw_buf_puts(b, "{\"token\":");
            fw_api_json_str(b, a->token ? a->token : "", a->token ? a->token_len : 0);
            fw_buf_puts(b, ",\"logprob\":");
            fw_api_f32_write(b, a->logprob);
            fw_buf_printf(b, ",\"token_id\":%" PRId32 ",\"bytes\":", a->token_id);
            bytes_array(b, a->token, a->token ? a->token_len : 0);
            fw_buf_putc(b, '}');
        }
        fw_buf_printf(b, "],\"token_id\":%" PRId32 ",\"text_offset\":%" PRId32 "}", t->token_id,
                      t->text_offset);
    }
    fw_buf_puts(b, "]}");
}

/* LogProbs (legacy): parallel arrays; top_logprobs maps token text -> logprob. */
static void logprobs_legacy(fw_buf *b, const fw_api_logprobs *lp)
{
    int32_t i, k;

    fw_buf_puts(b, "{\"tokens\":[");
    for (i = 0; i < lp->n; i++) {
        if (i)
            fw_buf_putc(b, ',');
        fw_api_json_str(b, lp->items[i].token ? lp->items[i].token : "",
                        lp->items[i].token ? lp->items[i].token_len : 0);
    }
    fw_buf_puts(b, "],\"token_logprobs\":[");
    for (i = 0; i < lp->n; i++) {
        if (i)
            fw_buf_putc(b, ',');
        fw_api_f32_write(b, lp->items[i].logprob);
    }
    fw_buf_puts(b, "],\"top_logprobs\":");
    if (lp->top_n > 0) {
        fw_buf_putc(b, '[');
        for (i = 0; i < lp->n; i++) {
            const fw_api_logprob *t = &lp->items[i];
            int32_t n_top = t->n_top < 0 ? 0 : t->n_top > FW_MAX_TOP_LOGPROBS
                                                   ? FW_MAX_TOP_LOGPROBS
                                                   : t->n_top;
            int sampled_listed = 0;
            fw_buf_puts(b, i ? ",{" : "{");
            for (k = 0; k < n_top; k++) {
                if (k)
                    fw_buf_putc(b, ',');
                fw_api_json_str(b, t->top[k].token ? t->top[k].token : "",
                                t->top[k].token ? t->top[k].token_len : 0);
                fw_buf_putc(b, ':');
                fw_api_f32_write(b, t->top[k].logprob);
                sampled_listed |= t->top[k].token_id == t->token_id ||
                                  (t->top[k].token_len == t->token_len &&
                                   (!t->token_len || !memcmp(t->top[k].token, t->token, t->token_len)));
            }
            /* The spec: "the API will always return the logprob of the
             * sampled token, so there may be up to logprobs+1 elements". */
            if (!sampled_listed) {
                if (n_top)
                    fw_buf_putc(b, ',');
                fw_api_json_str(b, t->token ? t->token : "", t->token ? t->token_len : 0);
                fw_buf_putc(b, ':');
                fw_api_f32_write(b, t->logprob);
            }
            fw_buf_putc(b, '}');
        }
        fw_buf_putc(b, ']');
    } else {
        fw_buf_puts(b, "null");
    }
    fw_buf_puts(b, ",\"text_offset\":[");
    for (i = 0; i < lp->n; i++)
        fw_buf_printf(b, i ? ",%" PRId32 : "%" PRId32, lp->items[i].text_offset);
    fw_buf_puts(b, "],\"token_ids\":[");
    for (i = 0; i < lp->n; i++)
        fw_buf_printf(b, i ? ",%" PRId32 : "%" PRId32, lp->items[i].token_id);
    fw_buf_puts(b, "]}");
}

static void logprobs(fw_buf *b, const fw_api_logprobs *lp)
{
    if (lp->mode == FW_LOGPROBS_NEW)
        logprobs_new(b, lp);
    else if (lp->mode == FW_LOGPROBS_LEGACY)
        logprobs_legacy(b, lp);
    else
        fw_buf_puts(b, "null");
}

static void tool_calls(fw_buf *b, const fw_api_tool_call *tc, int32_t n, int delta)
{
    int32_t i;

    fw_buf_putc(b, '[');
    for (i = 0; i < n; i++) {
        const fw_api_tool_call *t = &tc[i];
        if (i)
            fw_buf_putc(b, ',');
        fw_buf_printf(b, "{\"index\":%" PRId32, t->index);
        if (t->id || !delta) {
            fw_buf_puts(b, ",\"id\":");
            cstr(b, t->id);
        }
        if (!delta || t->id || t->name)
            fw_buf_puts(b, ",\"type\":\"function\"");
        fw_buf_puts(b, ",\"function\":{");
        if (t->name || !delta) {
            fw_buf_puts(b, "\"name\":");
            cstr(b, t->name);
            fw_buf_putc(b, ',');
        }
        fw_buf_puts(b, "\"arguments\":");
        fw_api_json_str(b, t->arguments ? t->arguments : "", t->arguments ? t->arguments_len : 0);
        fw_buf_puts(b, "}}");
    }
    fw_buf_putc(b, ']');
}

void fw_api_perf_init(fw_api_perf *p)
{
    memset(p, 0, sizeof *p);
    p->prompt_tokens = p->cached_prompt_tokens = -1;
    p->server_time_to_first_token_s = p->server_processing_time_s = -1;
    p->speculation_prompt_tokens = p->speculation_prompt_matched_tokens = -1;
    p->speculation_generated_tokens = p->num_concurrent_requests = -1;
    p->tokenizer_duration_s = p->prefill_queue_duration_s = -1;
    p->prefill_duration_s = p->generation_queue_duration_s = -1;
}

void fw_api_perf_write(fw_buf *b, const fw_api_perf *p)
{
    const struct {
        const char *name;
        int64_t v;
    } ints[] = {
        {"prompt-tokens", p->prompt_tokens},
        {"cached-prompt-tokens", p->cached_prompt_tokens},
        {"speculation-prompt-tokens", p->speculation_prompt_tokens},
        {"speculation-prompt-matched-tokens", p->speculation_prompt_matched_tokens},
        {"speculation-generated-tokens", p->speculation_generated_tokens},
        {"num-concurrent-requests", p->num_concurrent_requests},
    };
    const struct {
        const char *name;
        double v;
    } secs[] = {
        {"server-time-to-first-token", p->server_time_to_first_token_s},
        {"server-processing-time", p->server_processing_time_s},
        {"tokenizer-duration", p->tokenizer_duration_s},
        {"prefill-queue-duration", p->prefill_queue_duration_s},
        {"prefill-duration", p->prefill_duration_s},
        {"generation-queue-duration", p->generation_queue_duration_s},
    };
    size_t i;
    int first = 1;

    fw_buf_putc(b, '{');
    for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (ints[i].v < 0)
            continue;
        fw_buf_printf(b, "%s\"%s\":%" PRId64, first ? "" : ",", ints[i].name, ints[i].v);
        first = 0;
    }
    for (i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        if (!(secs[i].v >= 0))
            continue;
        fw_buf_printf(b, "%s\"%s\":", first ? "" : ",", secs[i].name);
        f64(b, secs[i].v);
        first = 0;
    }
    if (p->speculation_acceptance && p->n_speculation_acceptance > 0) {
        int32_t k;
        fw_buf_printf(b, "%s\"speculation-acceptance\":[", first ? "" : ",");
        for (k = 0; k < p->n_speculation_acceptance; k++) {
            if (k)
                fw_buf_putc(b, ',');
            f64(b, p->speculation_acceptance[k]);
        }
        fw_buf_putc(b, ']');
        first = 0;
    }
    if (p->backend_host) {
        fw_buf_puts(b, first ? "\"backend-host\":" : ",\"backend-host\":");
        cstr(b, p->backend_host);
    }
    fw_buf_putc(b, '}');
}

static void usage(fw_buf *b, const fw_api_usage *u)
{
    if (!u) {
        fw_buf_puts(b, "null");
        return;
    }
    fw_buf_printf(b,
                  "{\"prompt_tokens\":%" PRId64 ",\"total_tokens\":%" PRId64
                  ",\"completion_tokens\":%" PRId64
                  ",\"prompt_tokens_details\":{\"cached_tokens\":%" PRId64 "}}",
                  u->prompt_tokens, u->prompt_tokens + u->completion_tokens,
                  u->completion_tokens, u->cached_tokens);
}

static void raw_output(fw_buf *b, const fw_api_raw_output *r)
{
    int32_t i;

    fw_buf_puts(b, "{\"prompt_fragments\":[");
    for (i = 0; i < r->n_fragments; i++) {
        if (i)
            fw_buf_putc(b, ',');
        if (r->fragments[i].text)
            cstr(b, r->fragments[i].text);
        else
            fw_buf_printf(b, "%" PRId32, r->fragments[i].token);
    }
    fw_buf_puts(b, "],\"prompt_token_ids\":");
    ids(b, r->prompt_token_ids, r->prompt_token_ids ? r->n_prompt_token_ids : 0);
    fw_buf_puts(b, ",\"completion\":");
    fw_api_json_str(b, r->completion ? r->completion : "", r->completion ? r->completion_len : 0);
    if (r->completion_token_ids) {
        fw_buf_puts(b, ",\"completion_token_ids\":");
        ids(b, r->completion_token_ids, r->n_completion_token_ids);
    }
    if (r->completion_logprobs && r->completion_logprobs->mode != FW_LOGPROBS_NONE) {
        fw_api_logprobs lp = *r->completion_logprobs;
        lp.mode = FW_LOGPROBS_NEW; /* the spec: NewLogProbs only */
        fw_buf_puts(b, ",\"completion_logprobs\":");
        logprobs_new(b, &lp);
    }
    if (r->grammar) {
        fw_buf_puts(b, ",\"grammar\":");
        cstr(b, r->grammar);
    }
    fw_buf_putc(b, '}');
}

static void head(fw_buf *b, const char *id, const char *object, int64_t created,
                 const char *model)
{
    fw_buf_puts(b, "{\"id\":");
    cstr(b, id ? id : "");
    fw_buf_printf(b, ",\"object\":\"%s\",\"created\":%" PRId64 ",\"model\":", object, created);
    cstr(b, model ? model : "");
    fw_buf_puts(b, ",\"choices\":[");
}

void fw_api_response_write(fw_buf *b, const fw_api_response *r)
{
    int32_t i;

    head(b, r->id, "chat.completion", r->created, r->model);
    for (i = 0; i < r->n_choices; i++) {
        const fw_api_choice *c = &r->choices[i];
        if (i)
            fw_buf_putc(b, ',');
        fw_buf_printf(b, "{\"index\":%" PRId32 ",\"message\":{\"role\":\"assistant\",\"content\":",
                      c->index);
        str_or_null(b, c->content, c->content_len);
        if (c->reasoning_content) {
            fw_buf_puts(b, ",\"reasoning_content\":");
            fw_api_json_str(b, c->reasoning_content, c->reasoning_len);
        }
        if (c->tool_calls && c->n_tool_calls > 0) {
            fw_buf_puts(b, ",\"tool_calls\":");
            tool_calls(b, c->tool_calls, c->n_tool_calls, 0);
        }
        fw_buf_puts(b, "},\"finish_reason\":");
        cstr(b, c->finish_reason);
        fw_buf_puts(b, ",\"logprobs\":");
        logprobs(b, &c->logprobs);
        if (c->token_ids) {
            fw_buf_puts(b, ",\"token_ids\":");
            ids(b, c->token_ids, c->n_token_ids);
        }
        if (c->raw_output) {
            fw_buf_puts(b, ",\"raw_output\":");
            raw_output(b, c->raw_output);
        }
        fw_buf_putc(b, '}');
    }
    fw_buf_puts(b, "],\"usage\":");
    usage(b, r->usage);
    if (r->perf) {
        fw_buf_puts(b, ",\"perf_metrics\":");
        fw_api_perf_write(b, r->perf);
    }
    if (r->prompt_token_ids) {
        fw_buf_puts(b, ",\"prompt_token_ids\":");
        ids(b, r->prompt_token_ids, r->n_prompt_token_ids);
    }
    fw_buf_putc(b, '}');
}

void fw_api_chunk_write(fw_buf *b, const fw_api_chunk *c)
{
    int32_t i;

    head(b, c->id, "chat.completion.chunk", c->created, c->model);
    for (i = 0; i < c->n_choices; i++) {
        const fw_api_delta *d = &c->choices[i];
        int first = 1;
        if (i)
            fw_buf_putc(b, ',');
        fw_buf_printf(b, "{\"index\":%" PRId32 ",\"delta\":{", d->index);
        if (d->role) {
            fw_buf_puts(b, "\"role\":");
            cstr(b, d->role);
            first = 0;
        }
        if (d->content) {
            fw_buf_puts(b, first ? "\"content\":" : ",\"content\":");
            fw_api_json_str(b, d->content, d->content_len);
            first = 0;
        }
        if (d->reasoning_content) {
            fw_buf_puts(b, first ? "\"reasoning_content\":" : ",\"reasoning_content\":");
            fw_api_json_str(b, d->reasoning_content, d->reasoning_len);
            first = 0;
        }
        if (d->tool_calls && d->n_tool_calls > 0) {
            fw_buf_puts(b, first ? "\"tool_calls\":" : ",\"tool_calls\":");
            tool_calls(b, d->tool_calls, d->n_tool_calls, 1);
        }
        fw_buf_puts(b, "},\"finish_reason\":");
        cstr(b, d->finish_reason);
        if (d->logprobs.mode != FW_LOGPROBS_NONE) {
            fw_buf_puts(b, ",\"logprobs\":");
            logprobs(b, &d->logprobs);
        }
        if (d->prompt_token_ids) {
            fw_buf_puts(b, ",\"prompt_token_ids\":");
            ids(b, d->prompt_token_ids, d->n_prompt_token_ids);
        }
        if (d->token_ids) {
            fw_buf_puts(b, ",\"token_ids\":");
            ids(b, d->token_ids, d->n_token_ids);
        }
        if (d->raw_output) {
            fw_buf_puts(b, ",\"raw_output\":");
            raw_output(b, d->raw_output);
        }
        fw_buf_putc(b, '}');
    }
    fw_buf_putc(b, ']');
    if (c->usage) {
        fw_buf_puts(b, ",\"usage\":");
        usage(b, c->usage);
    }
    if (c->perf) {
        fw_buf_puts(b, ",\"perf_metrics\":");
        fw_api_perf_write(b, c->perf);
    }
    if (c->prompt_token_ids) {
        fw_buf_puts(b, ",\"prompt_token_ids\":");
        ids(b, c->prompt_token_ids, c->n_prompt_token_ids);
    }
    fw_buf_putc(b, '}');
}

void fw_api_sse_chunk(fw_buf *b, const fw_api_chunk *c)
{
    fw_buf_puts(b, "data: ");
    fw_api_chunk_write(b, c);
    fw_buf_puts(b, "\n\n");
}

void fw_api_sse_done(fw_buf *b) { fw_buf_puts(b, "data: [DONE]\n\n"); }
