/* tests/test_api_request.c -- ChatCompletionRequest validation: exact 422 bodies,
 * the 400 path, deprecated-field mapping and message normalisation.
 *
 * JSON in this file is written with ` for " to stay readable; q() converts. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_error.h"
#include "api_request.h"
#include "testutil.h"

static char *q(const char *s)
{
    char *p = strdup(s), *c;
    for (c = p; *c; c++)
        if (*c == '`')
            *c = '"';
    return p;
}

#define BASE "`model`:`m`,`messages`:[{`role`:`user`,`content`:`hi`}]"

/* Parses body (` quoted) and returns the status; *err_out the error body. */
static int parse(const char *body, fw_chat_request **r, char **err_out)
{
    char *b = q(body);
    int st = fw_chat_request_parse(b, strlen(b), r, err_out);
    free(b);
    return st;
}

static void expect_json_eq(const char *got, const char *want_q, const char *ctx)
{
    char *w = q(want_q);
    cJSON *g = cJSON_Parse(got), *x = cJSON_Parse(w);
    ck_assert_msg(x != NULL, "bad expectation JSON: %s", w);
    ck_assert_msg(g != NULL, "%s: output is not JSON: %s", ctx, got);
    ck_assert_msg(cJSON_Compare(g, x, 1), "%s:\n got  %s\n want %s", ctx, got, w);
    cJSON_Delete(g);
    cJSON_Delete(x);
    free(w);
}

/* Asserts a 422 whose detail list is exactly `detail` (a JSON array). */
static void expect_422(const char *body, const char *detail)
{
    fw_chat_request *r = NULL;
    char *err = NULL, want[8192];
    int st = parse(body, &r, &err);

    ck_assert_msg(st == 422, "status %d for %s (%s)", st, body, err ? err : "");
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(err);
    snprintf(want, sizeof want, "{`detail`:%s}", detail);
    expect_json_eq(err, want, body);
    free(err);
}

static fw_chat_request *expect_ok(const char *body)
{
    fw_chat_request *r = NULL;
    char *err = NULL;
    int st = parse(body, &r, &err);

    ck_assert_msg(st == 200, "status %d for %s: %s", st, body, err ? err : "");
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* ---- one case per field: wrong type, out of range, bad enum ------------- */

static const struct {
    const char *extra; /* appended to BASE */
    const char *detail;
} field_cases[] = {
    {"`model`:5",
     "[{`loc`:[`body`,`model`],`msg`:`Input should be a valid string`,`type`:`string_type`}]"},
    {"`tools`:{}",
     "[{`loc`:[`body`,`tools`],`msg`:`Input should be a valid list`,`type`:`list_type`}]"},
    {"`tools`:[{`type`:`fn`,`function`:{`name`:`f`}}]",
     "[{`loc`:[`body`,`tools`,0,`type`],`msg`:`Input should be 'function'`,`type`:`literal_error`}]"},
    {"`tools`:[{`type`:`function`,`function`:{`name`:`bad name`}}]",
     "[{`loc`:[`body`,`tools`,0,`function`,`name`],`msg`:`String should match pattern "
     "'^[a-zA-Z0-9_-]{1,64}$'`,`type`:`string_pattern_mismatch`}]"},
    {"`tools`:[{`type`:`function`}]",
     "[{`loc`:[`body`,`tools`,0,`function`],`msg`:`Field required`,`type`:`missing`}]"},
    {"`tools`:[{`type`:`function`,`function`:{`name`:`f`,`parameters`:5,`x`:1}}]",
     "[{`loc`:[`body`,`tools`,0,`function`,`parameters`],`msg`:`Input should be a valid "
     "dictionary`,`type`:`dict_type`},{`loc`:[`body`,`tools`,0,`function`,`x`],`msg`:`Extra "
     "inputs are not permitted`,`type`:`extra_forbidden`}]"},
    {"`tool_choice`:5",
     "[{`loc`:[`body`,`tool_choice`,`literal['auto','none','any','required']`],`msg`:`Input "
     "should be 'auto', 'none', 'any' or 'required'`,`type`:`literal_error`},{`loc`:[`body`,"
     "`tool_choice`,`FunctionSelection`],`msg`:`Input should be a valid dictionary or instance "
     "of FunctionSelection`,`type`:`model_type`}]"},
    {"`tool_choice`:{`type`:`tool`,`function`:{`name`:`f`}}",
     "[{`loc`:[`body`,`tool_choice`,`literal['auto','none','any','required']`],`msg`:`Input "
     "should be 'auto', 'none', 'any' or 'required'`,`type`:`literal_error`},{`loc`:[`body`,"
     "`tool_choice`,`FunctionSelection`,`type`],`msg`:`Input should be 'function'`,`type`:"
     "`literal_error`}]"},
    {"`stream`:`maybe`",
     "[{`loc`:[`body`,`stream`],`msg`:`Input should be a valid boolean, unable to interpret "
     "input`,`type`:`bool_parsing`}]"},
    {"`stream`:[true]",
     "[{`loc`:[`body`,`stream`],`msg`:`Input should be a valid boolean`,`type`:`bool_type`}]"},
    {"`response_format`:{`type`:`xml`}",
     "[{`loc`:[`body`,`response_format`,`type`],`msg`:`Input should be 'json_object', "
     "'json_schema', 'grammar' or 'text'`,`type`:`literal_error`}]"},
    {"`response_format`:5",
     "[{`loc`:[`body`,`response_format`],`msg`:`Input should be a valid dictionary or instance "
     "of ResponseFormat`,`type`:`model_type`}]"},
    {"`response_format`:{`type`:`json_schema`}",
     "[{`loc`:[`body`,`response_format`],`msg`:`Value error, response_format of type "
     "json_schema needs a json_schema`,`type`:`value_error`}]"},
    {"`response_format`:{`type`:`json_schema`,`json_schema`:`{nope`}",
     "[{`loc`:[`body`,`response_format`,`json_schema`],`msg`:`Value error, the schema is not a "
     "valid JSON object`,`type`:`value_error`}]"},
    {"`response_format`:{`type`:`text`,`schema`:5}",
     "[{`loc`:[`body`,`response_format`,`schema`,`str`],`msg`:`Input should be a valid "
     "string`,`type`:`string_type`},{`loc`:[`body`,`response_format`,`schema`,`dict[str,any]`],"
     "`msg`:`Input should be a valid dictionary`,`type`:`dict_type`}]"},
    {"`temperature`:2.5",
     "[{`loc`:[`body`,`temperature`],`msg`:`Input should be less than or equal to 2`,`type`:"
     "`less_than_equal`}]"},
    {"`temperature`:`-1`",
     "[{`loc`:[`body`,`temperature`],`msg`:`Input should be greater than or equal to 0`,`type`:"
     "`greater_than_equal`}]"},
    {"`temperature`:[1]",
     "[{`loc`:[`body`,`temperature`],`msg`:`Input should be a valid number`,`type`:"
     "`float_type`}]"},
    {"`temperature`:`hot`",
     "[{`loc`:[`body`,`temperature`],`msg`:`Input should be a valid number, unable to parse "
     "string as a number`,`type`:`float_parsing`}]"},
    {"`top_k`:101",
     "[{`loc`:[`body`,`top_k`],`msg`:`Input should be less than or equal to 100`,`type`:"
     "`less_than_equal`}]"},
    {"`top_k`:-1",
     "[{`loc`:[`body`,`top_k`],`msg`:`Input should be greater than or equal to 0`,`type`:"
     "`greater_than_equal`}]"},
    {"`top_k`:1.5",
     "[{`loc`:[`body`,`top_k`],`msg`:`Input should be a valid integer, got a number with a "
     "fractional part`,`type`:`int_from_float`}]"},
    {"`user`:5",
     "[{`loc`:[`body`,`user`],`msg`:`Input should be a valid string`,`type`:`string_type`}]"},
    {"`prompt_cache_isolation_key`:[]",
     "[{`loc`:[`body`,`prompt_cache_isolation_key`],`msg`:`Input should be a valid string`,"
     "`type`:`string_type`}]"},
    {"`raw_output`:`x`",
     "[{`loc`:[`body`,`raw_output`],`msg`:`Input should be a valid boolean, unable to interpret "
     "input`,`type`:`bool_parsing`}]"},
    {"`perf_metrics_in_response`:{}",
     "[{`loc`:[`body`,`perf_metrics_in_response`],`msg`:`Input should be a valid boolean`,"
     "`type`:`bool_type`}]"},
    {"`n`:0",
     "[{`loc`:[`body`,`n`],`msg`:`Input should be greater than or equal to 1`,`type`:"
     "`greater_than_equal`}]"},
    {"`n`:129",
     "[{`loc`:[`body`,`n`],`msg`:`Input should be less than or equal to 128`,`type`:"
     "`less_than_equal`}]"},
    {"`n`:null",
     "[{`loc`:[`body`,`n`],`msg`:`Input should be a valid integer`,`type`:`int_type`}]"},
    {"`n`:`two`",
     "[{`loc`:[`body`,`n`],`msg`:`Input should be a valid integer, unable to parse string as an "
     "integer`,`type`:`int_parsing`}]"},
    {"`stop`:5",
     "[{`loc`:[`body`,`stop`,`str`],`msg`:`Input should be a valid string`,`type`:"
     "`string_type`},{`loc`:[`body`,`stop`,`list[str]`],`msg`:`Input should be a valid list`,"
     "`type`:`list_type`}]"},
    {"`stop`:[`a`,`b`,`c`,`d`,`e`]",
     "[{`loc`:[`body`,`stop`,`str`],`msg`:`Input should be a valid string`,`type`:"
     "`string_type`},{`loc`:[`body`,`stop`,`list[str]`],`msg`:`List should have at most 4 items "
     "after validation, not 5`,`type`:`too_long`}]"},
    {"`stop`:[`a`,1]",
     "[{`loc`:[`body`,`stop`,`str`],`msg`:`Input should be a valid string`,`type`:"
     "`string_type`},{`loc`:[`body`,`stop`,`list[str]`,1],`msg`:`Input should be a valid "
     "string`,`type`:`string_type`}]"},
    {"`max_tokens`:-1",
     "[{`loc`:[`body`,`max_tokens`],`msg`:`Input should be greater than or equal to 0`,`type`:"
     "`greater_than_equal`}]"},
    {"`max_tokens`:`lots`",
     "[{`loc`:[`body`,`max_tokens`],`msg`:`Input should be a valid integer, unable to parse "
     "string as an integer`,`type`:`int_parsing`}]"},
    {"`max_completion_tokens`:[]",
     "[{`loc`:[`body`,`max_completion_tokens`],`msg`:`Input should be a valid integer`,`type`:"
     "`int_type`}]"},
    {"`top_p`:1.5",
     "[{`loc`:[`body`,`top_p`],`msg`:`Input should be less than or equal to 1`,`type`:"
     "`less_than_equal`}]"},
    {"`top_p`:{}",
     "[{`loc`:[`body`,`top_p`],`msg`:`Input should be a valid number`,`type`:`float_type`}]"},
    {"`min_p`:-0.1",
     "[{`loc`:[`body`,`min_p`],`msg`:`Input should be greater than or equal to 0`,`type`:"
     "`greater_than_equal`}]"},
    {"`min_p`:`a`",
     "[{`loc`:[`body`,`min_p`],`msg`:`Input should be a valid number, unable to parse string as "
     "a number`,`type`:`float_parsing`}]"},
    {"`typical_p`:2",
     "[{`loc`:[`body`,`typical_p`],`msg`:`Input should be less than or equal to 1`,`type`:"
     "`less_than_equal`}]"},
    {"`frequency_penalty`:3",
     "[{`loc`:[`body`,`frequency_penalty`],`msg`:`Input should be less than or equal to 2`,"
     "`type`:`less_than_equal`}]"},
    {"`frequency_penalty`:-2.5",
     "[{`loc`:[`body`,`frequency_penalty`],`msg`:`Input should be greater than or equal to -2`,"
     "`type`:`greater_than_equal`}]"},
    {"`presence_penalty`:-3",
     "[{`loc`:[`body`,`presence_penalty`],`msg`:`Input should be greater than or equal to -2`,"
     "`type`:`greater_than_equal`}]"},
    {"`presence_penalty`:[]",
     "[{`loc`:[`body`,`presence_penalty`],`msg`:`Input should be a valid number`,`type`:"
     "`float_type`}]"},
    {"`repetition_penalty`:2.1",
     "[{`loc`:[`body`,`repetition_penalty`],`msg`:`Input should be less than or equal to 2`,"
     "`type`:`less_than_equal`}]"},
    {"`repetition_penalty`:-0.5",
     "[{`loc`:[`body`,`repetition_penalty`],`msg`:`Input should be greater than or equal to 0`,"
     "`type`:`greater_than_equal`}]"},
    {"`mirostat_target`:`x`",
     "[{`loc`:[`body`,`mirostat_target`],`msg`:`Input should be a valid number, unable to parse "
     "string as a number`,`type`:`float_parsing`}]"},
    {"`mirostat_lr`:{}",
     "[{`loc`:[`body`,`mirostat_lr`],`msg`:`Input should be a valid number`,`type`:"
     "`float_type`}]"},
    {"`seed`:1.5",
     "[{`loc`:[`body`,`seed`],`msg`:`Input should be a valid integer, got a number with a "
     "fractional part`,`type`:`int_from_float`}]"},
    {"`seed`:{}",
     "[{`loc`:[`body`,`seed`],`msg`:`Input should be a valid integer`,`type`:`int_type`}]"},
    {"`seed`:9223372036854775808",
     "[{`loc`:[`body`,`seed`],`msg`:`Unable to parse input string as an integer, exceeded "
     "maximum size`,`type`:`int_parsing_size`}]"},
    {"`seed`:-9223372036854775809",
     "[{`loc`:[`body`,`seed`],`msg`:`Unable to parse input string as an integer, exceeded "
     "maximum size`,`type`:`int_parsing_size`}]"},
    {"`seed`:184467440737095516150",
     "[{`loc`:[`body`,`seed`],`msg`:`Unable to parse input string as an integer, exceeded "
     "maximum size`,`type`:`int_parsing_size`}]"},
    {"`seed`:1e19",
     "[{`loc`:[`body`,`seed`],`msg`:`Unable to parse input string as an integer, exceeded "
     "maximum size`,`type`:`int_parsing_size`}]"},
    {"`seed`:1.25e1",
     "[{`loc`:[`body`,`seed`],`msg`:`Input should be a valid integer, got a number with a "
     "fractional part`,`type`:`int_from_float`}]"},
    {"`logprobs`:6",
     "[{`loc`:[`body`,`logprobs`,`int`],`msg`:`Input should be less than or equal to 5`,`type`:"
     "`less_than_equal`},{`loc`:[`body`,`logprobs`,`bool`],`msg`:`Input should be a valid "
     "boolean, unable to interpret input`,`type`:`bool_parsing`}]"},
    {"`logprobs`:[]",
     "[{`loc`:[`body`,`logprobs`,`int`],`msg`:`Input should be a valid integer`,`type`:"
     "`int_type`},{`loc`:[`body`,`logprobs`,`bool`],`msg`:`Input should be a valid boolean`,"
     "`type`:`bool_type`}]"},
    {"`top_logprobs`:6",
     "[{`loc`:[`body`,`top_logprobs`],`msg`:`Input should be less than or equal to 5`,`type`:"
     "`less_than_equal`}]"},
    {"`top_logprobs`:-1",
     "[{`loc`:[`body`,`top_logprobs`],`msg`:`Input should be greater than or equal to 0`,"
     "`type`:`greater_than_equal`}]"},
    {"`echo`:2",
     "[{`loc`:[`body`,`echo`],`msg`:`Input should be a valid boolean, unable to interpret "
     "input`,`type`:`bool_parsing`}]"},
    {"`echo_last`:-1",
     "[{`loc`:[`body`,`echo_last`],`msg`:`Input should be greater than or equal to 0`,`type`:"
     "`greater_than_equal`}]"},
    {"`echo_last`:`a`",
     "[{`loc`:[`body`,`echo_last`],`msg`:`Input should be a valid integer, unable to parse "
     "string as an integer`,`type`:`int_parsing`}]"},
    {"`ignore_eos`:null",
     "[{`loc`:[`body`,`ignore_eos`],`msg`:`Input should be a valid boolean`,`type`:"
     "`bool_type`}]"},
    {"`context_length_exceeded_behavior`:`drop`",
     "[{`loc`:[`body`,`context_length_exceeded_behavior`],`msg`:`Input should be 'error' or "
     "'truncate'`,`type`:`literal_error`}]"},
    {"`context_length_exceeded_behavior`:null",
     "[{`loc`:[`body`,`context_length_exceeded_behavior`],`msg`:`Input should be 'error' or "
     "'truncate'`,`type`:`literal_error`}]"},
    {"`logit_bias`:[]",
     "[{`loc`:[`body`,`logit_bias`],`msg`:`Input should be a valid dictionary`,`type`:"
     "`dict_type`}]"},
    {"`logit_bias`:{`abc`:1,`5`:101,`6`:`x`}",
     "[{`loc`:[`body`,`logit_bias`,`abc`,`[key]`],`msg`:`Input should be a valid integer, "
     "unable to parse string as an integer`,`type`:`int_parsing`},{`loc`:[`body`,`logit_bias`,"
     "`5`],`msg`:`Input should be less than or equal to 100`,`type`:`less_than_equal`},{`loc`:"
     "[`body`,`logit_bias`,`6`],`msg`:`Input should be a valid number, unable to parse string "
     "as a number`,`type`:`float_parsing`}]"},
    /* keys beyond int32 are rejected, never wrapped into a token id
     * (4294967301 would wrap to 5) */
    {"`logit_bias`:{`2147483648`:1,`4294967301`:1,`-1`:1,`99999999999999999999`:1}",
     "[{`loc`:[`body`,`logit_bias`,`2147483648`,`[key]`],`msg`:`Input should be less than or "
     "equal to 2147483647`,`type`:`less_than_equal`},{`loc`:[`body`,`logit_bias`,`4294967301`,"
     "`[key]`],`msg`:`Input should be less than or equal to 2147483647`,`type`:`less_than_equal`},"
     "{`loc`:[`body`,`logit_bias`,`-1`,`[key]`],`msg`:`Input should be greater than or equal to "
     "0`,`type`:`greater_than_equal`},{`loc`:[`body`,`logit_bias`,`99999999999999999999`,`[key]`],"
     "`msg`:`Input should be a valid integer, unable to parse string as an integer`,`type`:"
     "`int_parsing`}]"},
    {"`logit_bias`:{`7`:-101}",
     "[{`loc`:[`body`,`logit_bias`,`7`],`msg`:`Input should be greater than or equal to -100`,"
     "`type`:`greater_than_equal`}]"},
    {"`speculation`:5",
     "[{`loc`:[`body`,`speculation`,`str`],`msg`:`Input should be a valid string`,`type`:"
     "`string_type`},{`loc`:[`body`,`speculation`,`list[int]`],`msg`:`Input should be a valid "
     "list`,`type`:`list_type`}]"},
    {"`speculation`:[1,`a`]",
     "[{`loc`:[`body`,`speculation`,`str`],`msg`:`Input should be a valid string`,`type`:"
     "`string_type`},{`loc`:[`body`,`speculation`,`list[int]`,1],`msg`:`Input should be a "
     "valid integer, unable to parse string as an integer`,`type`:`int_parsing`}]"},
    {"`prediction`:5",
     "[{`loc`:[`body`,`prediction`,`PredictedOutput`],`msg`:`Input should be a valid "
     "dictionary or instance of PredictedOutput`,`type`:`model_type`},{`loc`:[`body`,"
     "`prediction`,`str`],`msg`:`Input should be a valid string`,`type`:`string_type`}]"},
    {"`prediction`:{`type`:`content`}",
     "[{`loc`:[`body`,`prediction`,`PredictedOutput`,`content`],`msg`:`Field required`,`type`:"
     "`missing`},{`loc`:[`body`,`prediction`,`str`],`msg`:`Input should be a valid string`,"
     "`type`:`string_type`}]"},
    {"`metadata`:{`a`:1}",
     "[{`loc`:[`body`,`metadata`,`a`],`msg`:`Input should be a valid string`,`type`:"
     "`string_type`}]"},
    {"`metadata`:`x`",
     "[{`loc`:[`body`,`metadata`],`msg`:`Input should be a valid dictionary`,`type`:"
     "`dict_type`}]"},
    {"`reasoning_effort`:`max`",
     "[{`loc`:[`body`,`reasoning_effort`,`literal['low','medium','high','none']`],`msg`:`Input "
     "should be 'low', 'medium', 'high' or 'none'`,`type`:`literal_error`},{`loc`:[`body`,"
     "`reasoning_effort`,`int`],`msg`:`Input should be a valid integer, unable to parse string "
     "as an integer`,`type`:`int_parsing`},{`loc`:[`body`,`reasoning_effort`,`bool`],`msg`:"
     "`Input should be a valid boolean, unable to interpret input`,`type`:`bool_parsing`}]"},
    {"`reasoning_effort`:-5",
     "[{`loc`:[`body`,`reasoning_effort`],`msg`:`Value error, integer reasoning_effort must be "
     "positive`,`type`:`value_error`}]"},
    {"`reasoning_history`:`all`",
     "[{`loc`:[`body`,`reasoning_history`],`msg`:`Input should be 'disabled', 'interleaved' or "
     "'preserved'`,`type`:`literal_error`}]"},
    {"`thinking`:{`type`:`enabled`,`budget_tokens`:100}",
     "[{`loc`:[`body`,`thinking`,`ThinkingConfigEnabled`,`budget_tokens`],`msg`:`Input should "
     "be greater than or equal to 1024`,`type`:`greater_than_equal`},{`loc`:[`body`,`thinking`,"
     "`ThinkingConfigDisabled`,`type`],`msg`:`Input should be 'disabled'`,`type`:"
     "`literal_error`},{`loc`:[`body`,`thinking`,`ThinkingConfigDisabled`,`budget_tokens`],"
     "`msg`:`Extra inputs are not permitted`,`type`:`extra_forbidden`}]"},
    {"`thinking`:{`type`:`on`}",
     "[{`loc`:[`body`,`thinking`,`ThinkingConfigEnabled`,`type`],`msg`:`Input should be "
     "'enabled'`,`type`:`literal_error`},{`loc`:[`body`,`thinking`,`ThinkingConfigDisabled`,"
     "`type`],`msg`:`Input should be 'disabled'`,`type`:`literal_error`}]"},
    {"`return_token_ids`:5",
     "[{`loc`:[`body`,`return_token_ids`],`msg`:`Input should be a valid boolean, unable to "
     "interpret input`,`type`:`bool_parsing`}]"},
    {"`functions`:[{`description`:`x`}]",
     "[{`loc`:[`body`,`functions`,0,`name`],`msg`:`Field required`,`type`:`missing`}]"},
    {"`functions`:null",
     "[{`loc`:[`body`,`functions`],`msg`:`Input should be a valid list`,`type`:`list_type`}]"},
    {"`prompt_truncate_len`:-5",
     "[{`loc`:[`body`,`prompt_truncate_len`],`msg`:`Input should be greater than or equal to "
     "0`,`type`:`greater_than_equal`}]"},
    {"`parallel_tool_calls`:`x`",
     "[{`loc`:[`body`,`parallel_tool_calls`],`msg`:`Input should be a valid boolean, unable to "
     "interpret input`,`type`:`bool_parsing`}]"},
    {"`function_call`:`some`",
     "[{`loc`:[`body`,`function_call`,`literal['auto','none']`],`msg`:`Input should be 'auto' "
     "or 'none'`,`type`:`literal_error`},{`loc`:[`body`,`function_call`,`FunctionNameSpec`],"
     "`msg`:`Input should be a valid dictionary or instance of FunctionNameSpec`,`type`:"
     "`model_type`}]"},
    {"`best_of`:2",
     "[{`loc`:[`body`,`best_of`],`msg`:`Extra inputs are not permitted`,`type`:"
     "`extra_forbidden`}]"},
};

#define N_FIELD_CASES ((int)(sizeof field_cases / sizeof field_cases[0]))

START_TEST(field_errors)
{
    char body[4096];
    snprintf(body, sizeof body, "{" BASE ",%s}", field_cases[_i].extra);
    expect_422(body, field_cases[_i].detail);
}
END_TEST

/* ---- messages ----------------------------------------------------------- */

static const struct {
    const char *messages;
    const char *detail;
} message_cases[] = {
    {"[]",
     "[{`loc`:[`body`,`messages`],`msg`:`List should have at least 1 item after validation, not "
     "0`,`type`:`too_short`}]"},
    {"`hi`",
     "[{`loc`:[`body`,`messages`],`msg`:`Input should be a valid list`,`type`:`list_type`}]"},
    {"[`hi`]",
     "[{`loc`:[`body`,`messages`,0],`msg`:`Input should be a valid dictionary or instance of "
     "ChatMessage`,`type`:`model_type`}]"},
    {"[{`content`:`hi`}]",
     "[{`loc`:[`body`,`messages`,0,`role`],`msg`:`Field required`,`type`:`missing`}]"},
    {"[{`role`:`robot`,`content`:`hi`}]",
     "[{`loc`:[`body`,`messages`,0,`role`],`msg`:`Input should be 'system', 'developer', "
     "'user', 'assistant', 'tool' or 'function'`,`type`:`literal_error`}]"},
    {"[{`role`:`user`,`content`:`hi`,`name`:`bob`}]",
     "[{`loc`:[`body`,`messages`,0,`name`],`msg`:`Extra inputs are not permitted`,`type`:"
     "`extra_forbidden`}]"},
    {"[{`role`:`user`,`content`:5}]",
     "[{`loc`:[`body`,`messages`,0,`content`,`str`],`msg`:`Input should be a valid string`,"
     "`type`:`string_type`},{`loc`:[`body`,`messages`,0,`content`,`list[ChatMessageContent]`],"
     "`msg`:`Input should be a valid list`,`type`:`list_type`}]"},
    {"[{`role`:`user`,`content`:[{`text`:`a`}]}]",
     "[{`loc`:[`body`,`messages`,0,`content`,`str`],`msg`:`Input should be a valid string`,"
     "`type`:`string_type`},{`loc`:[`body`,`messages`,0,`content`,`list[ChatMessageContent]`,0,"
     "`type`],`msg`:`Field required`,`type`:`missing`}]"},
    {"[{`role`:`user`,`content`:[{`type`:`image_url`,`image_url`:{`url`:`http://x`}}]}]",
     "[{`loc`:[`body`,`messages`,0,`content`,0],`msg`:`Value error, image_url content parts are "
     "not supported: this server runs text-only models`,`type`:`value_error`}]"},
    {"[{`role`:`user`,`content`:`hi`,`reasoning_content`:1,`tool_call_id`:2}]",
     "[{`loc`:[`body`,`messages`,0,`reasoning_content`],`msg`:`Input should be a valid string`,"
     "`type`:`string_type`},{`loc`:[`body`,`messages`,0,`tool_call_id`],`msg`:`Input should be "
     "a valid string`,`type`:`string_type`}]"},
    {"[{`role`:`user`,`content`:`hi`},{`role`:`assistant`,`content`:null,`tool_calls`:[{`id`:"
     "`c`,`type`:`function`,`function`:{`name`:`f`,`arguments`:`not json`}}]}]",
     "[{`loc`:[`body`,`messages`,1,`tool_calls`,0,`function`,`arguments`],`msg`:`Value error, "
     "arguments must be a JSON object`,`type`:`value_error`}]"},
    {"[{`role`:`assistant`,`tool_calls`:[{`id`:`c`}]}]",
     "[{`loc`:[`body`,`messages`,0,`tool_calls`,0,`function`],`msg`:`Field required`,`type`:"
     "`missing`}]"},
    {"[{`role`:`assistant`,`tool_calls`:{}}]",
     "[{`loc`:[`body`,`messages`,0,`tool_calls`],`msg`:`Input should be a valid list`,`type`:"
     "`list_type`}]"},
    {"[{`role`:`assistant`,`tool_calls`:[{`function`:{`name`:5,`arguments`:[]}}]}]",
     "[{`loc`:[`body`,`messages`,0,`tool_calls`,0,`function`,"
     "`ChatCompletionMessageToolCallFunction`,`name`],`msg`:`Input should be a valid string`,"
     "`type`:`string_type`},{`loc`:[`body`,`messages`,0,`tool_calls`,0,`function`,"
     "`ChatCompletionMessageToolCallFunction`,`arguments`,`str`],`msg`:`Input should be a valid "
     "string`,`type`:`string_type`},{`loc`:[`body`,`messages`,0,`tool_calls`,0,`function`,"
     "`ChatCompletionMessageToolCallFunction`,`arguments`,`dict[str,any]`],`msg`:`Input should "
     "be a valid dictionary`,`type`:`dict_type`},{`loc`:[`body`,`messages`,0,`tool_calls`,0,"
     "`function`,`str`],`msg`:`Input should be a valid string`,`type`:`string_type`}]"},
};

#define N_MESSAGE_CASES ((int)(sizeof message_cases / sizeof message_cases[0]))

START_TEST(message_errors)
{
    char body[4096];
    snprintf(body, sizeof body, "{`model`:`m`,`messages`:%s}", message_cases[_i].messages);
    expect_422(body, message_cases[_i].detail);
}
END_TEST

START_TEST(required_fields)
{
    expect_422("{}", "[{`loc`:[`body`,`model`],`msg`:`Field required`,`type`:`missing`},"
                     "{`loc`:[`body`,`messages`],`msg`:`Field required`,`type`:`missing`}]");
    expect_422("{`messages`:[{`role`:`user`,`content`:`x`}]}",
               "[{`loc`:[`body`,`model`],`msg`:`Field required`,`type`:`missing`}]");
    expect_422("[1,2]", "[{`loc`:[`body`],`msg`:`Input should be a valid dictionary or object to "
                        "extract fields from`,`type`:`model_attributes_type`}]");
    expect_422("  ", "[{`loc`:[`body`],`msg`:`Field required`,`type`:`missing`}]");
}
END_TEST

/* Every error of one body in one answer, fields first, extras, then cross-field. */
START_TEST(multiple_errors)
{
    expect_422(
        "{`model`:1,`messages`:[{`role`:`user`,`content`:`a`},{`role`:`x`}],`n`:0,`top_k`:`q`,"
        "`zz`:1,`max_tokens`:5,`max_completion_tokens`:6}",
        "[{`loc`:[`body`,`model`],`msg`:`Input should be a valid string`,`type`:`string_type`},"
        "{`loc`:[`body`,`messages`,1,`role`],`msg`:`Input should be 'system', 'developer', "
        "'user', 'assistant', 'tool' or 'function'`,`type`:`literal_error`},"
        "{`loc`:[`body`,`top_k`],`msg`:`Input should be a valid integer, unable to parse string "
        "as an integer`,`type`:`int_parsing`},"
        "{`loc`:[`body`,`n`],`msg`:`Input should be greater than or equal to 1`,`type`:"
        "`greater_than_equal`},"
        "{`loc`:[`body`,`zz`],`msg`:`Extra inputs are not permitted`,`type`:`extra_forbidden`},"
        "{`loc`:[`body`],`msg`:`Value error, Cannot specify both max_tokens and "
        "max_completion_tokens`,`type`:`value_error`}]");
}
END_TEST

START_TEST(exclusive_pairs)
{
    static const char *const pairs[][3] = {
        {"`max_tokens`:1,`max_completion_tokens`:2", "max_tokens", "max_completion_tokens"},
        {"`thinking`:{`type`:`disabled`},`reasoning_effort`:`low`", "thinking",
         "reasoning_effort"},
        {"`tools`:[{`type`:`function`,`function`:{`name`:`f`}}],`functions`:[{`name`:`f`}]",
         "tools", "functions"},
        {"`tool_choice`:`auto`,`function_call`:`auto`", "tool_choice", "function_call"},
        {"`speculation`:`a`,`prediction`:`b`", "speculation", "prediction"},
    };
    char body[1024], detail[512];
    size_t i;

    for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        snprintf(body, sizeof body, "{" BASE ",%s}", pairs[i][0]);
        snprintf(detail, sizeof detail,
                 "[{`loc`:[`body`],`msg`:`Value error, Cannot specify both %s and %s`,`type`:"
                 "`value_error`}]",
                 pairs[i][1], pairs[i][2]);
        expect_422(body, detail);
    }
    /* null does not count as given */
    fw_chat_request_destroy(expect_ok("{" BASE ",`max_tokens`:null,`max_completion_tokens`:7}"));
    /* tool_choice must name a declared tool and required needs tools */
    expect_422("{" BASE ",`tools`:[{`type`:`function`,`function`:{`name`:`f`}}],`tool_choice`:{"
               "`type`:`function`,`function`:{`name`:`g`}}}",
               "[{`loc`:[`body`,`tool_choice`],`msg`:`Value error, tool_choice names function "
               "'g', which is not in tools`,`type`:`value_error`}]");
    expect_422("{" BASE ",`tool_choice`:`required`}",
               "[{`loc`:[`body`,`tool_choice`],`msg`:`Value error, tool_choice 'required' needs "
               "at least one tool`,`type`:`value_error`}]");
}
END_TEST

/* ---- 400: not JSON ------------------------------------------------------ */

static void expect_400(const char *body, size_t len)
{
    fw_chat_request *r = NULL;
    char *err = NULL;
    cJSON *j, *e;
    int st = fw_chat_request_parse(body, len, &r, &err);

    ck_assert_int_eq(st, 400);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(err);
    j = cJSON_Parse(err);
    ck_assert_ptr_nonnull(j);
    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "object")), "error");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type")),
                     "invalid_request_error");
    ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "code")));
    ck_assert_ptr_nonnull(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e,
                                                                                       "message")),
                                 "not valid"));
    cJSON_Delete(j);
    free(err);
}

START_TEST(malformed_json)
{
    static const char *const bad[] = {"{", "{\"model\":}", "{\"a\":1} x", "{\"a\":1}{}",
                                      "nul", "{'model':'m'}", "{\"a\":\"\xff\"}"};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_400(bad[i], strlen(bad[i]));
    expect_400("{\"a\":1}\0", 8); /* an embedded NUL */
}
END_TEST

START_TEST(error_bodies)
{
    char *s = fw_api_error_json(404, "model_not_found", "Model \"x\" not found");
    expect_json_eq(s, "{`error`:{`object`:`error`,`type`:`invalid_request_error`,`code`:"
                      "`model_not_found`,`message`:`Model \\`x\\` not found`}}",
                   "404");
    free(s);
    s = fw_api_error_json(500, NULL, "boom");
    expect_json_eq(s, "{`error`:{`object`:`error`,`type`:`internal_server_error`,`code`:"
                      "`internal_server_error`,`message`:`boom`}}",
                   "500");
    free(s);
}
END_TEST

/* ---- accepted requests -------------------------------------------------- */

START_TEST(defaults)
{
    fw_chat_request *r = expect_ok("{" BASE "}");

    ck_assert_str_eq(r->model, "m");
    ck_assert_int_eq(r->n, 1);
    ck_assert_int_eq(r->stream, 0);
    ck_assert_int_eq(r->max_tokens, -1);
    ck_assert_int_eq(r->set, 0);
    ck_assert_float_eq(r->sampling.temperature, 1.0f);
    ck_assert_float_eq(r->sampling.top_p, 1.0f);
    ck_assert_float_eq(r->sampling.repetition_penalty, 1.0f);
    ck_assert_int_eq(r->sampling.top_k, 0);
    ck_assert_uint_eq(r->sampling.struct_size, sizeof(fw_sampling_params));
    ck_assert_int_eq(r->logprobs_mode, FW_LOGPROBS_NONE);
    ck_assert_int_eq(r->context_length_exceeded, FW_CTX_TRUNCATE);
    ck_assert_int_eq(r->tool_choice, FW_TOOL_CHOICE_AUTO);
    ck_assert_int_eq(r->response_format, FW_RF_TEXT);
    ck_assert_int_eq(r->n_stop, 0);
    ck_assert_int_eq(r->echo_last, -1);
    ck_assert_int_eq(r->prompt_truncate_len, -1);
    ck_assert_int_eq(r->parallel_tool_calls, 1);
    ck_assert_ptr_null(r->tools_json);
    ck_assert_ptr_null(r->reasoning_effort);
    ck_assert_int_eq(r->add_generation_prompt, 1);
    expect_json_eq(r->template_json,
                   "{`messages`:[{`role`:`user`,`content`:`hi`}],`tools`:null,"
                   "`add_generation_prompt`:true,`tool_choice`:`auto`,`parallel_tool_calls`:true}",
                   "template");
    fw_chat_request_destroy(r);
}
END_TEST

START_TEST(typed_fields)
{
    fw_chat_request *r = expect_ok(
        "{" BASE ",`stream`:true,`n`:`3`,`max_completion_tokens`:64,`temperature`:`0.5`,"
        "`top_k`:40,`top_p`:0.9,`min_p`:0.05,`typical_p`:0.8,`frequency_penalty`:-1,"
        "`presence_penalty`:1.5,`repetition_penalty`:1.2,`mirostat_target`:5,`mirostat_lr`:0.1,"
        "`seed`:42,`stop`:[`END`,``,`###`],`echo`:true,`echo_last`:3,`ignore_eos`:true,"
        "`context_length_exceeded_behavior`:`error`,`logit_bias`:{`5`:-100,`7`:2.5},"
        "`return_token_ids`:true,`perf_metrics_in_response`:true,`raw_output`:true,"
        "`prompt_truncate_len`:1000,`prompt_cache_isolation_key`:`k`,`user`:`u`,"
        "`metadata`:{`a`:`b`},`parallel_tool_calls`:false}");

    ck_assert_int_eq(r->stream, 1);
    ck_assert_int_eq(r->n, 3);
    ck_assert_int_eq(r->max_tokens, 64);
    ck_assert_float_eq_tol(r->sampling.temperature, 0.5f, 1e-6);
    ck_assert_int_eq(r->sampling.top_k, 40);
    ck_assert_float_eq_tol(r->sampling.top_p, 0.9f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.min_p, 0.05f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.typical_p, 0.8f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.frequency_penalty, -1.0f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.presence_penalty, 1.5f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.repetition_penalty, 1.2f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.mirostat_target, 5.0f, 1e-6);
    ck_assert_float_eq_tol(r->sampling.mirostat_lr, 0.1f, 1e-6);
    ck_assert_int_eq(r->sampling.has_seed, 1);
    ck_assert_uint_eq(r->sampling.seed, 42);
    ck_assert_int_eq(r->n_stop, 2); /* the empty string is dropped */
    ck_assert_str_eq(r->stop[0], "END");
    ck_assert_str_eq(r->stop[1], "###");
    ck_assert_int_eq(r->echo, 1);
    ck_assert_int_eq(r->echo_last, 3);
    ck_assert_int_eq(r->ignore_eos, 1);
    ck_assert_int_eq(r->sampling.ignore_eos, 1);
    ck_assert_int_eq(r->context_length_exceeded, FW_CTX_ERROR);
    ck_assert_int_eq(r->n_logit_bias, 2);
    ck_assert_ptr_eq(r->sampling.logit_bias, r->logit_bias);
    ck_assert_int_eq(r->sampling.n_logit_bias, 2);
    ck_assert_int_eq(r->logit_bias[0].token, 5);
    ck_assert_float_eq(r->logit_bias[0].bias, -100.0f);
    ck_assert_int_eq(r->logit_bias[1].token, 7);
    ck_assert_float_eq(r->logit_bias[1].bias, 2.5f);
    ck_assert_int_eq(r->return_token_ids, 1);
    ck_assert_int_eq(r->perf_metrics_in_response, 1);
    ck_assert_int_eq(r->raw_output, 1);
    ck_assert_int_eq(r->prompt_truncate_len, 1000);
    ck_assert_str_eq(r->prompt_cache_isolation_key, "k");
    ck_assert_str_eq(r->user, "u");
    expect_json_eq(r->metadata_json, "{`a`:`b`}", "metadata");
    ck_assert_int_eq(r->parallel_tool_calls, 0);
    ck_assert_uint_eq(r->set & (FW_CHAT_SET_TEMPERATURE | FW_CHAT_SET_TOP_K |
                                FW_CHAT_SET_MAX_TOKENS | FW_CHAT_SET_SEED),
                      FW_CHAT_SET_TEMPERATURE | FW_CHAT_SET_TOP_K | FW_CHAT_SET_MAX_TOKENS |
                          FW_CHAT_SET_SEED);
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`stop`:`\\n\\n`,`stream`:null,`temperature`:null}");
    ck_assert_int_eq(r->n_stop, 1);
    ck_assert_str_eq(r->stop[0], "\n\n");
    ck_assert_uint_eq(r->set & FW_CHAT_SET_TEMPERATURE, 0);
    fw_chat_request_destroy(r);
}
END_TEST

/* body parses with this logprobs mode and top_logprobs. */
static void expect_logprobs(const char *body, int mode, int top)
{
    fw_chat_request *r = expect_ok(body);

    ck_assert_int_eq(r->logprobs_mode, mode);
    ck_assert_int_eq(r->top_logprobs, top);
    fw_chat_request_destroy(r);
}

START_TEST(logprobs_modes)
{
    fw_chat_request *r = expect_ok("{" BASE ",`logprobs`:true,`top_logprobs`:3}");
    ck_assert_int_eq(r->logprobs_mode, FW_LOGPROBS_NEW);
    ck_assert_int_eq(r->top_logprobs, 3);
    ck_assert_int_eq(r->sampling.top_logprobs, 3);
    fw_chat_request_destroy(r);

    expect_logprobs("{" BASE ",`logprobs`:true}", FW_LOGPROBS_NEW, 0);
    expect_logprobs("{" BASE ",`logprobs`:2}", FW_LOGPROBS_LEGACY, 2);
    expect_logprobs("{" BASE ",`logprobs`:0,`top_logprobs`:4}", FW_LOGPROBS_LEGACY, 4);

    r = expect_ok("{" BASE ",`logprobs`:false,`top_logprobs`:2}");
    ck_assert_int_eq(r->logprobs_mode, FW_LOGPROBS_NONE);
    fw_chat_request_destroy(r);

    /* lax strings: "1" is the int member (strict pass fails, lax int wins) */
    expect_logprobs("{" BASE ",`logprobs`:`1`}", FW_LOGPROBS_LEGACY, 1);
}
END_TEST

START_TEST(normalise_messages)
{
    fw_chat_request *r = expect_ok(
        "{`model`:`m`,`messages`:["
        "{`role`:`system`,`content`:[{`type`:`text`,`text`:`A`},{`type`:`text`,`text`:`B`}]},"
        "{`role`:`user`,`content`:null},"
        "{`role`:`assistant`,`content`:null,`reasoning_content`:`think`,`tool_calls`:["
        "{`id`:`call_0`,`type`:`function`,`function`:{`name`:`get`,`arguments`:"
        "`{\\`city\\`: \\`Paris\\`}`}},"
        "{`id`:`call_1`,`function`:{`name`:`get`,`arguments`:{`city`:`Rome`}}},"
        "{`function`:{`name`:`noargs`,`arguments`:``}}]},"
        "{`role`:`tool`,`tool_call_id`:`call_0`,`content`:`18C`},"
        "{`role`:`function`,`content`:`x`},"
        "{`role`:`assistant`,`content`:`Prefill`}]}");

    ck_assert_int_eq(r->n_messages, 6);
    ck_assert_int_eq(r->add_generation_prompt, 0);
    expect_json_eq(
        r->template_json,
        "{`messages`:[{`role`:`system`,`content`:`AB`},{`role`:`user`,`content`:``},"
        "{`role`:`assistant`,`content`:``,`reasoning_content`:`think`,`tool_calls`:["
        "{`id`:`call_0`,`type`:`function`,`function`:{`name`:`get`,`arguments`:{`city`:`Paris`}}},"
        "{`id`:`call_1`,`type`:`function`,`function`:{`name`:`get`,`arguments`:{`city`:`Rome`}}},"
        "{`type`:`function`,`function`:{`name`:`noargs`,`arguments`:{}}}]},"
        "{`role`:`tool`,`content`:`18C`,`tool_call_id`:`call_0`},{`role`:`tool`,`content`:`x`},"
        "{`role`:`assistant`,`content`:`Prefill`}],`tools`:null,`add_generation_prompt`:false,"
        "`tool_choice`:`auto`,`parallel_tool_calls`:true}",
        "template");
    fw_chat_request_destroy(r);
}
END_TEST

START_TEST(deprecated_fields)
{
    fw_chat_request *r = expect_ok(
        "{" BASE ",`functions`:[{`name`:`get_weather`,`description`:`d`,`parameters`:{`type`:"
        "`object`}}],`function_call`:{`name`:`get_weather`},`prediction`:{`type`:`content`,"
        "`content`:[{`type`:`text`,`text`:`Hello `},{`type`:`text`,`text`:`world`}]}}");

    ck_assert_int_eq(r->n_tools, 1);
    expect_json_eq(r->tools_json,
                   "[{`type`:`function`,`function`:{`name`:`get_weather`,`description`:`d`,"
                   "`parameters`:{`type`:`object`}}}]",
                   "tools");
    ck_assert_int_eq(r->tool_choice, FW_TOOL_CHOICE_FUNCTION);
    ck_assert_str_eq(r->tool_choice_name, "get_weather");
    ck_assert_str_eq(r->speculation_text, "Hello world");
    expect_json_eq(r->template_json,
                   "{`messages`:[{`role`:`user`,`content`:`hi`}],`tools`:[{`type`:`function`,"
                   "`function`:{`name`:`get_weather`,`description`:`d`,`parameters`:{`type`:"
                   "`object`}}}],`add_generation_prompt`:true,`tool_choice`:{`type`:`function`,"
                   "`function`:{`name`:`get_weather`}},`parallel_tool_calls`:true}",
                   "template");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`functions`:[{`name`:`f`}],`function_call`:`none`,`prediction`:"
                  "`draft`}");
    ck_assert_int_eq(r->tool_choice, FW_TOOL_CHOICE_NONE);
    ck_assert_str_eq(r->speculation_text, "draft");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`speculation`:[1,2,`3`]}");
    ck_assert_int_eq(r->n_speculation_ids, 3);
    ck_assert_int_eq(r->speculation_ids[0], 1);
    ck_assert_int_eq(r->speculation_ids[2], 3);
    ck_assert_ptr_null(r->speculation_text);
    fw_chat_request_destroy(r);
}
END_TEST

START_TEST(tools_and_choice)
{
    fw_chat_request *r = expect_ok(
        "{" BASE ",`tools`:[{`type`:`function`,`function`:{`name`:`f`,`strict`:true}},{`type`:"
        "`function`,`function`:{`name`:`g-2`}}],`tool_choice`:{`type`:`function`,`name`:`g-2`}}");
    ck_assert_int_eq(r->n_tools, 2);
    ck_assert_int_eq(r->tool_choice, FW_TOOL_CHOICE_FUNCTION);
    ck_assert_str_eq(r->tool_choice_name, "g-2");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`tools`:[{`type`:`function`,`function`:{`name`:`f`}}],"
                  "`tool_choice`:`any`}");
    ck_assert_int_eq(r->tool_choice, FW_TOOL_CHOICE_REQUIRED);
    ck_assert_ptr_nonnull(strstr(r->template_json, "\"tool_choice\":\"required\""));
    fw_chat_request_destroy(r);

    /* parallel_tool_calls reaches the template (its tool grammar) */
    r = expect_ok("{" BASE ",`tools`:[{`type`:`function`,`function`:{`name`:`f`}}],"
                  "`tool_choice`:`required`,`parallel_tool_calls`:false}");
    ck_assert_int_eq(r->parallel_tool_calls, 0);
    ck_assert_ptr_nonnull(strstr(r->template_json, "\"parallel_tool_calls\":false"));
    fw_chat_request_destroy(r);
}
END_TEST

/* Integers are read from their JSON text: every 64-bit seed is exact (a
 * double holds 53 bits). */
START_TEST(seed_int64)
{
    static const struct {
        const char *json;
        uint64_t want;
    } cases[] = {
        {"9223372036854775807", UINT64_C(9223372036854775807)},
        {"9007199254740993", UINT64_C(9007199254740993)}, /* 2^53 + 1 */
        {"-9223372036854775808", UINT64_C(9223372036854775808)},
        {"-1", UINT64_MAX},
        {"`18014398509481985`", UINT64_C(18014398509481985)}, /* lax: a string */
        {"1.0", 1},
        {"1e3", 1000},
        {"-0", 0},
    };
    char body[256];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fw_chat_request *r;
        snprintf(body, sizeof body, "{" BASE ",`seed`:%s}", cases[i].json);
        r = expect_ok(body);
        ck_assert_int_eq(r->sampling.has_seed, 1);
        ck_assert_msg(r->sampling.seed == cases[i].want, "seed %s: got %llu", cases[i].json,
                      (unsigned long long)r->sampling.seed);
        fw_chat_request_destroy(r);
    }
}
END_TEST

START_TEST(reasoning)
{
    fw_chat_request *r = expect_ok("{" BASE ",`reasoning_effort`:false}");
    ck_assert_str_eq(r->reasoning_effort, "none");
    ck_assert_ptr_nonnull(strstr(r->template_json, "\"reasoning_effort\":\"none\""));
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`reasoning_effort`:true}");
    ck_assert_str_eq(r->reasoning_effort, "medium");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`reasoning_effort`:`high`,`reasoning_history`:`preserved`}");
    ck_assert_str_eq(r->reasoning_effort, "high");
    ck_assert_str_eq(r->reasoning_history, "preserved");
    ck_assert_ptr_nonnull(strstr(r->template_json, "\"reasoning_history\":\"preserved\""));
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`reasoning_effort`:3000}");
    ck_assert_int_eq(r->reasoning_budget, 3000);
    ck_assert_ptr_nonnull(strstr(r->template_json, "\"reasoning_effort\":3000"));
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`thinking`:{`type`:`enabled`,`budget_tokens`:2048}}");
    ck_assert_int_eq(r->thinking, FW_THINKING_ENABLED);
    ck_assert_int_eq(r->reasoning_budget, 2048);
    ck_assert_str_eq(r->reasoning_effort, "medium");
    ck_assert_ptr_nonnull(
        strstr(r->template_json, "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}"));
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`thinking`:{`type`:`disabled`}}");
    ck_assert_int_eq(r->thinking, FW_THINKING_DISABLED);
    ck_assert_str_eq(r->reasoning_effort, "none");
    fw_chat_request_destroy(r);
}
END_TEST

START_TEST(response_formats)
{
    fw_chat_request *r = expect_ok(
        "{" BASE ",`response_format`:{`type`:`json_schema`,`json_schema`:{`name`:`x`,`strict`:"
        "true,`schema`:{`type`:`object`,`properties`:{`a`:{`type`:`integer`}}}}}}");
    ck_assert_int_eq(r->response_format, FW_RF_JSON_SCHEMA);
    expect_json_eq(r->format_text, "{`type`:`object`,`properties`:{`a`:{`type`:`integer`}}}",
                   "schema");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`response_format`:{`type`:`json_schema`,`json_schema`:"
                  "`{\\`type\\`: \\`array\\`}`}}");
    expect_json_eq(r->format_text, "{`type`:`array`}", "schema string");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`response_format`:{`type`:`json_object`}}");
    ck_assert_int_eq(r->response_format, FW_RF_JSON_OBJECT);
    ck_assert_ptr_null(r->format_text);
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`response_format`:{`type`:`json_object`,`schema`:{`type`:"
                  "`object`}}}");
    expect_json_eq(r->format_text, "{`type`:`object`}", "json_object schema");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`response_format`:{`type`:`grammar`,`grammar`:`root ::= \\`a\\``}}");
    ck_assert_int_eq(r->response_format, FW_RF_GRAMMAR);
    ck_assert_str_eq(r->format_text, "root ::= \"a\"");
    fw_chat_request_destroy(r);

    r = expect_ok("{" BASE ",`response_format`:null}");
    ck_assert_int_eq(r->response_format, FW_RF_TEXT);
    fw_chat_request_destroy(r);
}
END_TEST

static Suite *api_request_suite(void)
{
    Suite *s = suite_create("api_request");
    TCase *t = tcase_create("validation");

    tcase_add_loop_test(t, field_errors, 0, N_FIELD_CASES);
    tcase_add_loop_test(t, message_errors, 0, N_MESSAGE_CASES);
    tcase_add_test(t, required_fields);
    tcase_add_test(t, multiple_errors);
    tcase_add_test(t, exclusive_pairs);
    tcase_add_test(t, malformed_json);
    tcase_add_test(t, error_bodies);
    suite_add_tcase(s, t);

    t = tcase_create("accepted");
    tcase_add_test(t, defaults);
    tcase_add_test(t, typed_fields);
    tcase_add_test(t, logprobs_modes);
    tcase_add_test(t, normalise_messages);
    tcase_add_test(t, deprecated_fields);
    tcase_add_test(t, tools_and_choice);
    tcase_add_test(t, seed_int64);
    tcase_add_test(t, reasoning);
    tcase_add_test(t, response_formats);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return fw_test_run(api_request_suite()); }
