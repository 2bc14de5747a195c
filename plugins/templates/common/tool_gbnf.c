/* plugins/templates/common/tool_gbnf.c -- JSON schema -> GBNF for tool arguments. */
#include "tool_gbnf.h"

#include <stdio.h>
#include <string.h>

#include "tpl_json.h"
#include "tpl_req.h"

#define MAX_DEPTH 8

void tool_gbnf_lit(fw_buf *g, const char *s)
{
    fw_buf_putc(g, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fw_buf_putc(g, '\\');
        if (*s == '\n')
            fw_buf_puts(g, "\\n");
        else if (*s == '\r')
            fw_buf_puts(g, "\\r");
        else if (*s == '\t')
            fw_buf_puts(g, "\\t");
        else
            fw_buf_putc(g, *s);
    }
    fw_buf_putc(g, '"');
}

/* A JSON value printed compactly, as a GBNF literal followed by ws. */
static void json_lit(fw_buf *g, const cJSON *v)
{
    fw_buf t;

    fw_buf_init(&t);
    tpl_json_dump(&t, v);
    tool_gbnf_lit(g, t.data ? t.data : "null");
    fw_buf_puts(g, " ws");
    fw_buf_deinit(&t);
}

static void value_rule(fw_buf *g, const char *rule, const cJSON *s, int depth);

static const char *type_expr(const char *t)
{
    if (!strcmp(t, "string"))
        return "str";
    if (!strcmp(t, "integer"))
        return "int";
    if (!strcmp(t, "number"))
        return "num";
    if (!strcmp(t, "boolean"))
        return "( \"true\" | \"false\" ) ws";
    if (!strcmp(t, "null"))
        return "\"null\" ws";
    return NULL;
}

/* An object with properties: declared order, optional ones skippable.
 * S_i: nothing written yet, continue at property i; T_i: something written. */
static void object_rule(fw_buf *g, const char *rule, const cJSON *s, int depth)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required"), *p, *r;
    int k = cJSON_GetArraySize(props), i;

    fw_buf_printf(g, "%s ::= \"{\" ws %s-s0 \"}\" ws\n", rule, rule);
    for (i = 0, p = props->child; p; p = p->next, i++) {
        int required = 0;
        fw_buf key;

        cJSON_ArrayForEach(r, req) required |= cJSON_IsString(r) && !strcmp(r->valuestring,
                                                                              p->string);
        /* P_i: "key" : value (the value's rules first) */
        {
            char sub[160];
            snprintf(sub, sizeof sub, "%s-v%d", rule, i);
            value_rule(g, sub, p, depth + 1);
            fw_buf_init(&key);
            tpl_json_str(&key, p->string, strlen(p->string));
            fw_buf_printf(g, "%s-p%d ::= ", rule, i);
            tool_gbnf_lit(g, key.data ? key.data : "\"\"");
            fw_buf_printf(g, " ws \":\" ws %s\n", sub);
            fw_buf_deinit(&key);
        }
        /* S_i and T_i */
        if (i + 1 < k) {
            if (required) {
                fw_buf_printf(g, "%s-s%d ::= %s-p%d %s-t%d\n", rule, i, rule, i, rule, i + 1);
                fw_buf_printf(g, "%s-t%d ::= \",\" ws %s-p%d %s-t%d\n", rule, i, rule, i, rule,
                              i + 1);
            } else {
                fw_buf_printf(g, "%s-s%d ::= %s-p%d %s-t%d | %s-s%d\n", rule, i, rule, i, rule,
                              i + 1, rule, i + 1);
                fw_buf_printf(g, "%s-t%d ::= ( \",\" ws %s-p%d )? %s-t%d\n", rule, i, rule, i,
                              rule, i + 1);
            }
        } else if (required) {
            fw_buf_printf(g, "%s-s%d ::= %s-p%d\n", rule, i, rule, i);
            fw_buf_printf(g, "%s-t%d ::= \",\" ws %s-p%d\n", rule, i, rule, i);
        } else {
            fw_buf_printf(g, "%s-s%d ::= ( %s-p%d )?\n", rule, i, rule, i);
            fw_buf_printf(g, "%s-t%d ::= ( \",\" ws %s-p%d )?\n", rule, i, rule, i);
        }
    }
}

static void value_rule(fw_buf *g, const char *rule, const cJSON *s, int depth)
{
    const cJSON *type, *en, *c, *alts;
    const char *t, *e;
    int n = 0;

    if (!cJSON_IsObject(s) || depth > MAX_DEPTH) {
        fw_buf_printf(g, "%s ::= value\n", rule);
        return;
    }
    type = cJSON_GetObjectItemCaseSensitive(s, "type");
    en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    alts = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    if (!cJSON_IsArray(alts))
        alts = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    t = cJSON_IsString(type) ? type->valuestring : NULL;

    if (cJSON_GetObjectItemCaseSensitive(s, "const")) {
        fw_buf_printf(g, "%s ::= ", rule);
        json_lit(g, cJSON_GetObjectItemCaseSensitive(s, "const"));
        fw_buf_putc(g, '\n');
    } else if (cJSON_IsArray(en) && en->child) {
        fw_buf_printf(g, "%s ::= ", rule);
        cJSON_ArrayForEach(c, en) {
            json_lit(g, c);
            if (c->next)
                fw_buf_puts(g, " | ");
        }
        fw_buf_putc(g, '\n');
    } else if (cJSON_IsArray(alts) && alts->child) {
        fw_buf rest;
        fw_buf_init(&rest);
        fw_buf_printf(g, "%s ::= ", rule);
        cJSON_ArrayForEach(c, alts) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s-%d", rule, n++);
            value_rule(&rest, sub, c, depth + 1);
            fw_buf_puts(g, sub);
            if (c->next)
                fw_buf_puts(g, " | ");
        }
        fw_buf_putc(g, '\n');
        fw_buf_append(g, rest.data ? rest.data : "", rest.len);
        fw_buf_deinit(&rest);
    } else if (cJSON_IsArray(type) && type->child) {
        fw_buf_printf(g, "%s ::= ", rule);
        cJSON_ArrayForEach(c, type) {
            e = cJSON_IsString(c) ? type_expr(c->valuestring) : NULL;
            if (!e && cJSON_IsString(c) && !strcmp(c->valuestring, "array"))
                e = "arr";
            if (!e && cJSON_IsString(c) && !strcmp(c->valuestring, "object"))
                e = "obj";
            fw_buf_printf(g, "( %s )", e ? e : "value");
            if (c->next)
                fw_buf_puts(g, " | ");
        }
        fw_buf_putc(g, '\n');
    } else if (t && (e = type_expr(t)) != NULL) {
        fw_buf_printf(g, "%s ::= %s\n", rule, e);
    } else if (t && !strcmp(t, "array")) {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
        if (cJSON_IsObject(items)) {
            fw_buf_printf(g, "%s ::= \"[\" ws ( %s-i ( \",\" ws %s-i )* )? \"]\" ws\n", rule, rule,
                          rule);
            {
                char sub[160];
                snprintf(sub, sizeof sub, "%s-i", rule);
                value_rule(g, sub, items, depth + 1);
            }
        } else {
            fw_buf_printf(g, "%s ::= arr\n", rule);
        }
    } else if ((t && !strcmp(t, "object")) || (!t && cJSON_GetObjectItemCaseSensitive(s,
                                                                                   "properties"))) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        if (cJSON_IsObject(props) && props->child)
            object_rule(g, rule, s, depth);
        else
            fw_buf_printf(g, "%s ::= obj\n", rule);
    } else {
        fw_buf_printf(g, "%s ::= value\n", rule);
    }
}

void tool_gbnf_args(fw_buf *g, const char *rule, const cJSON *schema)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");

    /* The arguments are always an object, whatever else the schema says. */
    if (cJSON_IsObject(schema) && cJSON_IsObject(props) && props->child)
        object_rule(g, rule, schema, 0);
    else
        fw_buf_printf(g, "%s ::= obj\n", rule);
}

static const cJSON *tool_fn(const cJSON *tool)
{
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
    return fn ? fn : tool;
}

fw_status tool_gbnf_grammar(const char *request_json, const char *who, const char *head,
                            const char *head_one, const char *mid, const char *tail,
                            void *(*alloc)(size_t), char **out, fw_err *err)
{
    cJSON *req;
    const cJSON *tools, *choice, *tool;
    const char *forced = NULL;
    fw_buf b, calls, rules;
    int n = 0;
    char *g, rule[32];

    *out = NULL;
    req = tpl_json_parse(request_json ? request_json : "", (size_t)-1);
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return tpl_err(err, FW_ERR_INVALID, "%s tool_grammar: request is not a JSON object", who);
    }
    tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
    choice = cJSON_GetObjectItemCaseSensitive(req, "tool_choice");
    if (cJSON_IsObject(choice)) {
        forced = tpl_get_str(cJSON_GetObjectItemCaseSensitive(choice, "function"), "name");
        if (!forced)
            forced = tpl_get_str(choice, "name");
    } else if (!cJSON_IsString(choice) || strcmp(choice->valuestring, "required")) {
        cJSON_Delete(req); /* auto / none / absent: nothing to force */
        return FW_OK;
    }
    fw_buf_init(&b);
    fw_buf_init(&calls);
    fw_buf_init(&rules);
    /* one call: a named function, or parallel_tool_calls false */
    fw_buf_puts(&b, forced || cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(req, "parallel_tool_calls"))
                        ? head_one : head);
    cJSON_ArrayForEach(tool, tools) {
        const char *name = tpl_get_str(tool_fn(tool), "name");
        if (!name || (forced && strcmp(name, forced)))
            continue;
        if (n)
            fw_buf_puts(&calls, " | ");
        fw_buf_printf(&calls, "call%d", n);
        fw_buf_printf(&rules, "call%d ::= ", n);
        tool_gbnf_lit(&rules, name);
        fw_buf_puts(&rules, mid);
        fw_buf_printf(&rules, " args%d\n", n);
        snprintf(rule, sizeof rule, "args%d", n);
        tool_gbnf_args(&rules, rule,
                       cJSON_GetObjectItemCaseSensitive(tool_fn(tool), "parameters"));
        n++;
    }
    fw_buf_append(&b, calls.data ? calls.data : "", calls.len);
    fw_buf_puts(&b, tail);
    fw_buf_append(&b, rules.data ? rules.data : "", rules.len);
    fw_buf_puts(&b, TOOL_GBNF_JSON_RULES);
    if (calls.oom || rules.oom)
        b.oom = 1;
    fw_buf_deinit(&calls);
    fw_buf_deinit(&rules);
    if (n == 0) {
        fw_status st = forced ? tpl_err(err, FW_ERR_INVALID, "tool_choice: no tool named "
                                        "\"%.64s\"", forced)
                              : tpl_err(err, FW_ERR_INVALID, "tool_choice is \"required\" "
                                        "but no tools were given");
        fw_buf_deinit(&b);
        cJSON_Delete(req); /* forced points into it */
        return st;
    }
    cJSON_Delete(req);
    g = b.oom || !alloc ? NULL : alloc(b.len + 1);
    if (!g) {
        fw_buf_deinit(&b);
        return tpl_err(err, FW_ERR_NOMEM, "%s tool_grammar: out of memory", who);
    }
    memcpy(g, b.data, b.len + 1);
    fw_buf_deinit(&b);
    *out = g;
    return FW_OK;
}
