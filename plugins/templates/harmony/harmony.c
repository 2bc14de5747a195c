/* plugins/templates/harmony/harmony.c -- gpt-oss (Harmony) chat template.
 *
 * Renders what the official gpt-oss chat_template.jinja renders (Hugging Face
 * settings: trim_blocks, lstrip_blocks), without a Jinja engine:
 *   <|start|>system<|message|>identity, cutoff, date, reasoning, channels<|end|>
 *   <|start|>developer<|message|># Instructions ... # Tools (TypeScript)<|end|>
 *   user / assistant (final, analysis kept only for pending tool calls) /
 *   tool-call (" to=functions.NAME<|channel|>commentary json") / tool result
 *   messages, then "<|start|>assistant" as the generation prompt.
 * Special tokens go to the sink as special pieces; everything else is text,
 * merged so that the tokenizer sees the same runs of text as with HF. */
#include "harmony.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "harmony_parse.h"
#include "tool_gbnf.h"
#include "tpl_json.h"
#include "tpl_msg.h"
#include "tpl_req.h"

static const fw_host_api *g_host; /* the one global: the host's services */

struct fw_template {
    char date[16]; /* "YYYY-MM-DD" pinned by config, or "" for the clock */
};

/* Output goes through tpl_out (tpl_req.h): text runs merged, specials
 * flushed between them. */

/* ---- small JSON helpers with Jinja truthiness ---- */

static int truthy(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return 0;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0];
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return v->child != NULL;
    return 1;
}

/* Python str() of a scalar, as Jinja's join and "+" print it. */
static void put_scalar(fw_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v))
        fw_buf_puts(b, v->valuestring ? v->valuestring : "");
    else if (cJSON_IsTrue(v))
        fw_buf_puts(b, "True");
    else if (cJSON_IsFalse(v))
        fw_buf_puts(b, "False");
    else if (cJSON_IsNull(v) || !v)
        fw_buf_puts(b, "None");
    else
        tpl_json_dump(b, v);
}

static int in_list(const cJSON *list, const char *name)
{
    const cJSON *c;

    if (!cJSON_IsArray(list))
        return 0;
    cJSON_ArrayForEach(c, list) if (cJSON_IsString(c) && !strcmp(c->valuestring, name)) return 1;
    return 0;
}

/* ---- JSON schema -> TypeScript type (the template's render_typescript_type) ---- */

static void ts_type(fw_buf *b, const cJSON *spec, int depth);

static void ts_nullable(fw_buf *b, const cJSON *spec)
{
    if (truthy(tpl_get(spec, "nullable")))
        fw_buf_puts(b, " | null");
}

static void ts_array(fw_buf *b, const cJSON *spec, int depth)
{
    const cJSON *items = tpl_get(spec, "items");
    const char *it;
    fw_buf inner;

    if (!items) {
        fw_buf_puts(b, "any[]");
        ts_nullable(b, spec);
        return;
    }
    it = tpl_get_str(items, "type");
    if (it && !strcmp(it, "string")) {
        fw_buf_puts(b, "string[]");
    } else if (it && (!strcmp(it, "number") || !strcmp(it, "integer"))) {
        fw_buf_puts(b, "number[]");
    } else if (it && !strcmp(it, "boolean")) {
        fw_buf_puts(b, "boolean[]");
    } else {
        fw_buf_init(&inner);
        ts_type(&inner, items, depth + 1);
        if (inner.len > 50 || (inner.data && !strcmp(inner.data, "object | object")))
            fw_buf_puts(b, "any[]");
        else {
            fw_buf_append(b, inner.data ? inner.data : "", inner.len);
            fw_buf_puts(b, "[]");
        }
        fw_buf_deinit(&inner);
    }
    ts_nullable(b, spec);
}

static void ts_type(fw_buf *b, const cJSON *spec, int depth)
{
    const cJSON *type = tpl_get(spec, "type"), *one_of = tpl_get(spec, "oneOf"), *c;
    const char *t = cJSON_IsString(type) ? type->valuestring : NULL;

    if (depth > 64) { /* hostile nesting: stop, like a recursion limit would */
        fw_buf_puts(b, "any");
        return;
    }
    if (t && !strcmp(t, "array")) {
        ts_array(b, spec, depth);
    } else if (cJSON_IsArray(type) && type->child) {
        /* ["string", "null"] -> "string | null" */
        cJSON_ArrayForEach(c, type) {
            put_scalar(b, c);
            if (c->next)
                fw_buf_puts(b, " | ");
        }
    } else if (truthy(one_of)) {
        /* The template's "has object variants" flag is set inside a loop
         * scope and never seen outside it, so every variant is printed. */
        cJSON_ArrayForEach(c, one_of) {
            ts_type(b, c, depth + 1);
            if (truthy(tpl_get(c, "description"))) {
                fw_buf_puts(b, "// ");
                put_scalar(b, tpl_get(c, "description"));
            }
            if (tpl_get(c, "default")) {
                fw_buf_puts(b, "                    // default: ");
                tpl_json_dump(b, tpl_get(c, "default"));
            }
            if (c->next)
                fw_buf_puts(b, " | \n");
        }
    } else if (t && !strcmp(t, "string")) {
        const cJSON *en = tpl_get(spec, "enum");
        if (truthy(en)) {
            fw_buf_putc(b, '"');
            cJSON_ArrayForEach(c, en) {
                put_scalar(b, c);
                if (c->next)
                    fw_buf_puts(b, "\" | \"");
            }
            fw_buf_putc(b, '"');
        } else {
            fw_buf_puts(b, "string");
            ts_nullable(b, spec);
        }
    } else if (t && (!strcmp(t, "number") || !strcmp(t, "integer"))) {
        fw_buf_puts(b, "number");
    } else if (t && !strcmp(t, "boolean")) {
        fw_buf_puts(b, "boolean");
    } else if (t && !strcmp(t, "object")) {
        const cJSON *props = tpl_get(spec, "properties"), *req = tpl_get(spec, "required");
        if (truthy(props)) {
            fw_buf_puts(b, "{\n");
            cJSON_ArrayForEach(c, props) {
                fw_buf_puts(b, c->string);
                if (!in_list(req, c->string))
                    fw_buf_putc(b, '?');
                /* "{{ render_typescript_type(...) }}" sits on its own
                 * indented line without "-": HF keeps that whitespace. */
                fw_buf_puts(b, ": \n                ");
                ts_type(b, c, depth + 1);
                if (c->next)
                    fw_buf_puts(b, ", ");
            }
            fw_buf_putc(b, '}');
        } else {
            fw_buf_puts(b, "object");
        }
    } else {
        fw_buf_puts(b, "any");
    }
}

/* The template's render_tool_namespace("functions", tools). */
static void tool_namespace(fw_buf *b, const cJSON *tools)
{
    const cJSON *tool, *p;

    fw_buf_puts(b, "## functions\n\nnamespace functions {\n\n");
    cJSON_ArrayForEach(tool, tools) {
        const cJSON *fn = tpl_get(tool, "function") ? tpl_get(tool, "function") : tool;
        const cJSON *params = tpl_get(fn, "parameters");
        const cJSON *props = tpl_get(params, "properties"), *req = tpl_get(params, "required");

        fw_buf_puts(b, "// ");
        if (tpl_get(fn, "description"))
            put_scalar(b, tpl_get(fn, "description"));
        fw_buf_puts(b, "\ntype ");
        put_scalar(b, tpl_get(fn, "name"));
        fw_buf_puts(b, " = ");
        if (!truthy(params) || !truthy(props)) {
            fw_buf_puts(b, "() => any;\n\n");
            continue;
        }
        fw_buf_puts(b, "(_: {\n");
        cJSON_ArrayForEach(p, props) {
            const cJSON *def = tpl_get(p, "default");
            if (truthy(tpl_get(p, "description"))) {
                fw_buf_puts(b, "// ");
                put_scalar(b, tpl_get(p, "description"));
                fw_buf_putc(b, '\n');
            }
            fw_buf_puts(b, p->string);
            if (!in_list(req, p->string))
                fw_buf_putc(b, '?');
            fw_buf_puts(b, ": ");
            ts_type(b, p, 0);
            if (def) {
                /* enum / oneOf defaults are concatenated as strings, others tojson'd */
                if (truthy(tpl_get(p, "enum"))) {
                    fw_buf_puts(b, ", // default: ");
                    put_scalar(b, def);
                } else if (truthy(tpl_get(p, "oneOf"))) {
                    fw_buf_puts(b, "// default: ");
                    put_scalar(b, def);
                } else {
                    fw_buf_puts(b, ", // default: ");
                    tpl_json_dump(b, def);
                }
            }
            fw_buf_puts(b, ",\n");
        }
        fw_buf_puts(b, "}) => any;\n\n");
    }
    fw_buf_puts(b, "} // namespace functions");
}

/* The template's render_builtin_tools (kwargs.builtin_tools). */
static void builtin_tools(fw_buf *b, int browser, int python)
{
    if (browser) {
        fw_buf_puts(b,
            "## browser\n\n"
            "// Tool for browsing.\n"
            "// The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
            "// Cite information from the tool using the following format:\n"
            /* U+3010 and U+3011 are the citation brackets, U+2020 the dagger */
            "// `\xe3\x80\x90{cursor}\xe2\x80\xa0L{line_start}(-L{line_end})?\xe3\x80\x91`, "
            "for example: `\xe3\x80\x90" "6\xe2\x80\xa0L9-L11\xe3\x80\x91` or "
            "`\xe3\x80\x90" "8\xe2\x80\xa0L3\xe3\x80\x91`.\n"
            "// Do not quote more than 10 words directly from the tool output.\n"
            "// sources=web (default: web)\n"
            "namespace browser {\n\n"
            "// Searches for information related to `query` and displays `topn` results.\n"
            "type search = (_: {\n"
            "query: string,\n"
            "topn?: number, // default: 10\n"
            "source?: string,\n"
            "}) => any;\n\n"
            "// Opens the link `id` from the page indicated by `cursor` starting at line number "
            "`loc`, showing `num_lines` lines.\n"
            "// Valid link ids are displayed with the formatting: "
            "`\xe3\x80\x90{id}\xe2\x80\xa0.*\xe3\x80\x91`.\n"
            "// If `cursor` is not provided, the most recent page is implied.\n"
            "// If `id` is a string, it is treated as a fully qualified URL associated with "
            "`source`.\n"
            "// If `loc` is not provided, the viewport will be positioned at the beginning of the "
            "document or centered on the most relevant passage, if available.\n"
            "// Use this function without `id` to scroll to a new location of an opened page.\n"
            "type open = (_: {\n"
            "id?: number | string, // default: -1\n"
            "cursor?: number, // default: -1\n"
            "loc?: number, // default: -1\n"
            "num_lines?: number, // default: -1\n"
            "view_source?: boolean, // default: false\n"
            "source?: string,\n"
            "}) => any;\n\n"
            "// Finds exact matches of `pattern` in the current page, or the page given by "
            "`cursor`.\n"
            "type find = (_: {\n"
            "pattern: string,\n"
            "cursor?: number, // default: -1\n"
            "}) => any;\n\n"
            "} // namespace browser\n\n");
    }
    if (python) {
        fw_buf_puts(b,
            "## python\n\n"
            "Use this tool to execute Python code in your chain of thought. The code will not be "
            "shown to the user. This tool should be used for internal reasoning, but not for code "
            "that is intended to be visible to the user (e.g. when creating plots, tables, or "
            "files).\n\n"
            "When you send a message containing Python code to python, it will be executed in a "
            "stateful Jupyter notebook environment. python will respond with the output of the "
            "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to "
            "save and persist user files. Internet access for this session is UNKNOWN. Depends on "
            "the cluster.\n\n");
    }
}

/* ---- request settings ---- */

typedef struct settings {
    const char *effort;     /* "low" | "medium" | "high" (or a kwargs string) */
    const char *identity;   /* kwargs.model_identity or NULL */
    const cJSON *builtins;  /* kwargs.builtin_tools */
    const char *history;    /* reasoning_history or NULL */
    char date[16];
} settings;

static int valid_effort(const char *s)
{
    return !strcmp(s, "low") || !strcmp(s, "medium") || !strcmp(s, "high");
}

/* API reasoning_effort / thinking -> the template's reasoning_effort.  true
 * means "medium", false means "none"; Harmony has no "none" and no budgets. */
static fw_status map_effort(const cJSON *req, settings *s, fw_err *err)
{
    const cJSON *kw = tpl_get(req, "kwargs"), *re = tpl_get(req, "reasoning_effort");
    const cJSON *th = tpl_get(req, "thinking"), *kre = tpl_get(kw, "reasoning_effort");

    s->effort = "medium";
    if (re && !cJSON_IsNull(re) && th && !cJSON_IsNull(th))
        return fw_err_set(err, FW_ERR_INVALID, "reasoning_effort and thinking cannot be given "
                          "together");
    if (re && !cJSON_IsNull(re)) {
        if (cJSON_IsTrue(re))
            s->effort = "medium";
        else if (cJSON_IsFalse(re))
            return fw_err_set(err, FW_ERR_INVALID, "Invalid reasoning effort: none");
        else if (cJSON_IsString(re) && valid_effort(re->valuestring))
            s->effort = re->valuestring;
        else if (cJSON_IsString(re))
            return fw_err_set(err, FW_ERR_INVALID, "Invalid reasoning effort: %.64s",
                              re->valuestring);
        else if (cJSON_IsNumber(re))
            return fw_err_set(err, FW_ERR_INVALID, "Invalid reasoning effort: %.0f "
                              "(harmony accepts low, medium or high)", re->valuedouble);
        else
            return fw_err_set(err, FW_ERR_INVALID, "reasoning_effort: expected a string");
    } else if (cJSON_IsObject(th)) {
        const char *type = tpl_get_str(th, "type");
        if (type && !strcmp(type, "disabled"))
            return fw_err_set(err, FW_ERR_INVALID, "Invalid reasoning effort: none");
        if (tpl_get(th, "budget_tokens") && !cJSON_IsNull(tpl_get(th, "budget_tokens")))
            return fw_err_set(err, FW_ERR_INVALID, "thinking.budget_tokens: harmony accepts "
                              "only reasoning effort low, medium or high");
    }
    if (kre && !cJSON_IsNull(kre)) {
        /* kwargs are the template variables themselves: any string renders */
        if (!cJSON_IsString(kre))
            return fw_err_set(err, FW_ERR_INVALID, "kwargs.reasoning_effort: expected a string");
        s->effort = kre->valuestring;
    }
    return FW_OK;
}

static int valid_date(const char *d)
{
    int i;

    if (strlen(d) != 10)
        return 0;
    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (d[i] != '-')
                return 0;
        } else if (d[i] < '0' || d[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static fw_status pick_date(const fw_template *t, const cJSON *req, settings *s, fw_err *err)
{
    const char *d = tpl_get_str(req, "date");

    if (d) {
        if (!valid_date(d))
            return fw_err_set(err, FW_ERR_INVALID, "date: expected YYYY-MM-DD, got \"%.32s\"", d);
        memcpy(s->date, d, 11);
    } else if (t->date[0]) {
        memcpy(s->date, t->date, sizeof s->date);
    } else {
        /* strftime_now in the HF template: the local date */
        time_t now = time(NULL);
        struct tm tm;
        if (!localtime_r(&now, &tm) || !strftime(s->date, sizeof s->date, "%Y-%m-%d", &tm))
            return fw_err_set(err, FW_ERR_INTERNAL, "cannot format the current date");
    }
    return FW_OK;
}

/* ---- render ---- */

static void system_message(tpl_out *o, const settings *s, int has_tools)
{
    const cJSON *c;
    int browser = 0, python = 0;

    tpl_out_special(o, "<|start|>");
    tpl_out_puts(o, "system");
    tpl_out_special(o, "<|message|>");
    tpl_out_puts(o, s->identity ? s->identity
                                : "You are ChatGPT, a large language model trained by OpenAI.");
    tpl_out_puts(o, "\nKnowledge cutoff: 2024-06\nCurrent date: ");
    tpl_out_puts(o, s->date);
    tpl_out_puts(o, "\n\nReasoning: ");
    tpl_out_puts(o, s->effort);
    tpl_out_puts(o, "\n\n");
    if (truthy(s->builtins)) {
        tpl_out_puts(o, "# Tools\n\n");
        cJSON_ArrayForEach(c, s->builtins) {
            if (cJSON_IsString(c) && !strcmp(c->valuestring, "browser"))
                browser = 1;
            else if (cJSON_IsString(c) && !strcmp(c->valuestring, "python"))
                python = 1;
        }
        builtin_tools(&o->text, browser, python);
    }
    tpl_out_puts(o, "# Valid channels: analysis, commentary, final. Channel must be included "
                    "for every message.");
    if (has_tools)
        tpl_out_puts(o, "\nCalls to these tools must go to the commentary channel: 'functions'.");
    tpl_out_special(o, "<|end|>");
}

/* The analysis text of an assistant message ("thinking" in the template,
 * reasoning_content in the API), or NULL. */
static const char *thinking_of(const cJSON *m)
{
    const char *s = tpl_get_str(m, "thinking");
    return s ? s : tpl_get_str(m, "reasoning_content");
}

static int has_channel_tags(const char *s)
{
    return s && (strstr(s, "<|channel|>analysis<|message|>") ||
                 strstr(s, "<|channel|>final<|message|>"));
}

/* Index of the last user message (reasoning_history "interleaved"). */
static int last_user_index(const cJSON *msgs)
{
    const cJSON *m;
    int i = 0, last = -1;

    cJSON_ArrayForEach(m, msgs) {
        if (!strcmp(tpl_msg_role(m), "user"))
            last = i;
        i++;
    }
    return last;
}

/* <|start|>assistant<|channel|>CHANNEL<|message|>TEXT END */
static void assistant_msg(tpl_out *o, const char *channel, const char *text, const char *end)
{
    tpl_out_special(o, "<|start|>");
    tpl_out_puts(o, "assistant");
    tpl_out_special(o, "<|channel|>");
    tpl_out_puts(o, channel);
    tpl_out_special(o, "<|message|>");
    tpl_out_puts(o, text);
    if (end) /* NULL: left open */
        tpl_out_special(o, end);
}

static void analysis(tpl_out *o, const char *text)
{
    assistant_msg(o, "analysis", text, "<|end|>");
}

/* Tool-call arguments: objects are tojson'd; a string (an API client's raw
 * arguments) is parsed when it is JSON, else tojson'd as a string. */
static void put_arguments(fw_buf *b, const cJSON *args)
{
    if (cJSON_IsString(args)) {
        cJSON *v = tpl_json_parse(args->valuestring, (size_t)-1);
        if (v) {
            tpl_json_dump(b, v);
            cJSON_Delete(v);
            return;
        }
    }
    tpl_json_dump(b, args);
}

static fw_status render_messages(tpl_out *o, const cJSON *req, const settings *s, fw_err *err)
{
    const cJSON *msgs = tpl_get(req, "messages"), *tools = tpl_get(req, "tools"), *m, *first;
    const cJSON *agp = tpl_get(req, "add_generation_prompt");
    int add_gen = agp ? cJSON_IsTrue(agp) : 1;
    const char *dev = "", *last_tool = NULL;
    int idx, skip_first = 0, last_user = last_user_index(msgs);
    int drop_all = s->history && !strcmp(s->history, "disabled");
    int interleaved = s->history && !strcmp(s->history, "interleaved");
    int preserved = s->history && !strcmp(s->history, "preserved");

    first = cJSON_IsArray(msgs) ? msgs->child : NULL;
    if (first && (!strcmp(tpl_msg_role(first), "developer") ||
                  !strcmp(tpl_msg_role(first), "system"))) {
        dev = tpl_msg_content(first);
        skip_first = 1;
    }
    if (dev[0] || truthy(tools)) {
        tpl_out_special(o, "<|start|>");
        tpl_out_puts(o, "developer");
        tpl_out_special(o, "<|message|>");
        if (dev[0]) {
            tpl_out_puts(o, "# Instructions\n\n");
            tpl_out_puts(o, dev);
            tpl_out_puts(o, "\n\n");
        }
        if (truthy(tools)) {
            tpl_out_puts(o, "# Tools\n\n");
            tool_namespace(&o->text, tools);
        }
        tpl_out_special(o, "<|end|>");
    }

    idx = 0;
    cJSON_ArrayForEach(m, msgs) {
        const char *role = tpl_msg_role(m);
        int i = idx++, is_last = m->next == NULL;

        if (i == 0 && skip_first)
            continue;
        if (!strcmp(role, "assistant")) {
            const char *content = tpl_msg_content(m), *think = thinking_of(m);

            if (has_channel_tags(content) || has_channel_tags(think))
                return fw_err_set(err, FW_ERR_INVALID, "messages[%d]: assistant text contains "
                                  "<|channel|> tags; pass analysis in reasoning_content and the "
                                  "final answer in content", i);
            /* reasoning_history: strip analysis as asked before rendering */
            if (drop_all || (interleaved && i <= last_user))
                think = NULL;
            if (tpl_msg_has_tool_calls(m)) {
                const cJSON *tc = tpl_get(m, "tool_calls")->child, *fn, *f;
                int future_final = 0;
                const char *name, *ctype;

                for (f = m->next; f; f = f->next)
                    if (!strcmp(tpl_msg_role(f), "assistant") && !tpl_msg_has_tool_calls(f))
                        future_final = 1;
                if (preserved)
                    future_final = 0;
                fn = tpl_get(tc, "function") ? tpl_get(tc, "function") : tc;
                name = tpl_get_str(fn, "name");
                if (!name)
                    return fw_err_set(err, FW_ERR_INVALID,
                                      "messages[%d].tool_calls[0]: function name missing", i);
                if (content[0] && think && think[0])
                    return fw_err_set(err, FW_ERR_INVALID, "messages[%d]: an assistant message "
                                      "with tool calls cannot carry both content and reasoning",
                                      i);
                if (content[0] && !future_final)
                    analysis(o, content);
                else if (think && think[0] && !future_final)
                    analysis(o, think);
                /* The template renders one call per message (the first). */
                tpl_out_special(o, "<|start|>");
                tpl_out_puts(o, "assistant to=functions.");
                tpl_out_puts(o, name);
                tpl_out_special(o, "<|channel|>");
                tpl_out_puts(o, "commentary ");
                ctype = tpl_get_str(fn, "content_type");
                tpl_out_puts(o, ctype ? ctype : "json");
                tpl_out_special(o, "<|message|>");
                put_arguments(&o->text, tpl_get(fn, "arguments"));
                tpl_out_special(o, "<|call|>");
                last_tool = name;
            } else if (is_last && !add_gen) {
                /* A prefill the model continues: the final message left
                 * open (the official template, for training data, ends it
                 * with <|return|>). */
                if (think)
                    analysis(o, think);
                assistant_msg(o, "final", content, NULL);
            } else {
                if (preserved && think && think[0])
                    analysis(o, think);
                assistant_msg(o, "final", content, "<|end|>");
                last_tool = NULL;
            }
        } else if (!strcmp(role, "tool")) {
            const char *c = tpl_msg_content(m);
            if (!last_tool)
                return fw_err_set(err, FW_ERR_INVALID, "messages[%d]: tool message without a "
                                  "previous assistant tool call", i);
            tpl_out_special(o, "<|start|>");
            tpl_out_puts(o, "functions.");
            tpl_out_puts(o, last_tool);
            tpl_out_puts(o, " to=assistant");
            tpl_out_special(o, "<|channel|>");
            tpl_out_puts(o, "commentary");
            tpl_out_special(o, "<|message|>");
            tpl_json_str(&o->text, c, strlen(c));
            tpl_out_special(o, "<|end|>");
        } else if (!strcmp(role, "user")) {
            tpl_out_special(o, "<|start|>");
            tpl_out_puts(o, "user");
            tpl_out_special(o, "<|message|>");
            tpl_out_puts(o, tpl_msg_content(m));
            tpl_out_special(o, "<|end|>");
        }
        /* later system/developer messages: the template ignores them */
    }
    if (add_gen) {
        tpl_out_special(o, "<|start|>");
        tpl_out_puts(o, "assistant");
    }
    return FW_OK;
}

static fw_status harmony_render(fw_template *t, const char *request_json,
                                const fw_prompt_sink *sink, fw_err *err)
{
    cJSON *req;
    const cJSON *kw, *msgs;
    settings s;
    tpl_out o;
    fw_status st;

    if (!t || !request_json || !sink || !sink->text || !sink->special)
        return fw_err_set(err, FW_ERR_INVALID, "harmony render: missing argument");
    req = tpl_json_parse(request_json, (size_t)-1);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return fw_err_set(err, FW_ERR_INVALID, "harmony render: request is not a JSON object");
    }
    tpl_normalize(req);
    msgs = tpl_get(req, "messages");
    if (!cJSON_IsArray(msgs)) {
        cJSON_Delete(req);
        return fw_err_set(err, FW_ERR_INVALID, "messages: expected an array");
    }
    memset(&s, 0, sizeof s);
    kw = tpl_get(req, "kwargs");
    s.identity = tpl_get_str(kw, "model_identity");
    s.builtins = tpl_get(kw, "builtin_tools");
    st = tpl_req_history(req, &s.history, err);
    if (st == FW_OK)
        st = map_effort(req, &s, err);
    if (st == FW_OK)
        st = pick_date(t, req, &s, err);
    if (st != FW_OK) {
        cJSON_Delete(req);
        return st;
    }
    tpl_out_init(&o, sink);
    system_message(&o, &s, truthy(tpl_get(req, "tools")));
    st = render_messages(&o, req, &s, err);
    if (st == FW_OK && tpl_out_finish(&o, NULL) != FW_OK)
        st = fw_err_set(err, o.st, "harmony render: the prompt sink failed");
    fw_buf_deinit(&o.text);
    cJSON_Delete(req);
    return st;
}

/* ---- instance ---- */

static fw_status harmony_create(const char *variant, const fw_config_node *cfg, fw_template **out_t,
                                fw_err *err)
{
    fw_template *t;
    const char *date = NULL;

    if (!out_t)
        return fw_err_set(err, FW_ERR_INVALID, "harmony: missing output pointer");
    if (variant && strcmp(variant, "harmony") && strncmp(variant, "gpt-oss", 7))
        return fw_err_set(err, FW_ERR_INVALID, "harmony: unknown variant \"%.64s\"", variant);
    if (cfg && g_host && g_host->cfg_str) {
        int rc = g_host->cfg_str(cfg, "date", &date);
        if (rc < 0)
            return fw_err_set(err, FW_ERR_INVALID, "harmony: config date: expected a string");
        if (rc != 0)
            date = NULL;
    }
    if (date && !valid_date(date))
        return fw_err_set(err, FW_ERR_INVALID, "harmony: config date: expected YYYY-MM-DD, got "
                          "\"%.32s\"", date);
    t = calloc(1, sizeof *t);
    if (!t)
        return fw_err_set(err, FW_ERR_NOMEM, "harmony: out of memory");
    if (date)
        memcpy(t->date, date, 11);
    *out_t = t;
    return FW_OK;
}

static void harmony_destroy(fw_template *t) { free(t); }

static const char *const harmony_stops[] = {"<|return|>", "<|call|>", "<|endoftext|>", NULL};

static const char *const *harmony_stop_strings(fw_template *t)
{
    (void)t;
    return harmony_stops;
}

/* ---- tool grammar (GBNF, llama.cpp dialect) ---- */

/* An optional analysis message first (the model reasons before calling),
 * then the call header, then arguments that match the tool's parameters. */
static const char harmony_gbnf_head[] =
    "root ::= analysis? \" to=functions.\" call\n"
    "analysis ::= \"<|channel|>analysis<|message|>\" ( [^<] | \"<\" [^|] )* "
    "\"<|end|><|start|>assistant\"\n"
    "head ::= \"<|channel|>commentary <|constrain|>json<|message|>\" ws\n"
    "call ::= ";

static fw_status harmony_tool_grammar(fw_template *t, const char *request_json, char **out_g,
                                      fw_err *err)
{
    (void)t;
    if (!out_g)
        return fw_err_set(err, FW_ERR_INVALID, "harmony tool_grammar: missing output pointer");
    return tool_gbnf_grammar(request_json, "harmony", harmony_gbnf_head, harmony_gbnf_head,
                             " head", "\n", g_host ? g_host->alloc : NULL, out_g, err);
}

static const fw_template_vtable harmony_vtable = {
    sizeof(fw_template_vtable),
    harmony_create,
    harmony_destroy,
    harmony_render,
    harmony_parser_new,
    harmony_parser_feed,
    harmony_parser_finish,
    harmony_parser_free,
    harmony_stop_strings,
    harmony_tool_grammar,
    NULL, /* reasoning_tags: no budgets; integer efforts are refused at render */
};

static const fw_plugin_desc harmony_desc = {
    sizeof(fw_plugin_desc), FW_ABI_MAJOR, FW_ABI_MINOR, FW_PLUGIN_TEMPLATE, "harmony", "1.0.0",
    &harmony_vtable,
};

const fw_plugin_desc *fw_template_harmony_desc(const fw_host_api *host)
{
    if (!host || host->abi_major != FW_ABI_MAJOR)
        return NULL;
    g_host = host;
    return &harmony_desc;
}

FW_PLUGIN_DEFINE(fw_template_harmony_desc)
