/* tests/test_logline.c -- log lines in logfmt and JSON: quoting, escapes,
 * one event per line, request fields, and nothing but the given fields. */
#include "testutil.h"

#include "logline.h"

#include <cjson/cJSON.h>
#include <string.h>

static const char *TS = "2026-11-24T23:59:01.123Z";

START_TEST(test_logfmt_plain_and_quoted)
{
    fw_buf b;
    fw_buf_init(&b);
    fw_logline_format(&b, FW_LOG_FORMAT_LOGFMT, TS, "info", "model", "ready");
    ck_assert_str_eq(b.data, "ts=2026-11-24T23:59:01.123Z level=info subsys=model msg=ready");
    fw_buf_reset(&b);
    fw_logline_format(&b, FW_LOG_FORMAT_LOGFMT, TS, "warn", NULL, "a \"b\"=c\\d\ne\tf\x01");
    ck_assert_str_eq(b.data, "ts=2026-11-24T23:59:01.123Z level=warn subsys=core "
                             "msg=\"a \\\"b\\\"=c\\\\d\\ne\\tf\\x01\"");
    ck_assert_ptr_null(strchr(b.data, '\n'));
    fw_buf_reset(&b);
    fw_logline_format(&b, FW_LOG_FORMAT_LOGFMT, TS, "error", "x", "");
    ck_assert_str_eq(b.data, "ts=2026-11-24T23:59:01.123Z level=error subsys=x msg=\"\"");
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(test_json_line_parses)
{
    static const char *msgs[] = {"plain", "quote \" backslash \\ newline \n tab \t", "\x01\x1f", "",
                                 "caf\xc3\xa9 \xe2\x9c\x93"};
    size_t i;
    fw_buf b;

    fw_buf_init(&b);
    for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        cJSON *j;
        fw_buf_reset(&b);
        fw_logline_format(&b, FW_LOG_FORMAT_JSON, TS, "debug", "sched", msgs[i]);
        ck_assert_ptr_null(strchr(b.data, '\n'));
        j = cJSON_Parse(b.data);
        ck_assert_msg(j != NULL, "not JSON: %s", b.data);
        ck_assert_str_eq(cJSON_GetObjectItem(j, "ts")->valuestring, TS);
        ck_assert_str_eq(cJSON_GetObjectItem(j, "level")->valuestring, "debug");
        ck_assert_str_eq(cJSON_GetObjectItem(j, "subsys")->valuestring, "sched");
        ck_assert_str_eq(cJSON_GetObjectItem(j, "msg")->valuestring, msgs[i]);
        ck_assert_int_eq(cJSON_GetArraySize(j), 4);
        cJSON_Delete(j);
    }
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(test_request_logfmt)
{
    fw_reqlog r = {"chatcmpl-7", "qwen3 demo", 200, 12, 16, 41.25, 84.2, 1, NULL};
    char big[FW_REQLOG_METADATA_MAX + 100];
    fw_buf b;

    fw_buf_init(&b);
    fw_logline_request(&b, FW_LOG_FORMAT_LOGFMT, TS, &r);
    ck_assert_str_eq(b.data, "ts=2026-11-24T23:59:01.123Z level=info subsys=api msg=request "
                             "id=chatcmpl-7 model=\"qwen3 demo\" status=200 prompt_tokens=12 "
                             "completion_tokens=16 ttft_ms=41.2 duration_ms=84.2 stream=true");
    /* No token generated: no ttft_ms. */
    r.ttft_ms = -1;
    r.status = 499;
    r.stream = 0;
    r.model = "m";
    fw_buf_reset(&b);
    fw_logline_request(&b, FW_LOG_FORMAT_LOGFMT, TS, &r);
    ck_assert_ptr_null(strstr(b.data, "ttft_ms"));
    ck_assert_ptr_nonnull(strstr(b.data, " status=499 "));
    ck_assert_ptr_nonnull(strstr(b.data, " model=m "));
    ck_assert_ptr_nonnull(strstr(b.data, " stream=false"));
    ck_assert_ptr_null(strstr(b.data, "metadata"));
    /* metadata: escaped like every value, last on the line */
    r.metadata = "{\"trace\":\"a b\"}";
    fw_buf_reset(&b);
    fw_logline_request(&b, FW_LOG_FORMAT_LOGFMT, TS, &r);
    ck_assert_ptr_nonnull(strstr(b.data, " stream=false metadata=\"{\\\"trace\\\":\\\"a b\\\"}\""));
    /* ...and bounded, cut before a UTF-8 character it would split */
    memset(big, 'x', sizeof big);
    memcpy(big + FW_REQLOG_METADATA_MAX - 1, "\xc3\xa9", 2);
    big[sizeof big - 1] = '\0';
    r.metadata = big;
    fw_buf_reset(&b);
    fw_logline_request(&b, FW_LOG_FORMAT_LOGFMT, TS, &r);
    ck_assert_str_eq(b.data + b.len - 7, "xxxx...");
    ck_assert_ptr_null(strstr(b.data, "\xc3"));
    ck_assert_uint_lt(strlen(strstr(b.data, "metadata=")), FW_REQLOG_METADATA_MAX + 20);
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(test_request_json)
{
    fw_reqlog r = {"chatcmpl-\"x\"", NULL, 500, 3, 0, 2.0, 10.0, 0, "{\"k\":\"v\"}"};
    fw_buf b;
    cJSON *j;

    fw_buf_init(&b);
    fw_logline_request(&b, FW_LOG_FORMAT_JSON, TS, &r);
    j = cJSON_Parse(b.data);
    ck_assert_msg(j != NULL, "not JSON: %s", b.data);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "msg")->valuestring, "request");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "id")->valuestring, "chatcmpl-\"x\"");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "model")->valuestring, "");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "status")->valueint, 500);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "prompt_tokens")->valueint, 3);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "completion_tokens")->valueint, 0);
    ck_assert(cJSON_GetObjectItem(j, "ttft_ms")->valuedouble == 2.0);
    ck_assert(cJSON_GetObjectItem(j, "duration_ms")->valuedouble == 10.0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "stream")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "metadata")->valuestring, "{\"k\":\"v\"}");
    ck_assert_int_eq(cJSON_GetArraySize(j), 13);
    cJSON_Delete(j);
    fw_buf_deinit(&b);
}
END_TEST

START_TEST(test_format_parse_and_timestamp)
{
    char ts[40];
    ck_assert_int_eq(fw_log_format_parse("logfmt"), FW_LOG_FORMAT_LOGFMT);
    ck_assert_int_eq(fw_log_format_parse(NULL), FW_LOG_FORMAT_LOGFMT);
    ck_assert_int_eq(fw_log_format_parse("json"), FW_LOG_FORMAT_JSON);
    ck_assert_int_eq(fw_log_format_parse("JSONL"), -1);
    fw_logline_timestamp(ts, sizeof ts);
    ck_assert_uint_eq(strlen(ts), strlen(TS));
    ck_assert(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("logline");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_logfmt_plain_and_quoted);
    tcase_add_test(tc, test_json_line_parses);
    tcase_add_test(tc, test_request_logfmt);
    tcase_add_test(tc, test_request_json);
    tcase_add_test(tc, test_format_parse_and_timestamp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return fw_test_run(suite()); }
