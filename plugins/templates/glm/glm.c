/* plugins/templates/glm/glm.c -- GLM-4.5 / 4.6 / 4.7: render, the
 * <tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>
 * stream parser, stop strings and a tool-call grammar.
 *
 * The three official Jinja templates share one structure and differ in
 * layout, captured in the glm_layout table:
 *  - 4.5 / 4.6: "/nothink" appended to user turns when thinking is off,
 *    "\n<think></think>" opens history turns and the thinking-off
 *    generation prompt; 4.6 also puts a newline after <|user|> and between
 *    the parts of a tool call;
 *  - 4.7: compact (no newlines), history turns open with "</think>", the
 *    generation prompt opens "<think>" (or closes it when thinking is off),
 *    and clear_thinking=false keeps every turn's reasoning. */
#include "glm.h"

#include <stdlib.h>
#include <string.h>

#include "tpl_grammar.h"
#include "tpl_json.h"
#include "tpl_req.h"
#include "tpl_stream.h"
#include "tpl_tagparse.h"

static const fw_host_api *host; /* the one allowed global */

typedef struct glm_layout {
    const char *variant;
    const char *user;         /* after <|user|> */
    const char *system;       /* after <|system|> */
    int nothink_suffix;       /* "/nothink" on user turns when thinking is off */
    const char *think_pre;    /* before <think> in assistant turns */
    const char *empty_think;  /* history turn without kept reasoning */
    const char *content_pre;  /* before the stripped content */
    const char *call_pre;     /* before each <tool_call> */
    const char *name_post;    /* after the function name */
    const char *key_value;    /* between </arg_key> and <arg_value> */
    const char *arg_post;     /* after </arg_value> */
    const char *resp_open, *resp_close; /* around a tool result */
    const char *call_format;  /* the tools preamble's format example */
    int clear_thinking;       /* honours clear_thinking (4.7) */
} glm_layout;

static const char fmt_lines[] =
    "<tool_call>{function-name}\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}"
    "</arg_value>\n<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n"
    "</tool_call>";
static const char fmt_compact[] =
    "<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}"
    "</arg_value><arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>..."
    "</tool_call>";

static const glm_layout layouts[] = {
    {"glm-4.5", "", "\n", 1, "\n", "\n<think></think>", "\n", "\n", "", "\n", "",
     "\n<tool_response>\n", "\n</tool_response>", fmt_lines, 0},
    {"glm-4.6", "\n", "\n", 1, "\n", "\n<think></think>", "\n", "\n", "\n", "\n", "\n",
     "\n<tool_response>\n", "\n</tool_response>", fmt_lines, 0},
    {"glm-4.7", "", "", 0, "", "</think>", "", "", "", "", "", "<tool_response>",
     "</tool_response>", fmt_compact, 1},
};

struct fw_template {
    tpl_tag_template tag; /* first: the shared parser_new / stop_strings */
    const glm_layout *lay;
};

static const char *const specials[] = {
    "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>",
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>",
    "<arg_value>", "</arg_value>", "<tool_response>", "</tool_response>", NULL};

static const char *const stops[] = {"<|user|>", "<|observation|>", "<|endoftext|>", NULL};

static const tpl_tag_format g_format; /* below, with its call parser */

static fw_status g_create(const char *variant, const fw_config_node *cfg, fw_template **out,
                          fw_err *err)
{
    const glm_layout *lay = &layouts[2]; /* default: the newest */
    fw_template *t;
    size_t i;

    (void)cfg;
    *out = NULL;
    if (variant && *variant) {
        lay = NULL;
        for (i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
            if (!strcmp(variant, layouts[i].variant))
                lay = &layouts[i];
        if (!lay)
            return tpl_err(err, FW_ERR_INVALID,
                           "glm: unknown variant '%s' (glm-4.5, glm-4.6, glm-4.7)", variant);
    }
    t = host->alloc(sizeof *t);
    if (!t)
        return tpl_err(err, FW_ERR_NOMEM, "glm: out of memory");
    t->tag.fmt = &g_format;
    t->tag.stops = stops;
    t->lay = lay;
    *out = t;
    return FW_OK;
}

static void g_destroy(fw_template *t) { host->free(t); }

static void lit(tpl_out *o, const char *s) { tpl_out_literal(o, s, specials); }

static void text(tpl_out *o, tpl_slice s) { tpl_out_text(o, s.p, s.n); }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

static void render_tools(tpl_out *o, const glm_layout *lay, const cJSON *tools)
{
    const cJSON *tool;
    fw_buf b;

    lit(o, "<|system|>\n# Tools\n\nYou may call one or more functions to assist with the user "
           "query.\n\nYou are provided with function signatures within <tools></tools> XML "
           "tags:\n<tools>\n");
    fw_buf_init(&b);
    cJSON_ArrayForEach(tool, tools) {
        fw_buf_reset(&b);
        tpl_json_dump(&b, tool);
        tpl_out_text(o, b.data, b.len);
        tpl_out_puts(o, "\n");
    }
    fw_buf_deinit(&b);
    lit(o, "</tools>\n\nFor each function call, output the function name and arguments within "
           "the following XML format:\n");
    lit(o, lay->call_format);
}

static void render_calls(tpl_out *o, const glm_layout *lay, const cJSON *calls)
{
    const cJSON *tc, *fn, *args, *kv;
    const char *name;
    fw_buf b;

    fw_buf_init(&b);
    cJSON_ArrayForEach(tc, calls) {
        fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        if (!cJSON_IsObject(fn))
            fn = tc;
        name = tpl_get_str(fn, "name");
        args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        lit(o, lay->call_pre);
        lit(o, "<tool_call>");
        tpl_out_puts(o, name ? name : "");
        lit(o, lay->name_post);
        if (!cJSON_IsObject(args))
            args = NULL;
        cJSON_ArrayForEach(kv, args) {
            lit(o, "<arg_key>");
            tpl_out_puts(o, kv->string ? kv->string : "");
            lit(o, "</arg_key>");
            lit(o, lay->key_value);
            lit(o, "<arg_value>");
            if (cJSON_IsString(kv)) {
                tpl_out_puts(o, kv->valuestring);
            } else {
                fw_buf_reset(&b);
                tpl_json_dump(&b, kv);
                tpl_out_text(o, b.data, b.len);
            }
            lit(o, "</arg_value>");
            lit(o, lay->arg_post);
        }
        lit(o, "</tool_call>");
    }
    fw_buf_deinit(&b);
}

static fw_status g_render(fw_template *t, const char *request_json, const fw_prompt_sink *sink,
                          fw_err *err)
{
    const glm_layout *lay = t->lay;
    tpl_req r;
    tpl_out o;
    const cJSON *m, *prev = NULL;
    const char *history;
    int think, last_user = -1, i, thinking_off, kw, is_false, keep_all = 0;
    fw_status st;

    st = tpl_req_parse(&r, request_json, err);
    if (st != FW_OK)
        return st;
    st = tpl_req_reasoning(&r, &think, &history, err);
    if (st == FW_OK && history && !strcmp(history, "preserved") && !lay->clear_thinking)
        st = tpl_err(err, FW_ERR_INVALID, "reasoning_history 'preserved' is not supported by %s",
                     lay->variant);
    if (st != FW_OK) {
        tpl_req_free(&r);
        return st;
    }
    if (history && !strcmp(history, "disabled"))
        tpl_req_strip_reasoning(&r);
    /* `enable_thinking is defined and not enable_thinking` */
    kw = tpl_kwarg_bool(&r, "enable_thinking", &is_false);
    thinking_off = kw >= 0 ? !kw : think == 0;
    /* `clear_thinking is defined and not clear_thinking` (4.7) */
    kw = tpl_kwarg_bool(&r, "clear_thinking", &is_false);
    if (lay->clear_thinking)
        keep_all = kw >= 0 ? !kw : (history && !strcmp(history, "preserved"));

    i = 0;
    cJSON_ArrayForEach(m, r.messages) {
        if (!strcmp(tpl_msg_role(m), "user"))
            last_user = i;
        i++;
    }

    tpl_out_init(&o, sink);
    lit(&o, "[gMASK]<sop>");
    if (r.tools)
        render_tools(&o, lay, r.tools);
    i = 0;
    cJSON_ArrayForEach(m, r.messages) {
        const char *role = tpl_msg_role(m), *c = tpl_msg_content(m);
        if (!strcmp(role, "user")) {
            lit(&o, "<|user|>");
            lit(&o, lay->user);
            tpl_out_puts(&o, c);
            if (lay->nothink_suffix && thinking_off && !ends_with(c, "/nothink"))
                tpl_out_puts(&o, "/nothink");
        } else if (!strcmp(role, "assistant")) {
            tpl_slice content = tpl_slice_of(c), reasoning = {"", 0};
            const char *rc = tpl_get_str(m, "reasoning_content");
            const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
            if (rc)
                reasoning = tpl_slice_of(rc);
            else
                tpl_split_think(content, "<think>", "</think>", &reasoning, &content);
            lit(&o, "<|assistant|>");
            if ((keep_all || i > last_user) && reasoning.n > 0) {
                lit(&o, lay->think_pre);
                lit(&o, "<think>");
                text(&o, tpl_strip(reasoning));
                lit(&o, "</think>");
            } else {
                lit(&o, lay->empty_think);
            }
            content = tpl_strip(content);
            if (content.n > 0) {
                lit(&o, lay->content_pre);
                text(&o, content);
            }
            if (cJSON_IsArray(calls) && calls->child)
                render_calls(&o, lay, calls);
        } else if (!strcmp(role, "tool")) {
            if (!prev || strcmp(tpl_msg_role(prev), "tool") != 0)
                lit(&o, "<|observation|>");
            lit(&o, lay->resp_open);
            tpl_out_puts(&o, c);
            lit(&o, lay->resp_close);
        } else if (!strcmp(role, "system")) {
            lit(&o, "<|system|>");
            lit(&o, lay->system);
            tpl_out_puts(&o, c);
        }
        prev = m;
        i++;
    }
    if (r.add_generation_prompt) {
        lit(&o, "<|assistant|>");
        if (lay->clear_thinking)
            lit(&o, thinking_off ? "</think>" : "<think>");
        else if (thinking_off)
            lit(&o, "\n<think></think>");
    }
    tpl_req_free(&r);
    return tpl_out_finish(&o, err);
}

/* Does the tool's schema declare parameter key as a string? Then its value
 * is kept raw even when it would parse as JSON. */
static int param_is_string(const cJSON *tools, const char *tool, const char *key)
{
    const cJSON *params = tools ? tpl_tool_params(tools, tool) : NULL;
    const cJSON *prop = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(params, "properties"), key);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(prop, "type"), *e;

    if (cJSON_IsString(type))
        return !strcmp(type->valuestring, "string");
    if (!cJSON_IsArray(type))
        return 0;
    cJSON_ArrayForEach(e, type) {
        if (cJSON_IsString(e) && !strcmp(e->valuestring, "string"))
            return 1;
    }
    return 0;
}

static int skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return (int)i;
}

/* body[i..n) starts with open: [*b, *e) is the text up to close; returns
 * the offset after close, or 0 when either tag is missing. */
static size_t tag_span(const char *body, size_t n, size_t i, const char *open, const char *close,
                       size_t *b, size_t *e)
{
    if (!tpl_starts_with(body + i, n - i, open))
        return 0;
    *b = i + strlen(open);
    *e = *b + tpl_find(body + *b, n - *b, close);
    if (*e >= n)
        return 0;
    return *e + strlen(close);
}

/* Body: NAME (<arg_key>k</arg_key> <arg_value>v</arg_value>)*, any
 * whitespace between the parts. */
static int g_parse_call(const char *body, size_t n, const cJSON *tools, char **name, fw_buf *args)
{
    size_t i, nl, kb, ke, vb, ve;
    const char *nm;
    char *key = NULL;
    cJSON *obj = cJSON_CreateObject(), *v;
    int rc = -1;

    if (!obj)
        return -1;
    i = tpl_find(body, n, "<arg_key>");
    nm = tpl_trim(body, i, &nl);
    if (nl == 0 || memchr(nm, '<', nl) || memchr(nm, '>', nl) || memchr(nm, '\n', nl))
        goto out;
    *name = strndup(nm, nl);
    if (!*name)
        goto out;
    while ((i = (size_t)skip_ws(body, n, i)) < n) {
        i = tag_span(body, n, i, "<arg_key>", "</arg_key>", &kb, &ke);
        if (i == 0)
            goto bad;
        i = tag_span(body, n, (size_t)skip_ws(body, n, i), "<arg_value>", "</arg_value>", &vb, &ve);
        if (i == 0)
            goto bad;
        free(key);
        key = strndup(body + kb, ke - kb);
        if (!key)
            goto bad;
        v = NULL;
        if (!param_is_string(tools, *name, key)) {
            size_t tl;
            const char *t = tpl_trim(body + vb, ve - vb, &tl);
            v = tl ? tpl_json_parse(t, tl) : NULL;
        }
        if (!v) {
            /* Not JSON, or the schema says string: the raw text. */
            char *raw = strndup(body + vb, ve - vb);
            v = raw ? cJSON_CreateString(raw) : NULL;
            free(raw);
        }
        if (!v)
            goto bad;
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key); /* last one wins */
        cJSON_AddItemToObject(obj, key, v);
    }
    tpl_json_dump(args, obj);
    rc = 0;
    goto out;
bad:
    free(*name);
    *name = NULL;
out:
    free(key);
    cJSON_Delete(obj);
    return rc;
}

static const tpl_tag_format g_format = {"<think>", "</think>", "<tool_call>", "</tool_call>",
                                        g_parse_call, 0, "glm"};

/* <tool_call>NAME (<arg_key>KEY</arg_key><arg_value>TEXT</arg_value>)* </tool_call> */
static void g_call_rule(fw_buf *g, const char *rule, const char *name, const cJSON *params)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(params, "properties"), *p;
    int k = 0;

    fw_buf_printf(g, "%s-key ::= ", rule);
    if (!cJSON_IsObject(props))
        props = NULL;
    cJSON_ArrayForEach(p, props) {
        fw_buf_puts(g, k++ ? " | \"" : "\"");
        tpl_gbnf_escape(g, p->string ? p->string : "");
        fw_buf_putc(g, '"');
    }
    if (k == 0)
        fw_buf_puts(g, "[^<]+");
    fw_buf_printf(g, "\n%s ::= \"<tool_call>", rule);
    tpl_gbnf_escape(g, name);
    fw_buf_printf(g, "\" ( ws \"<arg_key>\" %s-key \"</arg_key>\" ws \"<arg_value>\" "
                     "argtext \"</arg_value>\" )* ws \"</tool_call>\"\n",
                  rule);
}

static fw_status g_tool_grammar(fw_template *t, const char *request_json, char **out, fw_err *err)
{
    char *g = NULL;
    fw_status st;
    size_t n;
    static const char extra[] = "argtext ::= ( [^<] | \"<\" [^/] )*\n";

    (void)t;
    st = tpl_gbnf_tool_grammar(request_json, g_call_rule, "ws", host->alloc, &g, err);
    if (st != FW_OK || !g) {
        *out = NULL;
        return st;
    }
    n = strlen(g);
    *out = host->alloc(n + sizeof extra);
    if (!*out) {
        host->free(g);
        return tpl_err(err, FW_ERR_NOMEM, "glm: out of memory");
    }
    memcpy(*out, g, n);
    memcpy(*out + n, extra, sizeof extra);
    host->free(g);
    return FW_OK;
}

static const fw_template_vtable g_vtable = {
    sizeof(fw_template_vtable),
    g_create,
    g_destroy,
    g_render,
    tpl_tag_vt_parser_new,
    tpl_tag_parser_feed,
    tpl_tag_parser_finish,
    tpl_tag_parser_free,
    tpl_tag_vt_stop_strings,
    g_tool_grammar,
    NULL, /* reasoning_tags: budgets have no effect on GLM (spec) */
};

static const fw_plugin_desc g_desc = {sizeof(fw_plugin_desc), FW_ABI_MAJOR, FW_ABI_MINOR,
                                      FW_PLUGIN_TEMPLATE,     "glm",        "1.0",
                                      &g_vtable};

const fw_plugin_desc *fw_template_glm_desc(const fw_host_api *h)
{
    if (!h || h->abi_major != FW_ABI_MAJOR)
        return NULL;
    host = h;
    return &g_desc;
}

FW_PLUGIN_DEFINE(fw_template_glm_desc)
