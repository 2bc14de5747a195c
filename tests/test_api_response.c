/* tests/test_api_response.c -- ChatCompletionResponse / chunk JSON against the spec's
 * schemas: exact documents for both logprob shapes, tool calls, usage, perf_metrics,
 * stream deltas, and UTF-8 safety.  JSON below uses ` for ". */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_error.h"
#include "api_request.h"
#include "api_response.h"
#include "testutil.h"

static char *q(const char *s)
{
    char *p = strdup(s), *c;
    for (c = p; *c; c++)
        if (*c == '`')
            *c = '"';
    return p;
}

static void expect_json_eq(const char *got, const char *want_q)
{
    char *w = q(want_q);
    cJSON *g = cJSON_Parse(got), *x = cJSON_Parse(w);
    ck_assert_msg(x != NULL, "bad expectation JSON: %s", w);
    ck_assert_msg(g != NULL, "output is not JSON: %s", got);
    ck_assert_msg(cJSON_Compare(g, x, 1), "\n got  %s\n want %s", got, w);
    cJSON_Delete(g);
    cJSON_Delete(x);
    free(w);
}

/* c: a chunk of the one choice d, both zeroed but for id "s" and model "m". */
static void one_choice_chunk(fw_api_chunk *c, fw_api_delta *d)
{
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
    c->id = "s";
    c->model = "m";
    c->choices = d;
    c->n_choices = 1;
}

/* Writes chunk c into b (emptied first): it must be the JSON want_q. */
static void expect_chunk(fw_buf *b, const fw_api_chunk *c, const char *want_q)
{
    fw_buf_reset(b);
    fw_api_chunk_write(b, c);
    expect_json_eq(b->data, want_q);
}

/* Required members of an object (the spec's `required` lists) with their JSON types. */
static void require(const cJSON *o, const char *spec)
{
    char names[512], *save = NULL, *tok;

    ck_assert_msg(cJSON_IsObject(o), "not an object");
    strcpy(names, spec);
    for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        const cJSON *m;
        *colon = '\0';
        m = cJSON_GetObjectItemCaseSensitive(o, tok);
        ck_assert_msg(m != NULL, "missing %s", tok);
        switch (colon[1]) {
        case 's': ck_assert_msg(cJSON_IsString(m), "%s: not a string", tok); break;
        case 'i':
            ck_assert_msg(cJSON_IsNumber(m) && m->valuedouble == floor(m->valuedouble),
                          "%s: not an integer", tok);
            break;
        case 'n': ck_assert_msg(cJSON_IsNumber(m), "%s: not a number", tok); break;
        case 'a': ck_assert_msg(cJSON_IsArray(m), "%s: not an array", tok); break;
        case 'o': ck_assert_msg(cJSON_IsObject(m), "%s: not an object", tok); break;
        case 'N': ck_assert_msg(cJSON_IsNumber(m) || cJSON_IsNull(m), "%s: not number|null", tok);
            break;
        default: ck_abort_msg("bad spec");
        }
    }
}

/* Only the members the schema lists (additionalProperties: false). */
static void only(const cJSON *o, const char *const *allowed)
{
    const cJSON *c;
    for (c = o->child; c; c = c->next) {
        int i, ok = 0;
        for (i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], c->string) == 0;
        ck_assert_msg(ok, "member %s is not in the schema", c->string);
    }
}

static fw_api_logprob lp_item(int32_t id, const char *tok, float lp, int32_t off)
{
    fw_api_logprob t;
    memset(&t, 0, sizeof t);
    t.token_id = id;
    t.token = tok;
    t.token_len = strlen(tok);
    t.logprob = lp;
    t.sampling_logprob = lp / 2;
    t.has_sampling_logprob = 1;
    t.text_offset = off;
    t.n_top = 2;
    t.top[0].token_id = id;
    t.top[0].token = tok;
    t.top[0].token_len = strlen(tok);
    t.top[0].logprob = lp;
    t.top[1].token_id = 99;
    t.top[1].token = "x";
    t.top[1].token_len = 1;
    t.top[1].logprob = -3.5f;
    return t;
}

START_TEST(response_new_logprobs)
{
    fw_api_logprob items[2];
    fw_api_choice ch;
    fw_api_usage u = {10, 2, 4};
    fw_api_response r;
    int32_t tids[2] = {7, 8}, pids[3] = {1, 2, 3};
    fw_buf b;

    items[0] = lp_item(7, "Hi", -0.25f, 0);
    items[1] = lp_item(8, "!", -1.0f, 2);
    memset(&ch, 0, sizeof ch);
    ch.index = 0;
    ch.content = "Hi!";
    ch.content_len = 3;
    ch.finish_reason = "stop";
    ch.logprobs.mode = FW_LOGPROBS_NEW;
    ch.logprobs.top_n = 2;
    ch.logprobs.items = items;
    ch.logprobs.n = 2;
    ch.token_ids = tids;
    ch.n_token_ids = 2;
    memset(&r, 0, sizeof r);
    r.id = "chatcmpl-1";
    r.created = 1700000000;
    r.model = "m";
    r.choices = &ch;
    r.n_choices = 1;
    r.usage = &u;
    r.prompt_token_ids = pids;
    r.n_prompt_token_ids = 3;

    fw_buf_init(&b);
    fw_api_response_write(&b, &r);
    expect_json_eq(
        b.data,
        "{`id`:`chatcmpl-1`,`object`:`chat.completion`,`created`:1700000000,`model`:`m`,"
        "`choices`:[{`index`:0,`message`:{`role`:`assistant`,`content`:`Hi!`},`finish_reason`:"
        "`stop`,`logprobs`:{`content`:["
        "{`token`:`Hi`,`logprob`:-0.25,`sampling_logprob`:-0.125,`bytes`:[72,105],"
        "`top_logprobs`:[{`token`:`Hi`,`logprob`:-0.25,`token_id`:7,`bytes`:[72,105]},"
        "{`token`:`x`,`logprob`:-3.5,`token_id`:99,`bytes`:[120]}],`token_id`:7,`text_offset`:0},"
        "{`token`:`!`,`logprob`:-1,`sampling_logprob`:-0.5,`bytes`:[33],"
        "`top_logprobs`:[{`token`:`!`,`logprob`:-1,`token_id`:8,`bytes`:[33]},"
        "{`token`:`x`,`logprob`:-3.5,`token_id`:99,`bytes`:[120]}],`token_id`:8,`text_offset`:2}"
        "]},`token_ids`:[7,8]}],"
        "`usage`:{`prompt_tokens`:10,`total_tokens`:12,`completion_tokens`:2,"
        "`prompt_tokens_details`:{`cached_tokens`:4}},`prompt_token_ids`:[1,2,3]}");

    /* Schema checks: ChatCompletionResponse, choice, NewLogProbsContent, UsageInfo. */
    {
        static const char *const resp_keys[] = {"id", "object", "created", "model", "choices",
                                                "usage", "perf_metrics", "prompt_token_ids",
                                                NULL};
        static const char *const choice_keys[] = {"index", "message", "finish_reason",
                                                  "logprobs", "raw_output", "token_ids", NULL};
        cJSON *j = cJSON_Parse(b.data);
        const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        const cJSON *lp0 = cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "logprobs"), "content"), 0);
        require(j, "id:s,created:i,model:s,choices:a");
        only(j, resp_keys);
        require(c0, "index:i,message:o");
        only(c0, choice_keys);
        require(cJSON_GetObjectItem(c0, "message"), "role:s");
        require(lp0, "token:s,logprob:n,sampling_logprob:N,bytes:a,token_id:i,text_offset:i");
        require(cJSON_GetArrayItem(cJSON_GetObjectItem(lp0, "top_logprobs"), 0),
                "token:s,logprob:n,token_id:i");
        require(cJSON_GetObjectItem(j, "usage"), "prompt_tokens:i,total_tokens:i");
        cJSON_Delete(j);
    }
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(response_legacy_logprobs_tools_perf)
{
    fw_api_logprob items[2];
    fw_api_tool_call calls[2] = {{0, "call_0", "get", "{\"city\":\"Paris\"}", 16},
                                 {1, "call_1", "get", "{}", 2}};
    fw_api_choice ch[2];
    fw_api_usage u = {5, 3, 0};
    fw_api_perf perf;
    fw_api_response r;
    fw_buf b;

    items[0] = lp_item(7, "Hi", -0.25f, 0);
    items[1] = lp_item(8, "!", -1.0f, 2);
    memset(ch, 0, sizeof ch);
    ch[0].index = 0;
    ch[0].content = "Hi!";
    ch[0].content_len = 3;
    ch[0].reasoning_content = "thinking";
    ch[0].reasoning_len = 8;
    ch[0].finish_reason = "length";
    ch[0].logprobs.mode = FW_LOGPROBS_LEGACY;
    ch[0].logprobs.top_n = 2;
    ch[0].logprobs.items = items;
    ch[0].logprobs.n = 2;
    ch[1].index = 1;
    ch[1].content = NULL;
    ch[1].tool_calls = calls;
    ch[1].n_tool_calls = 2;
    ch[1].finish_reason = "tool_calls";
    fw_api_perf_init(&perf);
    perf.prompt_tokens = 5;
    perf.cached_prompt_tokens = 0;
    perf.server_time_to_first_token_s = 0.125;
    perf.server_processing_time_s = 0.5;
    memset(&r, 0, sizeof r);
    r.id = "x";
    r.created = 1;
    r.model = "m";
    r.choices = ch;
    r.n_choices = 2;
    r.usage = &u;
    r.perf = &perf;

    fw_buf_init(&b);
    fw_api_response_write(&b, &r);
    expect_json_eq(
        b.data,
        "{`id`:`x`,`object`:`chat.completion`,`created`:1,`model`:`m`,`choices`:["
        "{`index`:0,`message`:{`role`:`assistant`,`content`:`Hi!`,`reasoning_content`:"
        "`thinking`},`finish_reason`:`length`,`logprobs`:{`tokens`:[`Hi`,`!`],`token_logprobs`:"
        "[-0.25,-1],`top_logprobs`:[{`Hi`:-0.25,`x`:-3.5},{`!`:-1,`x`:-3.5}],`text_offset`:[0,2],"
        "`token_ids`:[7,8]}},"
        "{`index`:1,`message`:{`role`:`assistant`,`content`:null,`tool_calls`:["
        "{`index`:0,`id`:`call_0`,`type`:`function`,`function`:{`name`:`get`,`arguments`:"
        "`{\\`city\\`:\\`Paris\\`}`}},{`index`:1,`id`:`call_1`,`type`:`function`,`function`:"
        "{`name`:`get`,`arguments`:`{}`}}]},`finish_reason`:`tool_calls`,`logprobs`:null}],"
        "`usage`:{`prompt_tokens`:5,`total_tokens`:8,`completion_tokens`:3,"
        "`prompt_tokens_details`:{`cached_tokens`:0}},"
        "`perf_metrics`:{`prompt-tokens`:5,`cached-prompt-tokens`:0,"
        "`server-time-to-first-token`:0.125,`server-processing-time`:0.5}}");

    /* legacy with logprobs=1: a sampled token that is not the top
     * alternative is added to the map (up to N+1 entries, as the spec says) */
    fw_buf_reset(&b);
    items[0].top[0] = items[0].top[1];
    ch[0].logprobs.top_n = 1;
    items[0].n_top = items[1].n_top = 1;
    r.n_choices = 1;
    fw_api_response_write(&b, &r);
    ck_assert_ptr_nonnull(strstr(b.data, "\"top_logprobs\":[{\"x\":-3.5,\"Hi\":-0.25},{\"!\":-1}]"));
    items[0] = lp_item(7, "Hi", -0.25f, 0);
    items[1] = lp_item(8, "!", -1.0f, 2);

    /* legacy with logprobs=0: top_logprobs is null */
    fw_buf_reset(&b);
    ch[0].logprobs.top_n = 0;
    r.n_choices = 1;
    r.perf = NULL;
    r.usage = NULL;
    fw_api_response_write(&b, &r);
    {
        cJSON *j = cJSON_Parse(b.data);
        const cJSON *lp =
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                "logprobs");
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(lp, "top_logprobs")));
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "usage")));
        ck_assert_ptr_null(cJSON_GetObjectItem(j, "perf_metrics"));
        cJSON_Delete(j);
    }
    fw_buf_deinit(&b);
}
END_TEST

/* The stream of one tool-calling answer: role, reasoning, content, tool-call
 * name then argument fragments, and the finish chunk with usage and perf. */
START_TEST(stream_chunks)
{
    static const char *const chunk_keys[] = {"id", "object", "created", "model", "choices",
                                             "usage", "perf_metrics", "prompt_token_ids", NULL};
    static const char *const choice_keys[] = {"index", "delta", "finish_reason", "logprobs",
                                              "raw_output", "prompt_token_ids", "token_ids",
                                              NULL};
    static const char *const delta_keys[] = {"role", "content", "reasoning_content",
                                             "tool_calls", NULL};
    fw_api_delta d;
    fw_api_chunk c;
    fw_api_tool_call tc;
    fw_api_usage u = {3, 4, 1};
    fw_api_perf perf;
    int32_t pids[2] = {5, 6};
    fw_buf b;
    cJSON *j;

    one_choice_chunk(&c, &d);
    c.created = 2;
    fw_buf_init(&b);

    memset(&d, 0, sizeof d);
    d.role = "assistant";
    d.content = "";
    c.prompt_token_ids = pids;
    c.n_prompt_token_ids = 2;
    fw_api_sse_chunk(&b, &c);
    ck_assert(strncmp(b.data, "data: ", 6) == 0);
    ck_assert(b.len > 8 && strcmp(b.data + b.len - 2, "\n\n") == 0);
    b.data[b.len - 2] = '\0';
    expect_json_eq(b.data + 6,
                   "{`id`:`s`,`object`:`chat.completion.chunk`,`created`:2,`model`:`m`,"
                   "`choices`:[{`index`:0,`delta`:{`role`:`assistant`,`content`:``},"
                   "`finish_reason`:null}],`prompt_token_ids`:[5,6]}");
    j = cJSON_Parse(b.data + 6);
    require(j, "id:s,created:i,model:s,choices:a");
    only(j, chunk_keys);
    only(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), choice_keys);
    only(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "delta"),
         delta_keys);
    cJSON_Delete(j);
    c.prompt_token_ids = NULL;

    memset(&d, 0, sizeof d);
    d.reasoning_content = "hmm";
    d.reasoning_len = 3;
    expect_chunk(&b, &c, "{`id`:`s`,`object`:`chat.completion.chunk`,`created`:2,`model`:`m`,"
                         "`choices`:[{`index`:0,`delta`:{`reasoning_content`:`hmm`},"
                         "`finish_reason`:null}]}");

    memset(&tc, 0, sizeof tc);
    tc.index = 0;
    tc.id = "call_0";
    tc.name = "get";
    memset(&d, 0, sizeof d);
    d.tool_calls = &tc;
    d.n_tool_calls = 1;
    expect_chunk(&b, &c, "{`id`:`s`,`object`:`chat.completion.chunk`,`created`:2,`model`:`m`,"
                         "`choices`:[{`index`:0,`delta`:{`tool_calls`:[{`index`:0,`id`:"
                         "`call_0`,`type`:`function`,`function`:{`name`:`get`,`arguments`:"
                         "``}}]},`finish_reason`:null}]}");

    tc.id = NULL;
    tc.name = NULL;
    tc.arguments = "{\"city\":";
    tc.arguments_len = strlen(tc.arguments);
    expect_chunk(&b, &c, "{`id`:`s`,`object`:`chat.completion.chunk`,`created`:2,`model`:`m`,"
                         "`choices`:[{`index`:0,`delta`:{`tool_calls`:[{`index`:0,`function`:"
                         "{`arguments`:`{\\`city\\`:`}}]},`finish_reason`:null}]}");

    memset(&d, 0, sizeof d);
    d.finish_reason = "tool_calls";
    fw_api_perf_init(&perf);
    perf.prompt_tokens = 3;
    perf.cached_prompt_tokens = 1;
    perf.server_time_to_first_token_s = 0.01;
    c.usage = &u;
    c.perf = &perf;
    expect_chunk(&b, &c,
                 "{`id`:`s`,`object`:`chat.completion.chunk`,`created`:2,`model`:`m`,"
                 "`choices`:[{`index`:0,`delta`:{},`finish_reason`:`tool_calls`}],"
                 "`usage`:{`prompt_tokens`:3,`total_tokens`:7,`completion_tokens`:4,"
                 "`prompt_tokens_details`:{`cached_tokens`:1}},"
                 "`perf_metrics`:{`prompt-tokens`:3,`cached-prompt-tokens`:1,"
                 "`server-time-to-first-token`:0.01}}");

    fw_buf_reset(&b);
    fw_api_sse_done(&b);
    ck_assert_str_eq(b.data, "data: [DONE]\n\n");
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(stream_logprobs_content)
{
    fw_api_logprob it = lp_item(7, "Hi", -0.5f, 0);
    fw_api_delta d;
    fw_api_chunk c;
    int32_t tids[1] = {7};
    fw_buf b;

    one_choice_chunk(&c, &d);
    d.content = "Hi";
    d.content_len = 2;
    d.logprobs.mode = FW_LOGPROBS_NEW;
    d.logprobs.top_n = 0;
    d.logprobs.items = &it;
    d.logprobs.n = 1;
    it.n_top = 0;
    it.has_sampling_logprob = 0;
    d.token_ids = tids;
    d.n_token_ids = 1;
    fw_buf_init(&b);
    expect_chunk(&b, &c,
                 "{`id`:`s`,`object`:`chat.completion.chunk`,`created`:0,`model`:`m`,"
                 "`choices`:[{`index`:0,`delta`:{`content`:`Hi`},`finish_reason`:null,"
                 "`logprobs`:{`content`:[{`token`:`Hi`,`logprob`:-0.5,`sampling_logprob`:null,"
                 "`bytes`:[72,105],`top_logprobs`:[],`token_id`:7,`text_offset`:0}]},"
                 "`token_ids`:[7]}]}");
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(raw_output)
{
    fw_api_fragment frags[3] = {{NULL, 151644}, {"user\nhi", 0}, {NULL, 151645}};
    int32_t pids[2] = {1, 2}, cids[1] = {3};
    fw_api_raw_output ro;
    fw_api_choice ch;
    fw_api_response r;
    fw_buf b;

    memset(&ro, 0, sizeof ro);
    ro.fragments = frags;
    ro.n_fragments = 3;
    ro.prompt_token_ids = pids;
    ro.n_prompt_token_ids = 2;
    ro.completion = "<tool_call>";
    ro.completion_len = 11;
    ro.completion_token_ids = cids;
    ro.n_completion_token_ids = 1;
    ro.grammar = "root ::= x";
    memset(&ch, 0, sizeof ch);
    ch.content = "";
    ch.finish_reason = "stop";
    ch.raw_output = &ro;
    memset(&r, 0, sizeof r);
    r.id = "i";
    r.model = "m";
    r.choices = &ch;
    r.n_choices = 1;
    fw_buf_init(&b);
    fw_api_response_write(&b, &r);
    expect_json_eq(b.data,
                   "{`id`:`i`,`object`:`chat.completion`,`created`:0,`model`:`m`,`choices`:["
                   "{`index`:0,`message`:{`role`:`assistant`,`content`:``},`finish_reason`:"
                   "`stop`,`logprobs`:null,`raw_output`:{`prompt_fragments`:[151644,"
                   "`user\\nhi`,151645],`prompt_token_ids`:[1,2],`completion`:`<tool_call>`,"
                   "`completion_token_ids`:[3],`grammar`:`root ::= x`}}],`usage`:null}");
    fw_buf_deinit(&b);
}
END_TEST

/* A token that is half a UTF-8 character still yields valid JSON; bytes keep the truth. */
START_TEST(utf8_safety)
{
    static const char half[] = "\xe4\xbd"; /* first two bytes of U+4F60 */
    fw_api_logprob it;
    fw_api_delta d;
    fw_api_chunk c;
    fw_buf b;
    cJSON *j, *lp;

    memset(&it, 0, sizeof it);
    it.token = half;
    it.token_len = 2;
    it.logprob = -INFINITY;
    one_choice_chunk(&c, &d);
    d.content = half;
    d.content_len = 2;
    d.logprobs.mode = FW_LOGPROBS_NEW;
    d.logprobs.items = &it;
    d.logprobs.n = 1;
    fw_buf_init(&b);
    fw_api_chunk_write(&b, &c);
    j = cJSON_Parse(b.data);
    ck_assert_ptr_nonnull(j);
    lp = cJSON_GetArrayItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
                                "logprobs"),
            "content"),
        0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(lp, "token")),
                     "\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "bytes"), 0)->valueint, 0xe4);
    ck_assert_int_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "bytes"), 1)->valueint, 0xbd);
    ck_assert(cJSON_GetObjectItem(lp, "logprob")->valuedouble == -9999.0);
    cJSON_Delete(j);

    fw_buf_reset(&b);
    fw_api_json_str(&b, "a\"\\\n\x01\xc3\xa9\xf0\x9f\x98\x80\xc0\xaf", 13);
    ck_assert_str_eq(b.data, "\"a\\\"\\\\\\n\\u0001\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd\"");
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(float_format)
{
    fw_buf b;
    fw_buf_init(&b);
    fw_api_f32_write(&b, 0.1f);
    fw_buf_putc(&b, ' ');
    fw_api_f32_write(&b, -1.0f);
    fw_buf_putc(&b, ' ');
    fw_api_f32_write(&b, 1.17549435e-38f);
    fw_buf_putc(&b, ' ');
    fw_api_f32_write(&b, NAN);
    ck_assert_str_eq(b.data, "0.1 -1 1.1754944e-38 -9999.0");
    fw_buf_deinit(&b);
}
END_TEST

static Suite *api_response_suite(void)
{
    Suite *s = suite_create("api_response");
    TCase *t = tcase_create("shapes");

    tcase_add_test(t, response_new_logprobs);
    tcase_add_test(t, response_legacy_logprobs_tools_perf);
    tcase_add_test(t, stream_chunks);
    tcase_add_test(t, stream_logprobs_content);
    tcase_add_test(t, raw_output);
    tcase_add_test(t, utf8_safety);
    tcase_add_test(t, float_format);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return fw_test_run(api_response_suite()); }
