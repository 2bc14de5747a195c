/* plugins/templates/harmony/harmony_parse.c -- incremental Harmony output parser.
 *
 * Input arrives in arbitrary pieces.  Text is consumed up to the next marker;
 * a tail that could still become a marker ("<|cha") is held back until the
 * next piece or finish.  Every decision depends only on the text, never on
 * where it was cut, so feeding it whole or one byte at a time gives the same
 * events (modulo how text deltas are split). */
#include "harmony_parse.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tpl_stream.h"

enum { ST_HEADER, ST_BODY, ST_DONE };
enum { BODY_CONTENT, BODY_REASONING, BODY_TOOL, BODY_DROP };

/* Past this much header text without a header shape, the output is taken
 * as plain content (a model that skipped the channel header). */
#define PLAIN_HEADER_MAX 64
#define HEADER_MAX 512

enum {
    M_START, M_END, M_MESSAGE, M_CHANNEL, M_CONSTRAIN, M_RETURN, M_CALL, M_EOT, M_COUNT
};
static const char *const markers[M_COUNT] = {
    "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>",
    "<|return|>", "<|call|>", "<|endoftext|>",
};

struct fw_chat_parser {
    tpl_mstream ms;     /* input, callback, first callback error */
    int state;
    fw_buf hdr;         /* header text of the message being read, markers included */
    int hdr_started;    /* the header followed <|start|> */
    int hdr_marked;     /* the header holds a marker */
    int body;           /* BODY_* */
    tpl_mcall call;     /* the current tool call (name from the header) */
};

static void emit(fw_chat_parser *p, fw_parse_kind kind, const char *s, size_t n)
{
    tpl_mcall_emit(&p->ms, &p->call, kind, s, n);
}

/* Emits s as content with every marker removed (malformed output). */
static void emit_unmarked(fw_chat_parser *p, const char *s, size_t n)
{
    size_t i = 0, from = 0;
    int k;

    while (i < n) {
        for (k = 0; k < M_COUNT; k++) {
            size_t ml = strlen(markers[k]);
            if (n - i >= ml && !memcmp(s + i, markers[k], ml))
                break;
        }
        if (k < M_COUNT) {
            emit(p, FW_PARSE_CONTENT, s + from, i - from);
            i += strlen(markers[k]);
            from = i;
        } else {
            i++;
        }
    }
    emit(p, FW_PARSE_CONTENT, s + from, n - from);
}

static void reset_header(fw_chat_parser *p, int started)
{
    fw_buf_reset(&p->hdr);
    p->hdr_started = started;
    p->hdr_marked = 0;
    p->state = ST_HEADER;
}

/* The header never took shape: show its text as content from here on. */
static void header_to_content(fw_chat_parser *p)
{
    if (p->hdr.len)
        emit_unmarked(p, p->hdr.data, p->hdr.len);
    fw_buf_reset(&p->hdr);
    p->state = ST_BODY;
    p->body = BODY_CONTENT;
}

/* Copies the word after s (up to whitespace or '<') into b. */
static void word_after(fw_buf *b, const char *s)
{
    size_t n = 0;

    while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\n' && s[n] != '<')
        n++;
    fw_buf_reset(b);
    fw_buf_append(b, s, n);
}

/* Decides what the body of the message whose header is p->hdr means. */
static void open_body(fw_chat_parser *p)
{
    const char *h = p->hdr.data ? p->hdr.data : "", *c, *q;
    int analysis = 0, other_recipient = 0, tool = 0;
    size_t i;
    fw_buf w;

    fw_buf_init(&w);
    /* channel: the word after the last <|channel|> */
    for (c = strstr(h, "<|channel|>"), q = NULL; c; c = strstr(c + 1, "<|channel|>"))
        q = c;
    if (q) {
        word_after(&w, q + strlen("<|channel|>"));
        analysis = w.data && !strcmp(w.data, "analysis");
    }
    /* recipients: " to=X" before or after the channel */
    for (c = strstr(h, "to="); c; c = strstr(c + 3, "to=")) {
        if (c != h && c[-1] != ' ' && c[-1] != '>' && c[-1] != '\t' && c[-1] != '\n')
            continue;
        word_after(&w, c + 3);
        if (w.len > 10 && !strncmp(w.data, "functions.", 10)) {
            tool = 1;
            fw_buf_reset(&p->call.name);
            fw_buf_append(&p->call.name, w.data + 10, w.len - 10);
        } else if (w.len && strcmp(w.data, "assistant")) {
            other_recipient = 1;
        }
    }
    /* a role other than assistant (e.g. an echoed tool result) is not ours */
    for (i = 0; h[i] == ' ' || h[i] == '\n'; i++)
        ;
    if (h[i] && h[i] != '<' && strncmp(h + i, "to=", 3)) {
        word_after(&w, h + i);
        if (w.data && strcmp(w.data, "assistant"))
            other_recipient = 1;
    }
    fw_buf_deinit(&w);

    p->state = ST_BODY;
    tpl_mcall_reset(&p->call);
    if (tool)
        p->body = BODY_TOOL;
    else if (other_recipient)
        p->body = BODY_DROP; /* a built-in tool we did not offer */
    else
        p->body = analysis ? BODY_REASONING : BODY_CONTENT;
    fw_buf_reset(&p->hdr);
}

/* Feeds call arguments (Harmony carries no call ids: the server assigns
 * them); a body that is not a JSON object is a malformed call, kept as content. */
static void tool_text(fw_chat_parser *p, const char *s, size_t n)
{
    size_t bad = tpl_mcall_args(&p->ms, &p->call, NULL, s, n);

    if (bad < n) {
        p->body = BODY_CONTENT;
        emit(p, FW_PARSE_CONTENT, p->call.lead.data, p->call.lead.len);
        emit(p, FW_PARSE_CONTENT, s + bad, n - bad);
    }
}

static void on_text(void *ctx, const char *s, size_t n)
{
    fw_chat_parser *p = ctx;

    if (n == 0)
        return;
    switch (p->state) {
    case ST_HEADER:
        fw_buf_append(&p->hdr, s, n);
        if ((!p->hdr_started && !p->hdr_marked && p->hdr.len > PLAIN_HEADER_MAX) ||
            p->hdr.len > HEADER_MAX)
            header_to_content(p);
        break;
    case ST_BODY:
        if (p->body == BODY_CONTENT)
            emit(p, FW_PARSE_CONTENT, s, n);
        else if (p->body == BODY_REASONING)
            emit(p, FW_PARSE_REASONING, s, n);
        else if (p->body == BODY_TOOL)
            tool_text(p, s, n);
        break;
    default:
        break;
    }
}

/* A header that ended without <|message|>: plain text before any header
 * shape is content; a broken header is dropped. */
static void abandon_header(fw_chat_parser *p)
{
    if (!p->hdr_started && !p->hdr_marked && p->hdr.len)
        emit_unmarked(p, p->hdr.data, p->hdr.len);
    fw_buf_reset(&p->hdr);
}

static void on_marker(void *ctx, int m)
{
    fw_chat_parser *p = ctx;

    if (p->state == ST_DONE)
        return;
    if (p->state == ST_HEADER) {
        switch (m) {
        case M_START:
            abandon_header(p);
            reset_header(p, 1);
            break;
        case M_CHANNEL:
        case M_CONSTRAIN:
            fw_buf_puts(&p->hdr, markers[m]);
            p->hdr_marked = 1;
            if (p->hdr.len > HEADER_MAX)
                header_to_content(p);
            break;
        case M_MESSAGE:
            open_body(p);
            break;
        case M_EOT:
            abandon_header(p);
            p->state = ST_DONE;
            break;
        default: /* <|end|> <|return|> <|call|>: a message without a body */
            abandon_header(p);
            reset_header(p, 0);
            break;
        }
        return;
    }
    /* ST_BODY */
    switch (m) {
    case M_START:
        reset_header(p, 1);
        break;
    case M_CHANNEL: /* a new header without <|end|><|start|> */
        reset_header(p, 0);
        fw_buf_puts(&p->hdr, markers[m]);
        p->hdr_marked = 1;
        break;
    case M_MESSAGE:
    case M_CONSTRAIN:
        break; /* stray: never shown */
    case M_EOT:
        p->state = ST_DONE;
        break;
    default:
        reset_header(p, 0);
        break;
    }
}

static void run(fw_chat_parser *p, int final)
{
    tpl_marker_run(&p->ms, markers, M_COUNT, final, on_text, on_marker, p);
}

fw_status harmony_parser_new(fw_template *t, const char *opts_json, fw_chat_parser **out,
                             fw_err *err)
{
    fw_chat_parser *p;
    int forced = 0;

    fw_status st = tpl_mparser_opts("harmony", out, opts_json, &forced, err);

    (void)t;
    if (st != FW_OK)
        return st;
    p = calloc(1, sizeof *p);
    if (!p)
        return fw_err_set(err, FW_ERR_NOMEM, "harmony parser: out of memory");
    fw_buf_init(&p->ms.in);
    fw_buf_init(&p->hdr);
    tpl_mcall_init(&p->call);
    /* The generation prompt ends with "<|start|>assistant": output begins
     * with the rest of that header, or inside an analysis body if the prompt
     * already opened one. */
    reset_header(p, 0);
    if (forced) {
        p->state = ST_BODY;
        p->body = BODY_REASONING;
    }
    *out = p;
    return FW_OK;
}

static fw_status feed_common(fw_chat_parser *p, const char *text, size_t n, fw_parse_cb cb,
                             void *ctx, int final, fw_err *err)
{
    fw_status st = tpl_mstream_feed(p ? &p->ms : NULL, "harmony", text, n, cb, ctx, err);

    if (st != FW_OK)
        return st;
    run(p, final);
    if (final && p->ms.st == FW_OK && p->state == ST_HEADER)
        abandon_header(p);
    return tpl_mstream_end(&p->ms, "harmony", p->hdr.oom || p->call.name.oom || p->call.lead.oom,
                          err);
}

fw_status harmony_parser_feed(fw_chat_parser *p, const char *text, size_t n, fw_parse_cb cb,
                              void *ctx, fw_err *err)
{
    return feed_common(p, text, n, cb, ctx, 0, err);
}

fw_status harmony_parser_finish(fw_chat_parser *p, fw_parse_cb cb, void *ctx, fw_err *err)
{
    fw_status st = feed_common(p, "", 0, cb, ctx, 1, err);
    if (st == FW_OK && p->state != ST_DONE) {
        /* the message ends here (stop string or end of output) */
        reset_header(p, 0);
        p->state = ST_DONE;
    }
    return st;
}

void harmony_parser_free(fw_chat_parser *p)
{
    if (!p)
        return;
    fw_buf_deinit(&p->ms.in);
    fw_buf_deinit(&p->hdr);
    tpl_mcall_deinit(&p->call);
    free(p);
}
