/* tests/tpl_testutil.c -- the shared driver of the template plugin suites. */
#include "tpl_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_api.h"
#include "testutil.h"

const fw_template_vtable *tpl_test_vt(const tpl_test_plugin *pl)
{
    const fw_plugin_desc *d = pl->desc(fw_host_api_get());
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->kind, FW_PLUGIN_TEMPLATE);
    ck_assert_str_eq(d->name, pl->name);
    return d->vtable;
}

fw_template *tpl_test_make(const tpl_test_plugin *pl, const char *variant)
{
    fw_template *t = NULL;
    fw_err err = {0, ""};
    ck_assert_msg(tpl_test_vt(pl)->create(variant, NULL, &t, &err) == FW_OK, "%s", err.msg);
    return t;
}

/* ---- render ---- */

static fw_status on_text(void *ctx, const char *s, size_t n)
{
    tpl_sink_out *o = ctx;
    fw_buf_append(&o->all, s, n);
    o->n_text++;
    return FW_OK;
}

static fw_status on_special(void *ctx, const char *tok)
{
    tpl_sink_out *o = ctx;
    int i, ok = 0;
    for (i = 0; o->specials[i]; i++)
        ok |= !strcmp(o->specials[i], tok);
    o->bad_special += !ok;
    o->n_special++;
    fw_buf_puts(&o->all, tok);
    return FW_OK;
}

fw_status tpl_test_render(const tpl_test_plugin *pl, fw_template *t, const char *req,
                          tpl_sink_out *o, fw_err *err)
{
    fw_prompt_sink sink = {sizeof sink, o, on_text, on_special};
    memset(o, 0, sizeof *o);
    fw_buf_init(&o->all);
    o->specials = pl->specials;
    return tpl_test_vt(pl)->render(t, req, &sink, err);
}

char *tpl_test_render_str(const tpl_test_plugin *pl, const char *variant, const char *req,
                          fw_err *err)
{
    static char out[16384];
    fw_template *t = tpl_test_make(pl, variant);
    tpl_sink_out o;
    fw_status st = tpl_test_render(pl, t, req, &o, err);
    tpl_test_vt(pl)->destroy(t);
    if (st != FW_OK) {
        fw_buf_deinit(&o.all);
        return NULL;
    }
    snprintf(out, sizeof out, "%s", o.all.data ? o.all.data : "");
    fw_buf_deinit(&o.all);
    return out;
}

void tpl_test_render_fixtures(const tpl_test_plugin *pl, const char *variant, const char *file,
                              const char *date)
{
    char rel[128], why[160];
    const char *path;
    char *data, *line, *save = NULL;
    fw_template *t;
    int n = 0;

    snprintf(rel, sizeof rel, "templates/%s.jsonl", file);
    path = fw_test_fixture_path(rel);
    if (!path || !(data = fw_test_read_file(path, NULL))) {
        snprintf(why, sizeof why, "no %s fixture", rel);
        fw_test_skip(why);
        return;
    }
    t = tpl_test_make(pl, variant);
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *c = cJSON_Parse(line), *want;
        char *req, *kw;
        tpl_sink_out o;
        fw_err err = {0, ""};

        ck_assert_ptr_nonnull(c);
        want = cJSON_DetachItemFromObject(c, "prompt");
        if (date)
            cJSON_AddStringToObject(c, "date", date);
        req = cJSON_PrintUnformatted(c);
        kw = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "kwargs"));
        ck_assert_msg(tpl_test_render(pl, t, req, &o, &err) == FW_OK, "%s case %s: %s", file,
                      cJSON_GetObjectItem(c, "case")->valuestring, err.msg);
        ck_assert_msg(!strcmp(o.all.data, want->valuestring),
                      "%s case %s kwargs %s:\n got: %s\nwant: %s", file,
                      cJSON_GetObjectItem(c, "case")->valuestring, kw ? kw : "", o.all.data,
                      want->valuestring);
        ck_assert_int_eq(o.bad_special, 0);
        fw_buf_deinit(&o.all);
        free(kw);
        free(req);
        cJSON_Delete(want);
        cJSON_Delete(c);
        n++;
    }
    ck_assert_int_gt(n, 0);
    tpl_test_vt(pl)->destroy(t);
    free(data);
}

/* ---- parse ---- */

static fw_status on_event(void *ctx, const fw_parse_event *ev)
{
    tpl_result *r = ctx;

    switch (ev->kind) {
    case FW_PARSE_CONTENT:
        fw_buf_append(&r->content, ev->text, ev->text_len);
        break;
    case FW_PARSE_REASONING:
        r->has_reasoning = 1;
        fw_buf_append(&r->reasoning, ev->text, ev->text_len);
        break;
    case FW_PARSE_TOOL_BEGIN:
        if (ev->tool_index != r->n_calls || r->n_calls >= 16) {
            r->bad_order++;
            break;
        }
        r->calls[r->n_calls].id = ev->id ? strdup(ev->id) : NULL;
        r->calls[r->n_calls].name = strdup(ev->name ? ev->name : "");
        fw_buf_init(&r->calls[r->n_calls].args);
        r->n_calls++;
        break;
    case FW_PARSE_TOOL_ARGS:
        if (ev->tool_index != r->n_calls - 1 || r->n_calls == 0) {
            r->bad_order++;
            break;
        }
        fw_buf_append(&r->calls[ev->tool_index].args, ev->text, ev->text_len);
        break;
    default:
        r->bad_order++;
    }
    return FW_OK;
}

void tpl_result_free(tpl_result *r)
{
    int i;
    fw_buf_deinit(&r->content);
    fw_buf_deinit(&r->reasoning);
    for (i = 0; i < r->n_calls; i++) {
        free(r->calls[i].id);
        free(r->calls[i].name);
        fw_buf_deinit(&r->calls[i].args);
    }
    memset(r, 0, sizeof *r);
}

void tpl_test_parse(const tpl_test_plugin *pl, const char *variant, const char *opts,
                    const char *text, size_t step, tpl_result *r)
{
    const fw_template_vtable *vt = tpl_test_vt(pl);
    fw_template *t = tpl_test_make(pl, variant);
    fw_chat_parser *p = NULL;
    fw_err err = {0, ""};
    size_t n = strlen(text), i;

    memset(r, 0, sizeof *r);
    ck_assert_int_eq(vt->parser_new(t, opts, &p, &err), FW_OK);
    if (step == 0)
        step = n ? n : 1;
    for (i = 0; i < n; i += step)
        ck_assert_int_eq(vt->parser_feed(p, text + i, n - i < step ? n - i : step, on_event, r,
                                         &err),
                         FW_OK);
    ck_assert_int_eq(vt->parser_finish(p, on_event, r, &err), FW_OK);
    vt->parser_free(p);
    vt->destroy(t);
}

static void trim(const char **s, size_t *n)
{
    while (*n && strchr(" \t\n\r", (*s)[0]))
        (*s)++, (*n)--;
    while (*n && strchr(" \t\n\r", (*s)[*n - 1]))
        (*n)--;
}

const char *tpl_test_compare(const tpl_result *r, const cJSON *exp, int ws)
{
    const cJSON *ec = cJSON_GetObjectItem(exp, "content");
    const cJSON *er = cJSON_GetObjectItem(exp, "reasoning_content");
    const cJSON *et = cJSON_GetObjectItem(exp, "tool_calls"), *c;
    const char *s = r->content.data ? r->content.data : "", *w;
    size_t n = r->content.len, wn;
    int i = 0;

    w = cJSON_IsString(ec) ? ec->valuestring : "";
    wn = strlen(w);
    if (ws) {
        trim(&s, &n);
        trim(&w, &wn);
    }
    if (n != wn || memcmp(s, w, n))
        return "content differs";
    s = r->reasoning.data ? r->reasoning.data : "";
    n = r->reasoning.len;
    if (ws)
        trim(&s, &n);
    if (cJSON_IsString(er)) {
        w = er->valuestring;
        wn = strlen(w);
        if (ws)
            trim(&w, &wn);
        if (n != wn || memcmp(s, w, n))
            return "reasoning differs";
    } else if (n) {
        return "unexpected reasoning";
    }
    if (cJSON_GetArraySize(et) != r->n_calls)
        return "tool call count differs";
    cJSON_ArrayForEach(c, et) {
        const cJSON *id = cJSON_GetObjectItem(c, "id");
        cJSON *got = cJSON_Parse(r->calls[i].args.data ? r->calls[i].args.data : "");
        int same = got && cJSON_Compare(got, cJSON_GetObjectItem(c, "arguments"), 1);
        cJSON_Delete(got);
        if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring, r->calls[i].name))
            return "tool name differs";
        if (!same)
            return "tool arguments differ";
        if (cJSON_IsString(id) && (!r->calls[i].id || strcmp(id->valuestring, r->calls[i].id)))
            return "tool id differs";
        i++;
    }
    return r->bad_order ? "events out of order" : NULL;
}

/* Parses input whole and in steps 1..max_step; fails with name on a mismatch. */
static void check_case(const tpl_test_plugin *pl, const char *variant, const char *name,
                       const char *opts, const char *input, const cJSON *exp, int ws,
                       size_t max_step)
{
    size_t step;

    for (step = 0; step <= max_step; step++) {
        tpl_result r;
        const char *why;
        tpl_test_parse(pl, variant, opts, input, step, &r);
        why = tpl_test_compare(&r, exp, ws);
        ck_assert_msg(why == NULL, "%s (step %zu): %s; content=[%s] reasoning=[%s] calls=%d", name,
                      step, why, r.content.data ? r.content.data : "",
                      r.reasoning.data ? r.reasoning.data : "", r.n_calls);
        tpl_result_free(&r);
    }
}

void tpl_test_parse_fixtures(const tpl_test_plugin *pl, const char *variant, const char *family)
{
    const char *path = fw_test_fixture_path("parse/public.jsonl");
    char *data, *line, *save = NULL;
    int n = 0;

    if (!path || !(data = fw_test_read_file(path, NULL))) {
        fw_test_skip("no parse/public.jsonl fixture");
        return;
    }
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *c = cJSON_Parse(line);
        const char *fam = cJSON_GetObjectItem(c, "family")->valuestring;
        int ws = cJSON_IsTrue(cJSON_GetObjectItem(c, "whitespace_insensitive"));
        char opts[64];

        if (strcmp(fam, family)) {
            cJSON_Delete(c);
            continue;
        }
        snprintf(opts, sizeof opts, "{\"thinking_forced_open\":%s}",
                 cJSON_IsTrue(cJSON_GetObjectItem(c, "thinking_forced_open")) ? "true" : "false");
        check_case(pl, variant, cJSON_GetObjectItem(c, "id")->valuestring, opts,
                   cJSON_GetObjectItem(c, "input")->valuestring,
                   cJSON_GetObjectItem(c, "expected"), ws, 3);
        n++;
        cJSON_Delete(c);
    }
    ck_assert_int_gt(n, 0);
    free(data);
}

void tpl_test_parse_cases(const tpl_test_plugin *pl, const char *variant, const tpl_pcase *cases,
                          size_t n, size_t max_step)
{
    size_t i;

    for (i = 0; i < n; i++) {
        cJSON *exp = cJSON_Parse(cases[i].expected);
        char name[32];
        ck_assert_ptr_nonnull(exp);
        snprintf(name, sizeof name, "own case %zu", i);
        check_case(pl, variant, name, cases[i].opts, cases[i].input, exp, 0, max_step);
        cJSON_Delete(exp);
    }
}

void tpl_test_parse_fuzz(const tpl_test_plugin *pl, const char *variant,
                         const char *const *parts, size_t n_parts, unsigned seed,
                         const char *const *leaks)
{
    int iter, i;

    for (iter = 0; iter < 400; iter++) {
        char text[1024];
        size_t len = 0, step;
        int k, n;
        tpl_result whole, cut;

        seed = seed * 1103515245u + 12345u;
        n = (int)(seed >> 16) % 40;
        for (k = 0; k < n; k++) {
            const char *s;
            seed = seed * 1103515245u + 12345u;
            s = parts[(seed >> 16) % n_parts];
            if (len + strlen(s) >= sizeof text)
                break;
            memcpy(text + len, s, strlen(s));
            len += strlen(s);
        }
        text[len] = '\0';
        seed = seed * 1103515245u + 12345u;
        step = 1 + (seed >> 16) % 7;
        tpl_test_parse(pl, variant, NULL, text, 0, &whole);
        tpl_test_parse(pl, variant, NULL, text, step, &cut);
        ck_assert_msg(whole.content.len == cut.content.len &&
                          (!whole.content.len ||
                           !memcmp(whole.content.data, cut.content.data, whole.content.len)),
                      "whole/streamed differ on [%s]", text);
        ck_assert_int_eq(whole.n_calls, cut.n_calls);
        ck_assert_int_eq(whole.bad_order + cut.bad_order, 0);
        for (i = 0; leaks[i]; i++)
            ck_assert_msg(!whole.content.data || !strstr(whole.content.data, leaks[i]),
                          "marker %s leaked from [%s]", leaks[i], text);
        tpl_result_free(&whole);
        tpl_result_free(&cut);
    }
}

/* ---- tool grammar ---- */

/* Asks for the grammar of {TOOLS,extra}; returns it (NULL when none). */
static char *grammar_of(const tpl_test_plugin *pl, fw_template *t, const char *extra,
                        fw_status want)
{
    static const char tools[] =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
        "\"string\"}},\"required\":[\"city\"]}}},{\"type\":\"function\","
        "\"function\":{\"name\":\"x\"}}]";
    char req[512], *g = NULL;
    fw_err err = {0, ""};

    snprintf(req, sizeof req, "{%s%s}", tools, extra);
    ck_assert_int_eq(tpl_test_vt(pl)->tool_grammar(t, req, &g, &err), want);
    return g;
}

char *tpl_test_tool_grammar(const tpl_test_plugin *pl, fw_template *t)
{
    const fw_template_vtable *vt = tpl_test_vt(pl);
    fw_err err = {0, ""};
    char *g;

    ck_assert_ptr_null(grammar_of(pl, t, "", FW_OK));
    ck_assert_ptr_null(grammar_of(pl, t, ",\"tool_choice\":\"auto\"", FW_OK));
    g = grammar_of(pl, t,
                   ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"x\"}}",
                   FW_OK);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(strstr(g, "call0 ::= \"x\""));
    ck_assert_ptr_null(strstr(g, "call1"));
    fw_host_api_get()->free(g);
    ck_assert_ptr_null(grammar_of(
        pl, t, ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}",
        FW_ERR_INVALID));
    g = NULL;
    ck_assert_int_eq(vt->tool_grammar(t, "{\"tool_choice\":\"required\"}", &g, &err),
                     FW_ERR_INVALID);
    ck_assert_ptr_null(g);
    g = grammar_of(pl, t, ",\"tool_choice\":\"required\"", FW_OK);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(strstr(g, "root ::="));
    ck_assert_ptr_nonnull(strstr(g, "call0 | call1"));
    ck_assert_ptr_nonnull(strstr(g, "call0 ::= \"get_weather\""));
    ck_assert_ptr_nonnull(strstr(g, "args0-p0 ::= \"\\\"city\\\"\" ws \":\" ws args0-v0\n"));
    return g;
}

int tpl_test_main(const char *name, const TTest *const *tests)
{
    static char suite_name[64];
    Suite *s;
    TCase *tc;

    snprintf(suite_name, sizeof suite_name, "template_%s", name);
    s = suite_create(suite_name);
    tc = tcase_create(name);
    for (; *tests; tests++)
        tcase_add_test(tc, *tests);
    suite_add_tcase(s, tc);
    return fw_test_run(s);
}
