/* plugins/templates/qwen3/qwen3.c -- Qwen3: ChatML render with <think> and
 * <tool_call>{json}</tool_call>, the matching stream parser, stop strings
 * and a tool-call grammar.
 *
 * render() follows the official Qwen3 Jinja template (tokenizer_config.json):
 * a system turn carrying the tools preamble, reasoning kept only for
 * assistant turns after the last real user query (multi-step tool use),
 * consecutive tool results grouped in one user turn, and the empty think
 * block that enable_thinking=false appends to the generation prompt. */
#include "qwen3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_gbnf.h"
#include "tpl_grammar.h"
#include "tpl_json.h"
#include "tpl_req.h"
#include "tpl_stream.h"
#include "tpl_tagparse.h"

static const fw_host_api *host; /* the one allowed global */

struct fw_template {
    tpl_tag_template tag; /* first: the shared parser_new / stop_strings */
};

/* Template literals that are single tokens of the Qwen3 vocabulary. */
static const char *const specials[] = {"<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
                                       "<tool_response>", "</tool_response>", "<think>",
                                       "</think>", NULL};

static const char *const stops[] = {"<|im_end|>", "<|endoftext|>", NULL};

static const tpl_tag_format q_format; /* below, with its call parser */

static fw_status q_create(const char *variant, const fw_config_node *cfg, fw_template **out,
                          fw_err *err)
{
    fw_template *t;

    (void)cfg;
    *out = NULL;
    if (variant && *variant && strcmp(variant, "qwen3") != 0)
        return tpl_err(err, FW_ERR_INVALID, "qwen3: unknown variant '%s'", variant);
    t = host->alloc(sizeof *t);
    if (!t)
        return tpl_err(err, FW_ERR_NOMEM, "qwen3: out of memory");
    memset(t, 0, sizeof *t);
    t->tag.fmt = &q_format;
    t->tag.stops = stops;
    *out = t;
    return FW_OK;
}

static void q_destroy(fw_template *t) { host->free(t); }

static void lit(tpl_out *o, const char *s) { tpl_out_literal(o, s, specials); }

static void text(tpl_out *o, tpl_slice s) { tpl_out_text(o, s.p, s.n); }

/* `message.content.startswith('<tool_response>') and endswith(...)`: tool
 * results pasted into a user turn do not count as a query. */
static int is_tool_response_text(const char *c)
{
    size_t n = strlen(c);
    static const char open[] = "<tool_response>", close[] = "</tool_response>";
    return n >= sizeof open - 1 && n >= sizeof close - 1 && !memcmp(c, open, sizeof open - 1) &&
           !memcmp(c + n - (sizeof close - 1), close, sizeof close - 1);
}

static void render_tools(tpl_out *o, const tpl_req *r, const cJSON *first)
{
    const cJSON *tool;
    fw_buf b;

    lit(o, "<|im_start|>system\n");
    if (first && !strcmp(tpl_msg_role(first), "system")) {
        tpl_out_puts(o, tpl_msg_content(first));
        tpl_out_puts(o, "\n\n");
    }
    lit(o, "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
           "You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
    fw_buf_init(&b);
    cJSON_ArrayForEach(tool, r->tools) {
        fw_buf_reset(&b);
        tpl_json_dump(&b, tool);
        tpl_out_puts(o, "\n");
        tpl_out_text(o, b.data, b.len);
    }
    fw_buf_deinit(&b);
    lit(o, "\n</tools>\n\nFor each function call, return a json object with function name and "
           "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
           "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n");
}

static void render_calls(tpl_out *o, const cJSON *calls, int has_content)
{
    const cJSON *tc, *fn, *args;
    const char *name;
    int first = 1;
    fw_buf b;

    fw_buf_init(&b);
    cJSON_ArrayForEach(tc, calls) {
        if (!first || has_content)
            tpl_out_puts(o, "\n");
        first = 0;
        fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        if (!cJSON_IsObject(fn))
            fn = tc;
        name = tpl_get_str(fn, "name");
        args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        /* The official template pastes the name between quotes; a name
         * that needs escaping would break the JSON, so it is JSON-escaped
         * (the same bytes for every ordinary name). */
        lit(o, "<tool_call>\n{\"name\": ");
        fw_buf_reset(&b);
        tpl_json_str(&b, name ? name : "", name ? strlen(name) : 0);
        tpl_out_text(o, b.data, b.len);
        tpl_out_puts(o, ", \"arguments\": ");
        fw_buf_reset(&b);
        if (cJSON_IsString(args))
            fw_buf_puts(&b, args->valuestring);
        else
            tpl_json_dump(&b, args);
        tpl_out_text(o, b.data, b.len);
        lit(o, "}\n</tool_call>");
    }
    fw_buf_deinit(&b);
}

static fw_status q_render(fw_template *t, const char *request_json, const fw_prompt_sink *sink,
                          fw_err *err)
{
    tpl_req r;
    tpl_out o;
    const cJSON *m, *first;
    const char *history;
    int think, nmsg, last_query, i, enable_false, kw;
    fw_status st;

    (void)t;
    st = tpl_req_parse(&r, request_json, err);
    if (st != FW_OK)
        return st;
    st = tpl_req_reasoning(&r, &think, &history, err);
    if (st == FW_OK && history && !strcmp(history, "preserved"))
        st = tpl_err(err, FW_ERR_INVALID,
                     "reasoning_history 'preserved' is not supported by qwen3");
    if (st != FW_OK) {
        tpl_req_free(&r);
        return st;
    }
    if (history && !strcmp(history, "disabled"))
        tpl_req_strip_reasoning(&r);
    kw = tpl_kwarg_bool(&r, "enable_thinking", &enable_false);
    if (kw < 0)
        enable_false = think == 0; /* API field, unless kwargs say it */

    tpl_out_init(&o, sink);
    nmsg = cJSON_GetArraySize(r.messages);
    first = cJSON_GetArrayItem(r.messages, 0);
    if (r.tools) {
        render_tools(&o, &r, first);
    } else if (first && !strcmp(tpl_msg_role(first), "system")) {
        lit(&o, "<|im_start|>system\n");
        tpl_out_puts(&o, tpl_msg_content(first));
        lit(&o, "<|im_end|>\n");
    }

    /* The last user turn that is a real query (not pasted tool output). */
    last_query = nmsg - 1;
    for (i = nmsg - 1; i >= 0; i--) {
        m = cJSON_GetArrayItem(r.messages, i);
        if (!strcmp(tpl_msg_role(m), "user") && !is_tool_response_text(tpl_msg_content(m))) {
            last_query = i;
            break;
        }
    }

    i = 0;
    cJSON_ArrayForEach(m, r.messages) {
        const char *role = tpl_msg_role(m);
        if (!strcmp(role, "user") || (!strcmp(role, "system") && i != 0)) {
            lit(&o, "<|im_start|>");
            tpl_out_puts(&o, role);
            tpl_out_puts(&o, "\n");
            tpl_out_puts(&o, tpl_msg_content(m));
            lit(&o, "<|im_end|>\n");
        } else if (!strcmp(role, "assistant")) {
            tpl_slice content = tpl_slice_of(tpl_msg_content(m)), reasoning = {"", 0};
            const char *rc = tpl_get_str(m, "reasoning_content");
            const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
            if (rc)
                reasoning = tpl_slice_of(rc);
            else
                tpl_split_think(content, "<think>", "</think>", &reasoning, &content);
            lit(&o, "<|im_start|>assistant\n");
            if (i > last_query && (i == nmsg - 1 || reasoning.n > 0)) {
                lit(&o, "<think>\n");
                text(&o, tpl_strip_chars(reasoning, '\n', 1, 1));
                lit(&o, "\n</think>\n\n");
                text(&o, tpl_strip_chars(content, '\n', 1, 0));
            } else {
                text(&o, content);
            }
            if (cJSON_IsArray(calls) && calls->child)
                render_calls(&o, calls, content.n > 0);
            /* A final assistant turn without a generation prompt is a
             * prefill: left open so the model continues it (vLLM's
             * continue_final_message; the official template closes it). */
            if (r.add_generation_prompt || i != nmsg - 1)
                lit(&o, "<|im_end|>\n");
        } else if (!strcmp(role, "tool")) {
            const cJSON *prev = i > 0 ? cJSON_GetArrayItem(r.messages, i - 1) : NULL;
            if (!prev || strcmp(tpl_msg_role(prev), "tool") != 0)
                lit(&o, "<|im_start|>user");
            lit(&o, "\n<tool_response>\n");
            tpl_out_puts(&o, tpl_msg_content(m));
            lit(&o, "\n</tool_response>");
            if (!m->next || strcmp(tpl_msg_role(m->next), "tool") != 0)
                lit(&o, "<|im_end|>\n");
        }
        /* Other roles render nothing, as in the template. */
        i++;
    }
    if (r.add_generation_prompt) {
        lit(&o, "<|im_start|>assistant\n");
        if (enable_false)
            lit(&o, "<think>\n\n</think>\n\n");
    }
    tpl_req_free(&r);
    return tpl_out_finish(&o, err);
}

/* Body: {"name": "...", "arguments": {...}} (arguments may be a JSON string). */
static int q_parse_call(const char *body, size_t n, const cJSON *tools, char **name, fw_buf *args)
{
    size_t len;
    const char *s = tpl_trim(body, n, &len);
    cJSON *v = tpl_json_parse(s, len), *a, *pa = NULL;
    const char *nm;
    int rc = -1;

    (void)tools;
    if (!cJSON_IsObject(v))
        goto out;
    nm = tpl_get_str(v, "name");
    if (!nm || !*nm)
        goto out;
    a = cJSON_GetObjectItemCaseSensitive(v, "arguments");
    if (!a)
        a = cJSON_GetObjectItemCaseSensitive(v, "parameters");
    if (cJSON_IsString(a)) {
        pa = tpl_json_parse(a->valuestring, (size_t)-1);
        a = pa;
    }
    if (a && !cJSON_IsObject(a))
        goto out;
    *name = strdup(nm);
    if (!*name)
        goto out;
    if (a)
        tpl_json_dump(args, a);
    else
        fw_buf_puts(args, "{}");
    rc = 0;
out:
    cJSON_Delete(pa);
    cJSON_Delete(v);
    return rc;
}

static const tpl_tag_format q_format = {"<think>", "</think>", "<tool_call>", "</tool_call>",
                                        q_parse_call, 1, "qwen3"};

/* <tool_call>\n{"name": "NAME", "arguments": OBJECT}\n</tool_call>, the
 * object following the tool's parameters schema (RULE-args, ends in ws).
 * NAME is a JSON string there: JSON-escaped, then escaped for GBNF. */
static void q_call_rule(fw_buf *g, const char *rule, const char *name, const cJSON *params)
{
    char args[48];
    fw_buf js;

    snprintf(args, sizeof args, "%s-args", rule);
    fw_buf_init(&js);
    tpl_json_str(&js, name, strlen(name));
    fw_buf_printf(g, "%s ::= \"<tool_call>\\n{\\\"name\\\": ", rule);
    tpl_gbnf_escape(g, js.data ? js.data : "\"\"");
    fw_buf_printf(g, ", \\\"arguments\\\": \" ws %s \"}\\n</tool_call>\"\n", args);
    fw_buf_deinit(&js);
    tool_gbnf_args(g, args, params);
}

static fw_status q_tool_grammar(fw_template *t, const char *request_json, char **out,
                                fw_err *err)
{
    (void)t;
    return tpl_gbnf_tool_grammar(request_json, q_call_rule, "\"\\n\"", host->alloc, out, err);
}

/* The reasoning block the official template writes around reasoning_content
 * ('<think>\n' ... '\n</think>\n\n'): the model opens it with <think> at the
 * start of its turn; a budget closes it with the template's own bytes. */
static fw_status q_reasoning_tags(fw_template *t, const char **open, const char **close,
                                  fw_err *err)
{
    (void)t;
    (void)err;
    *open = "<think>";
    *close = "\n</think>\n\n";
    return FW_OK;
}

static const fw_template_vtable q_vtable = {
    sizeof(fw_template_vtable),
    q_create,
    q_destroy,
    q_render,
    tpl_tag_vt_parser_new,
    tpl_tag_parser_feed,
    tpl_tag_parser_finish,
    tpl_tag_parser_free,
    tpl_tag_vt_stop_strings,
    q_tool_grammar,
    q_reasoning_tags,
};

static const fw_plugin_desc q_desc = {sizeof(fw_plugin_desc), FW_ABI_MAJOR, FW_ABI_MINOR,
                                      FW_PLUGIN_TEMPLATE,     "qwen3",      "1.1",
                                      &q_vtable};

const fw_plugin_desc *fw_template_qwen3_desc(const fw_host_api *h)
{
    if (!h || h->abi_major != FW_ABI_MAJOR)
        return NULL;
    host = h;
    return &q_desc;
}

FW_PLUGIN_DEFINE(fw_template_qwen3_desc)
