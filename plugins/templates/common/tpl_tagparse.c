/* plugins/templates/common/tpl_tagparse.c -- <think>/<tool_call> stream parser. */
#include "tpl_tagparse.h"

#include <stdlib.h>
#include <string.h>

#include "tpl_json.h"
#include "tpl_req.h"
#include "tpl_stream.h"

enum { ST_START, ST_CONTENT, ST_REASONING, ST_CALL };

struct tpl_tagparse {
    const tpl_tag_format *fmt;
    cJSON *opts;            /* owns tools */
    const cJSON *tools;
    int state, ret_state;   /* ret_state: where a call returns (content/reasoning) */
    int skip_lead;          /* drop whitespace before the next text */
    int dup_open;           /* forced open: a redundant think_open may come first */
    fw_buf in;              /* unprocessed input */
    fw_buf ws;              /* trailing whitespace held back */
    int ws_kind;
    int32_t ncalls;
    /* Complete calls seen inside reasoning: they stay reasoning text (the
     * model was thinking aloud) unless the reasoning never closes, then
     * they are emitted as calls at finish so they are not lost. */
    char *pend_name[8];
    fw_buf pend_args[8];
    int npend;
};

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int kind_of(int state) { return state == ST_REASONING ? FW_PARSE_REASONING : FW_PARSE_CONTENT; }

/* Emits text of a segment, dropping leading whitespace after a tag and
 * holding trailing whitespace until more text shows it is inner. */
static fw_status emit_seg(tpl_tagparse *p, int kind, const char *s, size_t n, fw_parse_cb cb,
                          void *ctx)
{
    size_t body;
    fw_status st;

    if (p->skip_lead) {
        while (n > 0 && is_ws(*s)) {
            s++;
            n--;
        }
        if (n == 0)
            return FW_OK;
        p->skip_lead = 0;
    }
    body = n;
    while (body > 0 && is_ws(s[body - 1]))
        body--;
    if (body > 0) {
        if (p->ws.len > 0 && p->ws_kind == kind) {
            st = tpl_emit_text(cb, ctx, (fw_parse_kind)kind, -1, p->ws.data, p->ws.len);
            if (st != FW_OK)
                return st;
        }
        fw_buf_reset(&p->ws);
        st = tpl_emit_text(cb, ctx, (fw_parse_kind)kind, -1, s, body);
        if (st != FW_OK)
            return st;
    }
    if (p->ws.len > 0 && p->ws_kind != kind)
        fw_buf_reset(&p->ws);
    p->ws_kind = kind;
    fw_buf_append(&p->ws, s + body, n - body);
    return p->ws.oom ? FW_ERR_NOMEM : FW_OK;
}

/* A tag ends the segment: held whitespace is dropped, next text trimmed. */
static void end_seg(tpl_tagparse *p)
{
    fw_buf_reset(&p->ws);
    p->skip_lead = 1;
}

static void consume(tpl_tagparse *p, size_t n)
{
    memmove(p->in.data, p->in.data + n, p->in.len - n);
    p->in.len -= n;
    p->in.data[p->in.len] = '\0';
}

static fw_status emit_call(tpl_tagparse *p, const char *name, const fw_buf *args,
                           fw_parse_cb cb, void *ctx)
{
    int32_t idx = p->ncalls++;
    fw_status st = tpl_emit_tool_begin(cb, ctx, idx, NULL, name);
    if (st == FW_OK)
        st = tpl_emit_text(cb, ctx, FW_PARSE_TOOL_ARGS, idx, args->len ? args->data : "{}",
                           args->len ? args->len : 2);
    return st;
}

/* Tries the call body in[0..n).  In content it is emitted; in reasoning it
 * is remembered (see npend).  1 = a valid call, 0 = not a call, <0 = error. */
static int try_call(tpl_tagparse *p, size_t n, int in_reasoning, fw_parse_cb cb, void *ctx)
{
    char *name = NULL;
    fw_buf args;
    fw_status st;

    fw_buf_init(&args);
    if (p->fmt->parse_call(p->in.data, n, p->tools, &name, &args) != 0 || !name) {
        free(name);
        fw_buf_deinit(&args);
        return 0;
    }
    if (args.oom) {
        free(name);
        fw_buf_deinit(&args);
        return FW_ERR_NOMEM;
    }
    if (in_reasoning) {
        if (p->npend < (int)(sizeof p->pend_name / sizeof p->pend_name[0])) {
            p->pend_name[p->npend] = name;
            p->pend_args[p->npend] = args;
            p->npend++;
            return 1;
        }
        free(name);
        fw_buf_deinit(&args);
        return 1;
    }
    st = emit_call(p, name, &args, cb, ctx);
    free(name);
    fw_buf_deinit(&args);
    return st == FW_OK ? 1 : st;
}

static void drop_pending(tpl_tagparse *p)
{
    int i;
    for (i = 0; i < p->npend; i++) {
        free(p->pend_name[i]);
        fw_buf_deinit(&p->pend_args[i]);
    }
    p->npend = 0;
}

/* Processes as much input as is decidable; finishing = no more input. */
static fw_status step(tpl_tagparse *p, int finishing, fw_parse_cb cb, void *ctx)
{
    const tpl_tag_format *f = p->fmt;
    fw_status st;

    for (;;) {
        const char *s = p->in.data;
        size_t n = p->in.len, i = 0, off, hold;
        int which, r;

        if (n == 0)
            return FW_OK;
        switch (p->state) {
        case ST_START:
            while (i < n && is_ws(s[i]))
                i++;
            if (i < n && tpl_starts_with(s + i, n - i, f->think_open)) {
                consume(p, i + strlen(f->think_open));
                p->state = ST_REASONING;
                end_seg(p);
                continue;
            }
            if (!finishing && (i == n || tpl_partial_marker(s + i, n - i, f->think_open) == n - i))
                return FW_OK; /* cannot decide yet */
            p->state = ST_CONTENT;
            p->skip_lead = 1;
            continue;
        case ST_REASONING:
        case ST_CONTENT: {
            const char *marks[3];
            int nm = 0;
            if (p->state == ST_REASONING && p->dup_open) {
                while (i < n && is_ws(s[i]))
                    i++;
                if (i < n && tpl_starts_with(s + i, n - i, f->think_open)) {
                    consume(p, i + strlen(f->think_open));
                    p->dup_open = 0;
                    continue;
                }
                if (!finishing && (i == n || tpl_partial_marker(s + i, n - i, f->think_open) == n - i))
                    return FW_OK;
                p->dup_open = 0;
            }
            marks[nm++] = f->call_open;
            if (p->state == ST_REASONING)
                marks[nm++] = f->think_close;
            marks[nm] = NULL;
            off = tpl_find_any(s, n, marks, &which);
            if (which < 0) {
                size_t cut = 0;
                hold = finishing ? 0 : tpl_partial_any(s, n, marks);
                /* The output ends in a call tag cut short ("<tool", max_tokens):
                 * not content, like the unfinished call it starts (below).  A
                 * lone "<" is too common in text to drop. */
                if (finishing && p->state == ST_CONTENT) {
                    cut = tpl_partial_marker(s, n, f->call_open);
                    if (cut < 2)
                        cut = 0;
                }
                st = emit_seg(p, kind_of(p->state), s, n - hold - cut, cb, ctx);
                if (st != FW_OK)
                    return st;
                consume(p, n - hold);
                return FW_OK;
            }
            st = emit_seg(p, kind_of(p->state), s, off, cb, ctx);
            if (st != FW_OK)
                return st;
            if (marks[which] == f->call_open) {
                consume(p, off + strlen(f->call_open));
                p->ret_state = p->state;
                p->state = ST_CALL;
                if (p->ret_state == ST_REASONING) {
                    /* The call is reasoning text either way. */
                    st = emit_seg(p, FW_PARSE_REASONING, f->call_open, strlen(f->call_open), cb,
                                  ctx);
                    if (st != FW_OK)
                        return st;
                    continue;
                }
                /* Held whitespace stays: "a <call/> b" keeps one space. */
            } else {
                consume(p, off + strlen(f->think_close));
                p->state = ST_CONTENT;
                drop_pending(p);
                end_seg(p);
            }
            continue;
        }
        case ST_CALL: {
            int in_r = p->ret_state == ST_REASONING;
            size_t tclose = in_r ? tpl_find(s, n, f->think_close) : n;
            off = tpl_find(s, n, f->call_close);
            if (in_r && tclose < off) {
                /* Reasoning ends inside the call: it was no call. */
                p->state = ST_REASONING;
                continue;
            }
            if (off == n) {
                if (!finishing)
                    return FW_OK;
                /* Unclosed at the end: accept a complete body (qwen3).  An
                 * unfinished call (max_tokens, a stop) is dropped, as vLLM's
                 * hermes parser never streams it as content; in reasoning
                 * it is reasoning text like the rest. */
                r = f->accept_unclosed ? try_call(p, n, in_r, cb, ctx) : 0;
                if (r < 0)
                    return (fw_status)r;
                p->state = p->ret_state;
                if (!in_r) {
                    consume(p, n);
                    return FW_OK;
                }
                continue; /* the body is parsed again as reasoning text */
            }
            r = try_call(p, off, in_r, cb, ctx);
            if (r < 0)
                return (fw_status)r;
            p->state = p->ret_state;
            if (r == 1 && !in_r) {
                consume(p, off + strlen(f->call_close));
                p->skip_lead = 1;
                continue;
            }
            /* Malformed, or inside reasoning: the call is text. */
            if (!in_r)
                st = emit_seg(p, FW_PARSE_CONTENT, f->call_open, strlen(f->call_open), cb, ctx);
            else
                st = FW_OK;
            if (st == FW_OK)
                st = emit_seg(p, kind_of(p->state), s, off + strlen(f->call_close), cb, ctx);
            if (st != FW_OK)
                return st;
            consume(p, off + strlen(f->call_close));
            continue;
        }
        default:
            return FW_ERR_INTERNAL;
        }
    }
}

int tpl_tagparse_new(const tpl_tag_format *fmt, const char *opts_json, tpl_tagparse **out)
{
    tpl_tagparse *p = calloc(1, sizeof *p);
    const cJSON *t;

    *out = NULL;
    if (!p)
        return FW_ERR_NOMEM;
    p->fmt = fmt;
    fw_buf_init(&p->in);
    fw_buf_init(&p->ws);
    p->state = ST_START;
    if (opts_json && *opts_json) {
        p->opts = tpl_json_parse(opts_json, (size_t)-1);
        if (!p->opts || !cJSON_IsObject(p->opts)) {
            tpl_tagparse_free(p);
            return FW_ERR_INVALID;
        }
        t = cJSON_GetObjectItemCaseSensitive(p->opts, "tools");
        p->tools = cJSON_IsArray(t) ? t : NULL;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->opts, "thinking_forced_open"))) {
            p->state = ST_REASONING;
            p->skip_lead = 1;
            p->dup_open = 1;
        }
        /* An assistant prefill: the output continues its text as is, in
         * the block the prefill left open, no think_open expected. */
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p->opts, "continue_final_message"))) {
            p->state = p->state == ST_REASONING ? ST_REASONING : ST_CONTENT;
            p->skip_lead = 0;
            p->dup_open = 0;
        }
    }
    if (fw_buf_reserve(&p->in, 64) != 0) {
        tpl_tagparse_free(p);
        return FW_ERR_NOMEM;
    }
    *out = p;
    return FW_OK;
}

fw_status tpl_tagparse_feed(tpl_tagparse *p, const char *s, size_t n, fw_parse_cb cb, void *ctx)
{
    fw_buf_append(&p->in, s, n);
    if (p->in.oom)
        return FW_ERR_NOMEM;
    return step(p, 0, cb, ctx);
}

fw_status tpl_tagparse_finish(tpl_tagparse *p, fw_parse_cb cb, void *ctx)
{
    fw_status st = step(p, 1, cb, ctx);
    int i;

    /* Reasoning that never closed: its complete calls are real calls. */
    if (st == FW_OK && p->state == ST_REASONING)
        for (i = 0; i < p->npend && st == FW_OK; i++)
            st = emit_call(p, p->pend_name[i], &p->pend_args[i], cb, ctx);
    drop_pending(p);
    fw_buf_reset(&p->ws); /* trailing whitespace of the message is dropped */
    fw_buf_reset(&p->in);
    return st;
}

void tpl_tagparse_free(tpl_tagparse *p)
{
    if (!p)
        return;
    drop_pending(p);
    cJSON_Delete(p->opts);
    fw_buf_deinit(&p->in);
    fw_buf_deinit(&p->ws);
    free(p);
}

fw_status tpl_tag_parser_new(const tpl_tag_format *fmt, const char *opts_json,
                             fw_chat_parser **out, fw_err *err)
{
    tpl_tagparse *p;
    int st = tpl_tagparse_new(fmt, opts_json, &p);

    if (st != FW_OK)
        return tpl_err(err, (fw_status)st, "%s: parser options: invalid JSON or out of memory",
                       fmt->name);
    *out = (fw_chat_parser *)p;
    return FW_OK;
}

fw_status tpl_tag_parser_feed(fw_chat_parser *cp, const char *s, size_t n, fw_parse_cb cb,
                              void *ctx, fw_err *err)
{
    tpl_tagparse *p = (tpl_tagparse *)cp;
    fw_status st = tpl_tagparse_feed(p, s, n, cb, ctx);
    return st == FW_OK ? st : tpl_err(err, st, "%s: parse failed (%d)", p->fmt->name, (int)st);
}

fw_status tpl_tag_parser_finish(fw_chat_parser *cp, fw_parse_cb cb, void *ctx, fw_err *err)
{
    tpl_tagparse *p = (tpl_tagparse *)cp;
    fw_status st = tpl_tagparse_finish(p, cb, ctx);
    return st == FW_OK ? st : tpl_err(err, st, "%s: parse failed (%d)", p->fmt->name, (int)st);
}

void tpl_tag_parser_free(fw_chat_parser *p) { tpl_tagparse_free((tpl_tagparse *)p); }

const cJSON *tpl_tool_params(const cJSON *tools, const char *name)
{
    const cJSON *t, *fn;

    cJSON_ArrayForEach(t, tools) {
        fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        if (!cJSON_IsObject(fn))
            fn = t;
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(fn, "name");
        if (cJSON_IsString(nm) && !strcmp(nm->valuestring, name))
            return cJSON_GetObjectItemCaseSensitive(fn, "parameters");
    }
    return NULL;
}

fw_status tpl_tag_vt_parser_new(fw_template *t, const char *opts_json, fw_chat_parser **out,
                                fw_err *err)
{
    return tpl_tag_parser_new(((const tpl_tag_template *)t)->fmt, opts_json, out, err);
}

const char *const *tpl_tag_vt_stop_strings(fw_template *t)
{
    return ((const tpl_tag_template *)t)->stops;
}
