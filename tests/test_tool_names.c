/* tests/test_tool_names.c -- forced tool-call grammars of every template
 * plugin with tool names that need escaping (a quote, a backslash): the
 * grammar compiles (gbnf plugin), accepts the call text the model must write
 * in that format, and the plugin's own parser reads the name back.  qwen3
 * writes the name inside a JSON string (JSON-escaped, then GBNF-escaped);
 * glm, harmony and kimi write it raw (GBNF-escaped only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "grammar_gbnf.h"
#include "host_api.h"
#include "testutil.h"
#include "../plugins/templates/glm/glm.h"
#include "../plugins/templates/harmony/harmony.h"
#include "../plugins/templates/kimi/kimi.h"
#include "../plugins/templates/qwen3/qwen3.h"

#define NAME "get_w\"x\\y"                         /* get_w"x\y */
#define NAME_JSON "\"get_w\\\"x\\\\y\""            /* the name as a JSON string */

static const char request[] =
    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\","
    "\"function\":{\"name\":" NAME_JSON ",\"parameters\":{\"type\":\"object\",\"properties\":"
    "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],\"tool_choice\":\"required\"}";

typedef struct tcase {
    const fw_plugin_desc *(*desc)(const fw_host_api *h);
    const char *variant;
    const char *call; /* a valid forced call in the format */
} tcase;

static const tcase cases[] = {
    {fw_template_qwen3_desc, NULL,
     "<tool_call>\n{\"name\": " NAME_JSON ", \"arguments\": {\"city\": \"P\"}}\n</tool_call>"},
    {fw_template_glm_desc, "glm-4.7",
     "<tool_call>" NAME "<arg_key>city</arg_key><arg_value>P</arg_value></tool_call>"},
    {fw_template_kimi_desc, "kimi-k2",
     "<|tool_calls_section_begin|><|tool_call_begin|>functions." NAME
     ":0<|tool_call_argument_begin|>{\"city\": \"P\"}<|tool_call_end|><|tool_calls_section_end|>"},
    {fw_template_harmony_desc, NULL,
     " to=functions." NAME "<|channel|>commentary <|constrain|>json<|message|>{\"city\": \"P\"}"},
};

static fw_status on_event(void *ctx, const fw_parse_event *ev)
{
    if (ev->kind == FW_PARSE_TOOL_BEGIN)
        fw_buf_puts(ctx, ev->name ? ev->name : "");
    return FW_OK;
}

START_TEST(test_escaped_names)
{
    const tcase *tc = &cases[_i];
    const fw_template_vtable *vt = tc->desc(fw_host_api_get())->vtable;
    const fw_grammar_vtable *gv = fw_grammar_gbnf_desc(fw_host_api_get())->vtable;
    fw_template *t = NULL;
    fw_chat_parser *p = NULL;
    fw_grammar *g = NULL;
    fw_matcher *m = NULL;
    fw_err err = {0};
    char *text = NULL;
    fw_buf names;

    ck_assert_int_eq(vt->create(tc->variant, NULL, &t, &err), FW_OK);
    ck_assert_int_eq(vt->tool_grammar(t, request, &text, &err), FW_OK);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(gv->compile(FW_GRAMMAR_GBNF, text, NULL, &g, &err) == FW_OK,
                  "case %d: %s\n%s", _i, err.msg, text);
    ck_assert_int_eq(gv->matcher_new(g, &m, &err), FW_OK);
    ck_assert_msg(gv->accept_bytes(m, tc->call, strlen(tc->call), &err) == FW_OK &&
                      gv->is_accepting(m),
                  "case %d: the grammar refuses %s\n%s", _i, tc->call, text);
    /* the parser reads the same name back */
    fw_buf_init(&names);
    ck_assert_int_eq(vt->parser_new(t, NULL, &p, &err), FW_OK);
    ck_assert_int_eq(vt->parser_feed(p, tc->call, strlen(tc->call), on_event, &names, &err), FW_OK);
    ck_assert_int_eq(vt->parser_finish(p, on_event, &names, &err), FW_OK);
    ck_assert_msg(names.data && !strcmp(names.data, NAME), "case %d: parsed name '%s'", _i,
                  names.data ? names.data : "(none)");
    fw_buf_deinit(&names);
    vt->parser_free(p);
    gv->matcher_free(m);
    gv->grammar_free(g);
    fw_host_api_get()->free(text);
    vt->destroy(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tool_names");
    TCase *tc = tcase_create("grammar");
    tcase_add_loop_test(tc, test_escaped_names, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return fw_test_run(suite()); }
