/* tests/test_template_kimi.c -- the Kimi K2 template plugin (kimi-k2,
 * kimi-k2-instruct-0905, kimi-k2-thinking): byte-exact renders of the
 * reference fixtures, the streaming output parser (fixtures whole and byte by
 * byte, own cases, random marker soup), stop strings and the tool grammar. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "host_api.h"
#include "kimi.h"
#include "testutil.h"
#include "tpl_testutil.h"

/* ---- prompt sink: concatenates, and checks specials are Kimi tokens ---- */

static const char *const specials[] = {"<|im_system|>",
                                       "<|im_user|>",
                                       "<|im_assistant|>",
                                       "<|im_middle|>",
                                       "<|im_end|>",
                                       "<|tool_calls_section_begin|>",
                                       "<|tool_calls_section_end|>",
                                       "<|tool_call_begin|>",
                                       "<|tool_call_argument_begin|>",
                                       "<|tool_call_end|>",
                                       "<think>",
                                       "</think>",
                                       NULL};

static const tpl_test_plugin kimi = {fw_template_kimi_desc, "kimi", specials};

static const fw_template_vtable *vt(void) { return tpl_test_vt(&kimi); }

static fw_template *make_variant(const char *variant) { return tpl_test_make(&kimi, variant); }

static fw_status render(fw_template *t, const char *req, tpl_sink_out *o, fw_err *err)
{
    return tpl_test_render(&kimi, t, req, o, err);
}

static void check_render_fixtures(const char *variant)
{
    tpl_test_render_fixtures(&kimi, variant, variant, NULL);
}

START_TEST(render_fixtures_k2)
{
    check_render_fixtures("kimi-k2");
}
END_TEST
START_TEST(render_fixtures_0905)
{
    check_render_fixtures("kimi-k2-instruct-0905");
}
END_TEST
START_TEST(render_fixtures_thinking)
{
    check_render_fixtures("kimi-k2-thinking");
}
END_TEST

static char *render_str(const char *variant, const char *req, fw_err *err)
{
    return tpl_test_render_str(&kimi, variant, req, err);
}

START_TEST(render_variants_and_logic)
{
    fw_err err = {0, ""};
    fw_template *t = NULL;
    tpl_sink_out o;
    char *p;
    const char *convo =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"q1\"},"
        "{\"role\":\"assistant\",\"content\":\"a1\",\"reasoning_content\":\"r1\"},"
        "{\"role\":\"user\",\"content\":\"q2\"},"
        "{\"role\":\"assistant\",\"content\":\"\",\"reasoning_content\":\"r2\",\"tool_calls\":["
        "{\"id\":\"x\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": 1}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"res\"}]";
    char req[1024];

    ck_assert_int_eq(vt()->create("kimi-k3", NULL, &t, &err), FW_ERR_INVALID);
    /* thinking: history turn gets empty think, the pending tool turn keeps it;
     * call ids count over the conversation; the result takes the call's id */
    snprintf(req, sizeof req, "%s%s}", convo, "");
    p = render_str("kimi-k2-thinking", req, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(
        strstr(p, "<|im_assistant|>assistant<|im_middle|><think></think>a1<|im_end|>"));
    ck_assert_ptr_nonnull(strstr(p,
                                 "<think>r2</think><|tool_calls_section_begin|><|tool_call_begin|>"
                                 "functions.f:0<|tool_call_argument_begin|>{\"a\": 1}"
                                 "<|tool_call_end|><|tool_calls_section_end|><|im_end|>"
                                 "<|im_system|>tool<|im_middle|>## Return of functions.f:0\nres"
                                 "<|im_end|><|im_assistant|>assistant<|im_middle|>"));
    /* reasoning_history preserved / disabled */
    snprintf(req, sizeof req, "%s%s}", convo, ",\"reasoning_history\":\"preserved\"");
    p = render_str("kimi-k2-thinking", req, &err);
    ck_assert_ptr_nonnull(strstr(p, "<think>r1</think>a1"));
    snprintf(req, sizeof req, "%s%s}", convo, ",\"reasoning_history\":\"disabled\"");
    p = render_str("kimi-k2-thinking", req, &err);
    ck_assert_ptr_null(strstr(p, "r1"));
    ck_assert_ptr_null(strstr(p, "r2"));
    snprintf(req, sizeof req, "%s%s}", convo, ",\"reasoning_history\":\"bogus\"");
    ck_assert_ptr_null(render_str("kimi-k2-thinking", req, &err));
    ck_assert_int_eq(err.code, FW_ERR_INVALID);
    /* original K2: no reasoning, tool_call_id kept, literal backslash-n */
    snprintf(req, sizeof req, "%s%s}", convo, "");
    p = render_str("kimi-k2", req, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(strstr(p, "r1"));
    ck_assert_ptr_nonnull(strstr(p, "## Return of x\\nres<|im_end|>"));
    ck_assert_ptr_nonnull(strstr(p, "You are a helpful assistant<|im_end|><|im_user|>"));
    /* 0905: role names from message.name; prefill without generation prompt */
    p = render_str("kimi-k2-instruct-0905",
                   "{\"add_generation_prompt\":false,\"messages\":["
                   "{\"role\":\"user\",\"name\":\"bob\",\"content\":\"hi\"},"
                   "{\"role\":\"assistant\",\"content\":\"he\"}]}",
                   &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, "<|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by "
                        "Moonshot AI.<|im_end|>\n<|im_user|>bob<|im_middle|>hi<|im_end|>"
                        "<|im_assistant|>assistant<|im_middle|>he"); /* open: continued */
    /* developer is system (no developer role in the format): it replaces
     * the default system prompt, with the system header */
    p = render_str("kimi-k2", "{\"messages\":[{\"role\":\"developer\",\"content\":\"DEV\"},"
                              "{\"role\":\"user\",\"content\":\"hi\"}]}", &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, "<|im_system|>system<|im_middle|>DEV<|im_end|><|im_user|>user<|im_middle|>hi"
                        "<|im_end|><|im_assistant|>assistant<|im_middle|>");
    /* user text that looks like a special token stays text */
    t = make_variant("kimi-k2");
    ck_assert_int_eq(
        render(t, "{\"messages\":[{\"role\":\"user\",\"content\":\"<|im_end|>\"}]}", &o, &err),
        FW_OK);
    ck_assert_int_eq(o.n_special, 8); /* system 3 + user 3 + generation prompt 2 */
    fw_buf_deinit(&o.all);
    vt()->destroy(t);
    ck_assert_ptr_null(render_str("kimi-k2", "{\"messages\":3}", &err));
    ck_assert_ptr_null(render_str("kimi-k2", "not json", &err));
}
END_TEST

START_TEST(parse_fixtures)
{
    tpl_test_parse_fixtures(&kimi, "kimi-k2", "kimi-k2");
}
END_TEST

static const tpl_pcase own_cases[] = {
    /* forced-open reasoning */
    {"{\"thinking_forced_open\":true}", "hmm</think>ok",
     "{\"content\":\"ok\",\"reasoning_content\":\"hmm\",\"tool_calls\":[]}"},
    /* <|im_end|> ends the message */
    {NULL, "done<|im_end|>junk",
     "{\"content\":\"done\",\"reasoning_content\":null,\"tool_calls\":[]}"},
    /* content after the section is content; the alternative section spelling */
    {NULL,
     "a<|tool_call_section_begin|><|tool_call_begin|> functions.f:3 <|tool_call_argument_begin|>"
     " {\"k\":\"}\"} <|tool_call_end|><|tool_call_section_end|>b",
     "{\"content\":\"ab\",\"reasoning_content\":null,\"tool_calls\":[{\"id\":\"functions.f:3\","
     "\"name\":\"f\",\"arguments\":{\"k\":\"}\"}}]}"},
    /* malformed: arguments are not JSON -> content */
    {NULL,
     "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>"
     "oops<|tool_call_end|><|tool_calls_section_end|>",
     "{\"content\":\"functions.f:0oops\",\"reasoning_content\":null,\"tool_calls\":[]}"},
    /* malformed: an id that never gets its arguments -> content */
    {NULL, "<|tool_call_begin|>functions.f:0<|tool_call_end|>x",
     "{\"content\":\"functions.f:0x\",\"reasoning_content\":null,\"tool_calls\":[]}"},
    /* output ends inside an id */
    {NULL, "<|tool_call_begin|>functions.f",
     "{\"content\":\"functions.f\",\"reasoning_content\":null,\"tool_calls\":[]}"},
    /* stray markers never leak */
    {NULL, "a</think>b<|im_middle|>c<|tool_call_end|>d<|tool_call_argument_begin|>e",
     "{\"content\":\"abcde\",\"reasoning_content\":null,\"tool_calls\":[]}"},
    /* a partial marker at the very end is text after all */
    {NULL, "x <|tool_ca",
     "{\"content\":\"x <|tool_ca\",\"reasoning_content\":null,\"tool_calls\":[]}"},
    /* id without the functions. prefix */
    {NULL, "<|tool_call_begin|>get:1<|tool_call_argument_begin|>{}",
     "{\"content\":\"\",\"reasoning_content\":null,\"tool_calls\":[{\"id\":\"get:1\",\"name\":"
     "\"get\","
     "\"arguments\":{}}]}"},
    /* unicode passes through */
    {NULL, "<think>日本</think>«ok»",
     "{\"content\":\"«ok»\",\"reasoning_content\":\"日本\",\"tool_calls\":[]}"},
};

START_TEST(parse_own_cases)
{
    tpl_test_parse_cases(&kimi, "kimi-k2", own_cases, sizeof own_cases / sizeof own_cases[0], 2);
}
END_TEST

/* Random soup of markers and text, random cuts: no crash, no leak (ASan),
 * no marker in content, and whole == streamed. */
START_TEST(parse_fuzz)
{
    static const char *const parts[] = {
        "<think>",
        "</think>",
        "<|tool_calls_section_begin|>",
        "<|tool_calls_section_end|>",
        "<|tool_call_begin|>",
        "<|tool_call_argument_begin|>",
        "<|tool_call_end|>",
        "<|im_end|>",
        "functions.f:0",
        "functions.",
        ":1",
        "{",
        "}",
        "\"",
        "\\",
        "[",
        "x",
        " ",
        "\n",
        "<|",
        "<",
        "|>",
        "<th",
        "é",
        "{\"a\":1}",
    };
    static const char *const leaks[] = {"<|tool_call", "<think>", NULL};

    tpl_test_parse_fuzz(&kimi, "kimi-k2", parts, sizeof parts / sizeof parts[0], 777, leaks);
}
END_TEST

START_TEST(stops_and_grammar)
{
    fw_err err = {0, ""};
    fw_template *t = make_variant("kimi-k2-thinking");
    const char *const *stops = vt()->stop_strings(t);
    char *g;

    ck_assert_str_eq(stops[0], "<|im_end|>");
    ck_assert_ptr_null(stops[1]);
    g = tpl_test_tool_grammar(&kimi, t);
    ck_assert_ptr_nonnull(strstr(g, "root ::= think section\n"));
    ck_assert_ptr_nonnull(strstr(g, "call+"));
    fw_host_api_get()->free(g);
    vt()->destroy(t);
    t = make_variant("kimi-k2");
    g = tpl_test_tool_grammar(&kimi, t);
    ck_assert_ptr_nonnull(strstr(g, "root ::= section\n"));
    ck_assert_ptr_nonnull(strstr(g, "call+"));
    fw_host_api_get()->free(g);
    /* parallel_tool_calls false: one call in the section */
    g = NULL;
    ck_assert_int_eq(vt()->tool_grammar(t, "{\"tools\":[{\"function\":{\"name\":\"a\"}}],"
                                           "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}",
                                        &g, &err),
                     FW_OK);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(strstr(g, "\" call \"<|tool_calls_section_end|>\""));
    ck_assert_ptr_null(strstr(g, "call+"));
    fw_host_api_get()->free(g);
    vt()->destroy(t);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        render_fixtures_k2,
        render_fixtures_0905,
        render_fixtures_thinking,
        render_variants_and_logic,
        parse_fixtures,
        parse_own_cases,
        parse_fuzz,
        stops_and_grammar,
        NULL,
    };
    return tpl_test_main("kimi", tests);
}
