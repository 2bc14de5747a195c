/* tests/test_plugin.c -- the loader: every refusal, a good plugin, search
 * path, and frozen ABI layouts. */
#include "plugin.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Layouts are frozen: an accidental reorder must break the build. */
_Static_assert(offsetof(fw_host_api, struct_size) == 0, "host_api layout");
_Static_assert(offsetof(fw_host_api, log) == 8, "host_api layout");
_Static_assert(offsetof(fw_host_api, alloc) == 16, "host_api layout");
_Static_assert(offsetof(fw_host_api, free) == 24, "host_api layout");
_Static_assert(offsetof(fw_host_api, cfg_str) == 32, "host_api layout");
_Static_assert(offsetof(fw_host_api, cfg_i64) == 40, "host_api layout");
_Static_assert(offsetof(fw_host_api, cfg_f64) == 48, "host_api layout");
_Static_assert(offsetof(fw_host_api, clock_ns) == 56, "host_api layout");
_Static_assert(offsetof(fw_host_api, metric_add) == 64, "host_api layout");
_Static_assert(offsetof(fw_plugin_desc, kind) == 8, "desc layout");
_Static_assert(offsetof(fw_plugin_desc, name) == 16, "desc layout");
_Static_assert(offsetof(fw_plugin_desc, version) == 24, "desc layout");
_Static_assert(offsetof(fw_plugin_desc, vtable) == 32, "desc layout");
_Static_assert(offsetof(fw_backend_vtable, probe) == 8, "backend vtable layout");
_Static_assert(offsetof(fw_backend_vtable, forward) == 64, "backend vtable layout");
_Static_assert(offsetof(fw_backend_vtable, get_proc) == 80, "backend vtable layout");
_Static_assert(offsetof(fw_template_vtable, render) == 24, "template vtable layout");
_Static_assert(offsetof(fw_template_vtable, tool_grammar) == 72, "template vtable layout");
_Static_assert(offsetof(fw_template_vtable, reasoning_tags) == 80, "template vtable layout (1.1)");
_Static_assert(sizeof(fw_template_vtable) == 88, "template vtable: append only");
_Static_assert(offsetof(fw_sampler_vtable, sample) == 32, "sampler vtable layout");
_Static_assert(offsetof(fw_grammar_vtable, is_accepting) == 64, "grammar vtable layout");
_Static_assert(offsetof(fw_tensor_view, shape) == 24, "tensor view layout");
_Static_assert(offsetof(fw_tensor_view, data) == 88, "tensor view layout");
_Static_assert(offsetof(fw_batch, tokens) == 16, "batch layout");
_Static_assert(offsetof(fw_batch, logits_idx) == 56, "batch layout");
_Static_assert(offsetof(fw_model_desc, model_type) == 8, "desc layout");
_Static_assert(offsetof(fw_sampling_params, temperature) == 8, "params layout");
_Static_assert(offsetof(fw_sample_result, top_token) == 20, "result layout");

static const char *fake(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/tests/fake/.libs/%s.so", fw_test_builddir(), name);
    return path;
}

static void expect_refusal(const char *name, const char *want)
{
    fw_registry *r = NULL;
    fw_err err = {0};
    ck_assert_int_eq(fw_registry_create(&r, &err), FW_OK);
    ck_assert_int_ne(fw_registry_load_file(r, fake(name), &err), FW_OK);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s: got '%s', want '%s'", name, err.msg, want);
    ck_assert_msg(strstr(err.msg, name) != NULL, "message must name the file: %s", err.msg);
    ck_assert_int_eq(fw_registry_count(r), 0);
    fw_registry_destroy(r);
}

START_TEST(test_refusals)
{
    char notelf[4096];
    FILE *f;
    fw_registry *r = NULL;
    fw_err err = {0};

    expect_refusal("fake_major", "plugin ABI 2.1 is not compatible with host ABI 1.1");
    expect_refusal("fake_nodesc", "plugin rejected host ABI 1.1");
    expect_refusal("fake_kind", "unknown kind 99");
    expect_refusal("fake_short", "vtable is 32 bytes, ABI 1.0 needs 48");
    expect_refusal("fake_nosym", "no fw_plugin_entry symbol");
    expect_refusal("does_not_exist", "cannot load");

    /* A file that is not ELF at all. */
    snprintf(notelf, sizeof notelf, "/tmp/fw_test_notelf_%d.so", (int)getpid());
    f = fopen(notelf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is not a shared object\n", f);
    fclose(f);
    ck_assert_int_eq(fw_registry_create(&r, &err), FW_OK);
    ck_assert_int_ne(fw_registry_load_file(r, notelf, &err), FW_OK);
    ck_assert_msg(strstr(err.msg, "cannot load (host ABI 1.1)") && strstr(err.msg, notelf), "%s", err.msg);
    fw_registry_destroy(r);
    unlink(notelf);
}
END_TEST

START_TEST(test_good_and_duplicate)
{
    fw_registry *r = NULL;
    fw_err err = {0};
    const fw_plugin_info *p;

    ck_assert_int_eq(fw_registry_create(&r, &err), FW_OK);
    ck_assert_msg(fw_registry_load_file(r, fake("fake_good"), &err) == FW_OK, "%s", err.msg);
    p = fw_registry_find(r, FW_PLUGIN_SAMPLER, "fake");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fw_plugin_sampler(p));
    ck_assert_ptr_null(fw_plugin_backend(p));
    ck_assert_ptr_null(fw_registry_find(r, FW_PLUGIN_BACKEND, "fake"));
    ck_assert_int_ne(fw_registry_load_file(r, fake("fake_dup"), &err), FW_OK);
    ck_assert_msg(strstr(err.msg, "sampler plugin 'fake' is already loaded from"), "%s", err.msg);
    ck_assert_int_eq(fw_registry_count(r), 1);
    ck_assert_ptr_null(fw_registry_best_backend(r));
    fw_registry_destroy(r);
}
END_TEST

START_TEST(test_load_dir)
{
    fw_registry *r = NULL;
    fw_err err = {0};
    char dir[4096];
    int n;

    snprintf(dir, sizeof dir, "%s/tests/fake/.libs", fw_test_builddir());
    ck_assert_int_eq(fw_registry_create(&r, &err), FW_OK);
    /* Only fake_good (or fake_dup, its twin) loads; refusals are logged. */
    n = fw_registry_load_dir(r, dir, &err);
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_nonnull(fw_registry_find(r, FW_PLUGIN_SAMPLER, "fake"));
    ck_assert_int_lt(fw_registry_load_dir(r, "/nonexistent-dir", &err), 0);
    fw_registry_destroy(r);
}
END_TEST

START_TEST(test_search_path)
{
    fw_registry *r = NULL;
    fw_err err = {0};
    char dir[4096];

    snprintf(dir, sizeof dir, "/nonexistent:%s/tests/fake/.libs", fw_test_builddir());
    setenv("FIREWORKSD_PLUGIN_PATH", dir, 1);
    ck_assert_int_eq(fw_registry_create(&r, &err), FW_OK);
    ck_assert_int_eq(fw_registry_load_default(r, NULL, &err), FW_OK);
    ck_assert_ptr_nonnull(fw_registry_find(r, FW_PLUGIN_SAMPLER, "fake"));
    fw_registry_destroy(r);
    unsetenv("FIREWORKSD_PLUGIN_PATH");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plugin");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_good_and_duplicate);
    tcase_add_test(tc, test_load_dir);
    tcase_add_test(tc, test_search_path);
    suite_add_tcase(s, tc);
    return fw_test_run(s);
}
