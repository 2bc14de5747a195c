/* plugins/templates/kimi/kimi.c -- Kimi K2 chat templates.
 *
 * One plugin, three variants of Moonshot's template (Hugging Face settings):
 *   kimi-k2                original K2 Instruct: default system "You are a
 *                          helpful assistant", tool results "## Return of ID\n"
 *                          with a literal backslash-n (the template wrote it
 *                          outside a string literal);
 *   kimi-k2-instruct-0905  "You are Kimi, ..." default system followed by a
 *                          newline, role names from message.name;
 *   kimi-k2-thinking       0905 plus <think>: empty for history turns, the
 *                          reasoning_content of turns after the last plain
 *                          assistant reply.
 * Tool calls are rendered as
 *   <|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:IDX
 *   <|tool_call_argument_begin|>{json}<|tool_call_end|>...<|tool_calls_section_end|>
 * with IDX counting calls over the conversation; tool results take those ids
 * in order. */
#include "kimi.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "kimi_parse.h"
#include "tool_gbnf.h"
#include "tpl_json.h"
#include "tpl_msg.h"
#include "tpl_req.h"

static const fw_host_api *g_host; /* the one global: the host's services */

enum { KIMI_K2 = 0, KIMI_K2_0905 = 1, KIMI_K2_THINKING = 2 };

struct fw_template {
    int variant; /* KIMI_* */
};

static const struct {
    const char *name;
    int variant;
} variants[] = {
    {"kimi-k2", KIMI_K2},
    {"kimi-k2-instruct", KIMI_K2},
    {"kimi-k2-instruct-0905", KIMI_K2_0905},
    {"kimi-k2-0905", KIMI_K2_0905},
    {"kimi-k2-thinking", KIMI_K2_THINKING},
};

/* Output goes through tpl_out (tpl_req.h): text runs merged, specials
 * flushed between them. */

static int truthy_list(const cJSON *v)
{
    return (cJSON_IsArray(v) || cJSON_IsObject(v)) && v->child;
}

/* Tool-call arguments: a string is written as is (the template's
 * "is string" branch), anything else tojson'd. */
static void put_arguments(fw_buf *b, const cJSON *args)
{
    if (cJSON_IsString(args))
        fw_buf_puts(b, args->valuestring);
    else
        tpl_json_dump(b, args);
}

/* ---- render ---- */

typedef struct ids {
    char **q;        /* ids of calls not yet answered, FIFO */
    size_t head, n, cap;
    int counter;     /* calls so far in the conversation */
} ids;

static int ids_push(ids *d, const char *s)
{
    char *c;

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **q = realloc(d->q, cap * sizeof *q);
        if (!q)
            return -1;
        d->q = q;
        d->cap = cap;
    }
    c = strdup(s);
    if (!c)
        return -1;
    d->q[d->n++] = c;
    return 0;
}

static void ids_free(ids *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        free(d->q[i]);
    free(d->q);
}

static fw_status render_calls(tpl_out *o, const cJSON *m, ids *d, int idx, fw_err *err)
{
    const cJSON *tc;
    fw_buf id;

    fw_buf_init(&id);
    tpl_out_special(o, "<|tool_calls_section_begin|>");
    cJSON_ArrayForEach(tc, tpl_get(m, "tool_calls")) {
        const cJSON *fn = tpl_get(tc, "function") ? tpl_get(tc, "function") : tc;
        const char *name = tpl_get_str(fn, "name");

        if (!name) {
            fw_buf_deinit(&id);
            return fw_err_set(err, FW_ERR_INVALID, "messages[%d].tool_calls: function name "
                              "missing", idx);
        }
        fw_buf_reset(&id);
        fw_buf_printf(&id, "functions.%s:%d", name, d->counter++);
        if (id.oom || ids_push(d, id.data) != 0) {
            fw_buf_deinit(&id);
            return fw_err_set(err, FW_ERR_NOMEM, "kimi render: out of memory");
        }
        tpl_out_special(o, "<|tool_call_begin|>");
        tpl_out_puts(o, id.data);
        tpl_out_special(o, "<|tool_call_argument_begin|>");
        put_arguments(&o->text, tpl_get(fn, "arguments"));
        tpl_out_special(o, "<|tool_call_end|>");
    }
    tpl_out_special(o, "<|tool_calls_section_end|>");
    fw_buf_deinit(&id);
    return FW_OK;
}

/* Which assistant turns keep their reasoning (kimi-k2-thinking). */
typedef struct think_rule {
    int first_kept;  /* messages at or after this index keep reasoning */
    int none;        /* reasoning_history "disabled" */
} think_rule;

static fw_status think_rule_of(const cJSON *req, const cJSON *msgs, think_rule *r, fw_err *err)
{
    const cJSON *m;
    const char *h;
    int i = 0, last_plain = -1, last_user = -1;
    fw_status st = tpl_req_history(req, &h, err);

    if (st != FW_OK)
        return st;
    cJSON_ArrayForEach(m, msgs) {
        if (!strcmp(tpl_msg_role(m), "assistant") && !tpl_msg_has_tool_calls(m))
            last_plain = i;
        if (!strcmp(tpl_msg_role(m), "user"))
            last_user = i;
        i++;
    }
    r->none = h && !strcmp(h, "disabled");
    if (h && !strcmp(h, "preserved"))
        r->first_kept = 0;
    else if (h && !strcmp(h, "interleaved"))
        r->first_kept = last_user + 1;
    else
        r->first_kept = last_plain + 1; /* the template: history vs. suffix */
    return FW_OK;
}

static const char *reasoning_of(const cJSON *m)
{
    const char *s = tpl_get_str(m, "reasoning_content");
    return s ? s : tpl_get_str(m, "thinking");
}

static void role_header(tpl_out *o, const fw_template *t, const cJSON *m)
{
    const char *role = tpl_msg_role(m), *name = tpl_get_str(m, "name");
    const char *shown = (t->variant != KIMI_K2 && name && name[0]) ? name : role;

    if (!strcmp(role, "user"))
        tpl_out_special(o, "<|im_user|>");
    else if (!strcmp(role, "assistant"))
        tpl_out_special(o, "<|im_assistant|>");
    else if (t->variant != KIMI_K2 || !strcmp(role, "system") || !strcmp(role, "tool"))
        tpl_out_special(o, "<|im_system|>");
    else
        return; /* the original template has no header for other roles */
    tpl_out_puts(o, shown);
    tpl_out_special(o, "<|im_middle|>");
}

static fw_status render(tpl_out *o, const fw_template *t, const cJSON *req, fw_err *err)
{
    const cJSON *msgs = tpl_get(req, "messages"), *tools = tpl_get(req, "tools"), *m;
    const cJSON *agp = tpl_get(req, "add_generation_prompt");
    int add_gen = agp ? cJSON_IsTrue(agp) : 1, i = 0;
    think_rule rule = {0, 0};
    ids d;
    fw_status st = FW_OK;

    if (tpl_get(req, "reasoning_effort") && !cJSON_IsNull(tpl_get(req, "reasoning_effort")) &&
        tpl_get(req, "thinking") && !cJSON_IsNull(tpl_get(req, "thinking")))
        return fw_err_set(err, FW_ERR_INVALID, "reasoning_effort and thinking cannot be given "
                          "together");
    if (t->variant == KIMI_K2_THINKING) {
        st = think_rule_of(req, msgs, &rule, err);
        if (st != FW_OK)
            return st;
    }
    if (truthy_list(tools)) {
        tpl_out_special(o, "<|im_system|>");
        tpl_out_puts(o, "tool_declare");
        tpl_out_special(o, "<|im_middle|>");
        tpl_json_dump(&o->text, tools);
        tpl_out_special(o, "<|im_end|>");
    }
    if (!msgs->child || strcmp(tpl_msg_role(msgs->child), "system")) {
        tpl_out_special(o, "<|im_system|>");
        tpl_out_puts(o, "system");
        tpl_out_special(o, "<|im_middle|>");
        tpl_out_puts(o, t->variant == KIMI_K2 ? "You are a helpful assistant"
                                    : "You are Kimi, an AI assistant created by Moonshot AI.");
        tpl_out_special(o, "<|im_end|>");
        if (t->variant == KIMI_K2_0905)
            tpl_out_puts(o, "\n");
    }
    memset(&d, 0, sizeof d);
    cJSON_ArrayForEach(m, msgs) {
        const char *role = tpl_msg_role(m);
        int idx = i++;

        role_header(o, t, m);
        if (!strcmp(role, "assistant")) {
            if (t->variant == KIMI_K2_THINKING) {
                const char *rc = reasoning_of(m);
                tpl_out_special(o, "<think>");
                if (!rule.none && idx >= rule.first_kept && rc)
                    tpl_out_puts(o, rc);
                tpl_out_special(o, "</think>");
            }
            tpl_out_puts(o, tpl_msg_content(m));
            if (tpl_msg_has_tool_calls(m)) {
                st = render_calls(o, m, &d, idx, err);
                if (st != FW_OK)
                    break;
            }
        } else if (!strcmp(role, "tool")) {
            tpl_out_puts(o, "## Return of ");
            if (t->variant == KIMI_K2) {
                const char *id = tpl_get_str(m, "tool_call_id");
                tpl_out_puts(o, id ? id : "");
                tpl_out_puts(o, "\\n"); /* literally backslash-n in the original template */
            } else {
                if (d.head < d.n) {
                    tpl_out_puts(o, d.q[d.head++]);
                } else {
                    const char *name = tpl_get_str(m, "name");
                    fw_buf_printf(&o->text, "functions.%s:%d", name ? name : "unknown",
                                  d.counter);
                }
                tpl_out_puts(o, "\n");
            }
            tpl_out_puts(o, tpl_msg_content(m));
        } else {
            tpl_out_puts(o, tpl_msg_content(m));
        }
        /* a final assistant turn without generation prompt is a prefill the
         * model continues: left open */
        if (add_gen || m->next || strcmp(role, "assistant"))
            tpl_out_special(o, "<|im_end|>");
    }
    ids_free(&d);
    if (st != FW_OK)
        return st;
    if (add_gen) {
        tpl_out_special(o, "<|im_assistant|>");
        tpl_out_puts(o, "assistant");
        tpl_out_special(o, "<|im_middle|>");
    }
    return FW_OK;
}

static fw_status kimi_render(fw_template *t, const char *request_json, const fw_prompt_sink *sink,
                             fw_err *err)
{
    cJSON *req, *m;
    tpl_out o;
    fw_status st;

    if (!t || !request_json || !sink || !sink->text || !sink->special)
        return fw_err_set(err, FW_ERR_INVALID, "kimi render: missing argument");
    req = tpl_json_parse(request_json, (size_t)-1);
    if (!cJSON_IsObject(req) || !cJSON_IsArray(tpl_get(req, "messages"))) {
        cJSON_Delete(req);
        return fw_err_set(err, FW_ERR_INVALID, "kimi render: expected an object with a "
                          "messages array");
    }
    tpl_normalize(req);
    cJSON_ArrayForEach(m, tpl_get(req, "messages"))
        tpl_msg_developer_as_system(m); /* no developer role in Kimi's format */
    tpl_out_init(&o, sink);
    st = render(&o, t, req, err);
    if (st == FW_OK && tpl_out_finish(&o, NULL) != FW_OK)
        st = fw_err_set(err, o.st, "kimi render: the prompt sink failed");
    fw_buf_deinit(&o.text);
    cJSON_Delete(req);
    return st;
}

/* ---- instance ---- */

static fw_status kimi_create(const char *variant, const fw_config_node *cfg, fw_template **out_t,
                             fw_err *err)
{
    fw_template *t;
    size_t i;
    int v = -1;

    (void)cfg;
    if (!out_t)
        return fw_err_set(err, FW_ERR_INVALID, "kimi: missing output pointer");
    if (!variant || !variant[0] || !strcmp(variant, "kimi"))
        v = KIMI_K2;
    for (i = 0; v < 0 && i < sizeof variants / sizeof variants[0]; i++)
        if (!strcmp(variant, variants[i].name))
            v = variants[i].variant;
    if (v < 0)
        return fw_err_set(err, FW_ERR_INVALID, "kimi: unknown variant \"%.64s\" (expected "
                          "kimi-k2, kimi-k2-instruct-0905 or kimi-k2-thinking)", variant);
    t = calloc(1, sizeof *t);
    if (!t)
        return fw_err_set(err, FW_ERR_NOMEM, "kimi: out of memory");
    t->variant = v;
    *out_t = t;
    return FW_OK;
}

static void kimi_destroy(fw_template *t) { free(t); }

static const char *const kimi_stops[] = {"<|im_end|>", NULL};

static const char *const *kimi_stop_strings(fw_template *t)
{
    (void)t;
    return kimi_stops;
}

/* ---- tool grammar (GBNF, llama.cpp dialect) ---- */

/* thinking variant: the reasoning comes first; a named tool gets one call */
#define KIMI_GBNF_THINK                                                                        \
    "root ::= think section\n"                                                                \
    "think ::= \"<think>\" ( [^<] | \"<\" [^/] )* \"</think>\"\n"
#define KIMI_GBNF_SECTION(rep)                                                                 \
    "section ::= \"<|tool_calls_section_begin|>\" call" rep                                \
    " \"<|tool_calls_section_end|>\"\n"                                                       \
    "call ::= \"<|tool_call_begin|>functions.\" ( "

static fw_status kimi_tool_grammar(fw_template *t, const char *request_json, char **out_g,
                                   fw_err *err)
{
    int think;

    if (!t || !out_g)
        return fw_err_set(err, FW_ERR_INVALID, "kimi tool_grammar: missing argument");
    think = t->variant == KIMI_K2_THINKING;
    return tool_gbnf_grammar(
        request_json, "kimi",
        think ? KIMI_GBNF_THINK KIMI_GBNF_SECTION("+") : "root ::= section\n" KIMI_GBNF_SECTION("+"),
        think ? KIMI_GBNF_THINK KIMI_GBNF_SECTION("") : "root ::= section\n" KIMI_GBNF_SECTION(""),
        " \":\" [0-9]+ \"<|tool_call_argument_begin|>\" ws", " ) \"<|tool_call_end|>\"\n",
        g_host ? g_host->alloc : NULL, out_g, err);
}

static const fw_template_vtable kimi_vtable = {
    sizeof(fw_template_vtable),
    kimi_create,
    kimi_destroy,
    kimi_render,
    kimi_parser_new,
    kimi_parser_feed,
    kimi_parser_finish,
    kimi_parser_free,
    kimi_stop_strings,
    kimi_tool_grammar,
    NULL, /* reasoning_tags: no budgets; the templates have no reasoning switch */
};

static const fw_plugin_desc kimi_desc = {
    sizeof(fw_plugin_desc), FW_ABI_MAJOR, FW_ABI_MINOR, FW_PLUGIN_TEMPLATE, "kimi", "1.0.0",
    &kimi_vtable,
};

const fw_plugin_desc *fw_template_kimi_desc(const fw_host_api *host)
{
    if (!host || host->abi_major != FW_ABI_MAJOR)
        return NULL;
    g_host = host;
    return &kimi_desc;
}

FW_PLUGIN_DEFINE(fw_template_kimi_desc)
