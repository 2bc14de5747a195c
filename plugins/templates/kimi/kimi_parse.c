/* plugins/templates/kimi/kimi_parse.c -- incremental Kimi K2 output parser.
 *
 * Text is consumed up to the next marker; a tail that could still become a
 * marker ("<|tool_ca") is held back until the next piece or finish, so the
 * events do not depend on how the output was cut. */
#include "kimi_parse.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tpl_stream.h"

enum { ST_CONTENT, ST_REASONING, ST_SECTION, ST_TOOL_ID, ST_TOOL_ARGS, ST_DONE };

#define ID_MAX 256 /* longer "functions.NAME:IDX" text is not an id */

enum {
    M_THINK, M_THINK_END, M_SECTION, M_SECTION_END, M_SECTION_ALT, M_SECTION_END_ALT,
    M_CALL, M_ARGS, M_CALL_END, M_IM_END, M_IM_ASSISTANT, M_IM_USER, M_IM_SYSTEM, M_IM_MIDDLE,
    M_COUNT
};
static const char *const markers[M_COUNT] = {
    "<think>", "</think>", "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>",
    "<|tool_call_section_begin|>", "<|tool_call_section_end|>", "<|tool_call_begin|>",
    "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|im_end|>", "<|im_assistant|>",
    "<|im_user|>", "<|im_system|>", "<|im_middle|>",
};

struct fw_chat_parser {
    tpl_mstream ms;     /* input, callback, first callback error */
    int state;
    int in_section;    /* inside <|tool_calls_section_begin|> */
    fw_buf id;         /* "functions.NAME:IDX" being read */
    tpl_mcall call;    /* the current tool call (name split from the id) */
};

static void emit(fw_chat_parser *p, fw_parse_kind kind, const char *s, size_t n)
{
    tpl_mcall_emit(&p->ms, &p->call, kind, s, n);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Malformed call text: show it as content and carry on as content. */
static void id_to_content(fw_chat_parser *p)
{
    emit(p, FW_PARSE_CONTENT, p->id.data, p->id.len);
    fw_buf_reset(&p->id);
    p->state = ST_CONTENT;
}

/* "functions.NAME:IDX" (whitespace trimmed) -> id and name; 0 if malformed. */
static int split_id(fw_chat_parser *p)
{
    const char *s = p->id.data ? p->id.data : "", *colon;
    size_t a = 0, b = p->id.len;

    while (a < b && is_space(s[a]))
        a++;
    while (b > a && is_space(s[b - 1]))
        b--;
    if (b == a)
        return 0;
    memmove(p->id.data, s + a, b - a);
    p->id.len = b - a;
    p->id.data[p->id.len] = '\0';
    s = p->id.data;
    colon = strrchr(s, ':');
    fw_buf_reset(&p->call.name);
    if (!strncmp(s, "functions.", 10))
        s += 10;
    fw_buf_append(&p->call.name, s, colon && colon >= s ? (size_t)(colon - s) : strlen(s));
    return p->call.name.len > 0 && !strpbrk(p->call.name.data, " \n\t<>{}");
}

static void args_text(fw_chat_parser *p, const char *s, size_t n)
{
    size_t bad = tpl_mcall_args(&p->ms, &p->call, p->id.data ? p->id.data : "", s, n);

    if (bad < n) {
        /* not a JSON object: the call text falls back to content */
        emit(p, FW_PARSE_CONTENT, p->id.data, p->id.len);
        emit(p, FW_PARSE_CONTENT, p->call.lead.data, p->call.lead.len);
        emit(p, FW_PARSE_CONTENT, s + bad, n - bad);
        fw_buf_reset(&p->id);
        p->state = ST_CONTENT;
    }
}

static void on_text(void *ctx, const char *s, size_t n)
{
    fw_chat_parser *p = ctx;

    if (n == 0)
        return;
    switch (p->state) {
    case ST_CONTENT:
        emit(p, FW_PARSE_CONTENT, s, n);
        break;
    case ST_REASONING:
        emit(p, FW_PARSE_REASONING, s, n);
        break;
    case ST_TOOL_ID:
        fw_buf_append(&p->id, s, n);
        if (p->id.len > ID_MAX)
            id_to_content(p);
        break;
    case ST_TOOL_ARGS:
        args_text(p, s, n);
        break;
    default: /* between calls in a section, or done: dropped */
        break;
    }
}

static void start_call(fw_chat_parser *p)
{
    fw_buf_reset(&p->id);
    p->state = ST_TOOL_ID;
}

/* Where a finished call (or a broken one) leaves us. */
static void after_call(fw_chat_parser *p)
{
    fw_buf_reset(&p->id);
    p->state = p->in_section ? ST_SECTION : ST_CONTENT;
}

static void on_marker(void *ctx, int m)
{
    fw_chat_parser *p = ctx;

    if (p->state == ST_DONE)
        return;
    if (p->state == ST_TOOL_ID && m != M_ARGS) {
        /* an id that never reached <|tool_call_argument_begin|> */
        id_to_content(p);
    }
    switch (m) {
    case M_THINK:
        if (p->state == ST_CONTENT)
            p->state = ST_REASONING;
        break;
    case M_THINK_END:
        if (p->state == ST_REASONING)
            p->state = ST_CONTENT;
        break;
    case M_SECTION:
    case M_SECTION_ALT:
        p->in_section = 1;
        p->state = ST_SECTION;
        break;
    case M_SECTION_END:
    case M_SECTION_END_ALT:
        p->in_section = 0;
        p->state = ST_CONTENT;
        break;
    case M_CALL:
        start_call(p);
        break;
    case M_ARGS:
        if (p->state != ST_TOOL_ID)
            break; /* stray */
        if (!split_id(p)) {
            id_to_content(p);
            break;
        }
        tpl_mcall_reset(&p->call);
        p->state = ST_TOOL_ARGS;
        break;
    case M_CALL_END:
        if (p->state == ST_TOOL_ARGS)
            after_call(p);
        break;
    case M_IM_END:
        p->state = ST_DONE;
        break;
    default:
        break; /* role markers: never shown */
    }
}

static void run(fw_chat_parser *p, int final)
{
    tpl_marker_run(&p->ms, markers, M_COUNT, final, on_text, on_marker, p);
}

fw_status kimi_parser_new(fw_template *t, const char *opts_json, fw_chat_parser **out,
                          fw_err *err)
{
    fw_chat_parser *p;
    int forced = 0;

    fw_status st = tpl_mparser_opts("kimi", out, opts_json, &forced, err);

    (void)t;
    if (st != FW_OK)
        return st;
    p = calloc(1, sizeof *p);
    if (!p)
        return fw_err_set(err, FW_ERR_NOMEM, "kimi parser: out of memory");
    fw_buf_init(&p->ms.in);
    fw_buf_init(&p->id);
    tpl_mcall_init(&p->call);
    p->state = forced ? ST_REASONING : ST_CONTENT;
    *out = p;
    return FW_OK;
}

static fw_status feed_common(fw_chat_parser *p, const char *text, size_t n, fw_parse_cb cb,
                             void *ctx, int final, fw_err *err)
{
    fw_status st = tpl_mstream_feed(p ? &p->ms : NULL, "kimi", text, n, cb, ctx, err);

    if (st != FW_OK)
        return st;
    run(p, final);
    if (final && p->ms.st == FW_OK && p->state == ST_TOOL_ID)
        id_to_content(p); /* output ended inside a call id */
    return tpl_mstream_end(&p->ms, "kimi", p->id.oom || p->call.name.oom || p->call.lead.oom,
                          err);
}

fw_status kimi_parser_feed(fw_chat_parser *p, const char *text, size_t n, fw_parse_cb cb,
                           void *ctx, fw_err *err)
{
    return feed_common(p, text, n, cb, ctx, 0, err);
}

fw_status kimi_parser_finish(fw_chat_parser *p, fw_parse_cb cb, void *ctx, fw_err *err)
{
    fw_status st = feed_common(p, "", 0, cb, ctx, 1, err);
    if (st == FW_OK)
        p->state = ST_DONE;
    return st;
}

void kimi_parser_free(fw_chat_parser *p)
{
    if (!p)
        return;
    fw_buf_deinit(&p->ms.in);
    fw_buf_deinit(&p->id);
    tpl_mcall_deinit(&p->call);
    free(p);
}
