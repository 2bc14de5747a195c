/* tests/testutil.c -- shared helpers for the Check suites. */
#include "testutil.h"
#include "readfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int dir_exists(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *fw_test_srcdir(void)
{
    const char *s = getenv("FW_SRCDIR");
    return s && *s ? s : ".";
}

const char *fw_test_builddir(void)
{
    const char *s = getenv("FW_BUILDDIR");
    return s && *s ? s : ".";
}

const char *fw_test_fixtures(void)
{
    static char path[4096];
    const char *env = getenv("FW_FIXTURES");

    if (env && *env)
        return dir_exists(env) ? env : NULL;
    snprintf(path, sizeof path, "%s/../shared/fixtures", fw_test_srcdir());
    return dir_exists(path) ? path : NULL;
}

const char *fw_test_fixture_path(const char *rel)
{
    static char path[4096];
    const char *dir = fw_test_fixtures();
    struct stat st;

    if (!dir)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return stat(path, &st) == 0 ? path : NULL;
}

int fw_test_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    return 1;
}

char *fw_test_read_file(const char *path, size_t *len)
{
    return fw_read_file(path, len);
}

void fw_test_write_tmp(char *tmpl, const char *text)
{
    int fd = mkstemp(tmpl);
    size_t n = strlen(text);

    ck_assert_msg(fd >= 0, "mkstemp %s", tmpl);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

int fw_test_fwctl(const char *sub, const char *args, const char *input, char *out,
                  size_t out_len)
{
    char in_path[] = "/tmp/fw_fwctl_in_XXXXXX", out_path[] = "/tmp/fw_fwctl_out_XXXXXX";
    char cmd[8192];
    FILE *f;
    size_t n;
    int status;

    fw_test_write_tmp(in_path, input);
    fw_test_write_tmp(out_path, "");
    snprintf(cmd, sizeof cmd, "%s/fwctl %s %s < %s > %s 2>/dev/null", fw_test_builddir(), sub,
             args, in_path, out_path);
    status = system(cmd);
    f = fopen(out_path, "rb");
    n = f ? fread(out, 1, out_len - 1, f) : 0;
    if (f)
        fclose(f);
    out[n] = '\0';
    unlink(in_path);
    unlink(out_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fw_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
