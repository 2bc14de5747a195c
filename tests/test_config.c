/* tests/test_config.c -- YAML config: valid files, every kind of error with
 * its line and column, typed getters, sizes. */
#include "config.h"
#include "readfile.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fw_status load(const char *text, fw_config **c, fw_err *err)
{
    return fw_config_load_string("t.yaml", text, strlen(text), c, err);
}

/* Loads text expecting failure; the message must start with want. */
static void expect_error(const char *text, const char *want)
{
    fw_config *c = NULL;
    fw_err err = {0};
    ck_assert_int_ne(load(text, &c, &err), FW_OK);
    ck_assert_ptr_null(c);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got '%s', want prefix '%s'", err.msg,
                  want);
}

START_TEST(test_sample_config)
{
    char path[4096];
    fw_config *c = NULL;
    fw_err err = {0};

    snprintf(path, sizeof path, "%s/etc/fireworksd.yaml", fw_test_srcdir());
    ck_assert_msg(fw_config_load(path, &c, &err) == FW_OK, "%s", err.msg);
    ck_assert_str_eq(c->server.host, "127.0.0.1");
    ck_assert_int_eq(c->server.port, 8000);
    ck_assert_int_eq(c->server.max_body_bytes, 8 << 20);
    ck_assert_int_eq(c->n_models, 1);
    ck_assert_str_eq(c->models[0].name, "qwen3-demo");
    ck_assert_int_eq(c->models[0].kv_cache_bytes, 1 << 30);
    ck_assert_int_eq(c->models[0].kv_block_size, 16);
    fw_config_destroy(c);
}
END_TEST

START_TEST(test_values_and_defaults)
{
    fw_config *c = NULL;
    fw_err err = {0};
    const char *text =
        "server:\n  port: 9001\n  api_keys: [a, \"b\"]\n  log_level: debug\n"
        "plugins:\n  dir: /opt/p\n  load: [cpu, qwen3]\n"
        "models:\n  - name: m1\n    path: /m/1\n    temperature: 0.5\n    top_k: 20\n"
        "    backend_options: {threads: 2, name: x}\n"
        "  - name: m2\n    path: /m/2\n    kv_cache_bytes: 512MiB\n    reasoning_low_budget: 0\n";
    int64_t threads = 0;
    const char *s = NULL;
    double d = 0;

    ck_assert_msg(load(text, &c, &err) == FW_OK, "%s", err.msg);
    ck_assert_int_eq(c->server.port, 9001);
    ck_assert_int_eq(c->server.n_api_keys, 2);
    ck_assert_str_eq(c->server.api_keys[1], "b");
    ck_assert_int_eq(c->plugins.n_load, 2);
    ck_assert_str_eq(c->plugins.load[1], "qwen3");
    ck_assert_int_eq(c->n_models, 2);
    ck_assert(fabs(c->models[0].temperature - 0.5) < 1e-12);
    ck_assert(isnan(c->models[1].temperature));
    ck_assert_int_eq(c->models[0].top_k, 20);
    ck_assert_int_eq(c->models[1].top_k, -1);
    ck_assert_int_eq(c->models[1].kv_cache_bytes, 512 << 20);
    ck_assert_str_eq(c->models[1].backend, "auto");
    ck_assert_int_eq(c->models[0].reasoning_low_budget, 3000); /* "low" ~3000 tokens (spec) */
    ck_assert_int_eq(c->models[1].reasoning_low_budget, 0);
    ck_assert_int_eq(fw_config_get_i64(c->models[0].backend_options, "threads", &threads), 0);
    ck_assert_int_eq(threads, 2);
    ck_assert_int_eq(fw_config_get_str(c->models[0].backend_options, "name", &s), 0);
    ck_assert_str_eq(s, "x");
    ck_assert_int_eq(fw_config_get_str(c->models[0].backend_options, "absent", &s), 1);
    ck_assert_int_lt(fw_config_get_f64(c->models[0].backend_options, "name", &d), 0);
    fw_config_destroy(c);
}
END_TEST

START_TEST(test_errors_with_positions)
{
    expect_error("server:\n  prot: 80\n", "t.yaml:2:3: server: unknown key 'prot'");
    expect_error("server:\n  port: eighty\n", "t.yaml:2:9: server.port: expected an integer");
    expect_error("server:\n  port: 70000\n", "t.yaml:2:9: server.port: 70000 is out of range");
    expect_error("server:\n  port: \"80\"\n", "t.yaml:2:9: server.port: expected an integer");
    expect_error("models:\n  - name: a\n", "t.yaml:2:5: models[0]: missing required key 'path'");
    expect_error("models:\n  - {name: a, path: b}\n  - {name: a, path: c}\n",
                 "t.yaml:3:5: models[1]: duplicate name 'a'");
    expect_error("models: {name: a}\n", "t.yaml:1:9: models: expected a list of models");
    expect_error("models:\n  - name: a\n    path: /x\n  - name:\n    path: /y\n",
                 "t.yaml:4:10: models[1].name: a value is required");
    expect_error("listen: 80\n", "t.yaml:1:1: unknown top-level key 'listen'");
    expect_error("server:\n  port: 80\n  port: 81\n", "t.yaml:3:3: duplicate key 'port'");
    expect_error("server: [1, 2]\n", "t.yaml:1:9: server: expected a map");
    expect_error("server:\n  log_level: loud\n", "t.yaml:2:14: server.log_level: 'loud' is not one of");
    expect_error("server:\n  max_body_bytes: lots\n", "t.yaml:2:19: server.max_body_bytes: expected a size");
    expect_error("server:\n  api_keys: key\n", "t.yaml:2:13: server.api_keys: expected a list of strings");
    expect_error("server: {port: 80\n", "t.yaml:2:1: did not find expected");
    expect_error("- a\n- b\n", "t.yaml:1:1: expected a map");
    expect_error("models:\n  - name: a\n    path: b\n    temperature: 3\n",
                 "t.yaml:4:18: models[0].temperature: 3 is out of range");
    expect_error("models:\n  - name: a\n    path: b\n    reasoning_low_budget: -1\n",
                 "t.yaml:4:27: models[0].reasoning_low_budget: -1 is out of range");
}
END_TEST

START_TEST(test_broken_fixture_file)
{
    char path[4096];
    fw_config *c = NULL;
    fw_err err = {0};
    snprintf(path, sizeof path, "%s/tests/fixtures/broken.yaml", fw_test_srcdir());
    ck_assert_int_ne(fw_config_load(path, &c, &err), FW_OK);
    ck_assert_msg(strstr(err.msg, "broken.yaml:7:20: models[0].kv_block_size: expected an integer"),
                  "%s", err.msg);
    ck_assert_int_ne(fw_config_load("/nonexistent/x.yaml", &c, &err), FW_OK);
    ck_assert_msg(strstr(err.msg, "/nonexistent/x.yaml: No such file"), "%s", err.msg);
}
END_TEST

/* fw_file_load, the reader behind the config: limit, pipes, the error codes. */
START_TEST(test_file_load)
{
    char path[4096], *text;
    size_t len;
    int fd[2];
    fw_err err = {0};

    snprintf(path, sizeof path, "%s/etc/fireworksd.yaml", fw_test_srcdir());
    ck_assert_int_eq(fw_file_load(path, 1u << 20, &text, &len, &err), FW_OK);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_int_gt(len, 100);
    free(text);
    /* exactly max bytes is fine, one more is the limit */
    ck_assert_int_eq(fw_file_load(path, len, &text, &len, &err), FW_OK);
    free(text);
    ck_assert_int_eq(fw_file_load(path, len - 1, &text, &len, &err), FW_ERR_LIMIT);
    ck_assert_ptr_null(text);
    ck_assert_msg(strstr(err.msg, "larger than"), "%s", err.msg);
    ck_assert_int_eq(fw_file_load("/nonexistent/x", 100, &text, &len, &err), FW_ERR_NOT_FOUND);
    ck_assert_int_eq(fw_file_load(fw_test_srcdir(), 100, &text, &len, &err), FW_ERR_IO);
    ck_assert_msg(strstr(err.msg, "is a directory"), "%s", err.msg);
    /* a pipe: no size up front, read until its end (past the first 4 KiB) */
    ck_assert_int_eq(pipe(fd), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(write(fd[1], "0123456789", 10), 10);
    close(fd[1]);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd[0]);
    ck_assert_int_eq(fw_file_load(path, 1u << 20, &text, &len, &err), FW_OK);
    close(fd[0]);
    ck_assert_uint_eq(len, 10000);
    ck_assert_int_eq(memcmp(text + 9990, "0123456789", 11), 0);
    free(text);
}
END_TEST

START_TEST(test_empty_and_defaults)
{
    fw_config *c = NULL;
    fw_err err = {0};
    ck_assert_int_eq(load("", &c, &err), FW_OK);
    ck_assert_int_eq(c->n_models, 0);
    ck_assert_int_eq(c->server.port, 8000);
    ck_assert_ptr_nonnull(fw_config_add_model(c, &err));
    ck_assert_int_eq(c->n_models, 1);
    ck_assert_int_eq(c->models[0].kv_block_size, 16);
    fw_config_destroy(c);
}
END_TEST

START_TEST(test_sizes)
{
    ck_assert_int_eq(fw_config_parse_size("1000"), 1000);
    ck_assert_int_eq(fw_config_parse_size("8MiB"), 8 << 20);
    ck_assert_int_eq(fw_config_parse_size("4 GiB"), (int64_t)4 << 30);
    ck_assert_int_eq(fw_config_parse_size("2k"), 2000);
    ck_assert_int_eq(fw_config_parse_size("1.5KiB"), 1536);
    ck_assert_int_eq(fw_config_parse_size("x"), -1);
    ck_assert_int_eq(fw_config_parse_size("-5"), -1);
    ck_assert_int_eq(fw_config_parse_size("5 parsecs"), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_sample_config);
    tcase_add_test(tc, test_values_and_defaults);
    tcase_add_test(tc, test_errors_with_positions);
    tcase_add_test(tc, test_broken_fixture_file);
    tcase_add_test(tc, test_file_load);
    tcase_add_test(tc, test_empty_and_defaults);
    tcase_add_test(tc, test_sizes);
    suite_add_tcase(s, tc);
    return fw_test_run(s);
}
