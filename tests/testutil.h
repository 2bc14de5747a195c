/* tests/testutil.h -- shared helpers for the Check suites. */
#ifndef FW_TESTUTIL_H
#define FW_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* The reference fixtures folder ($FW_FIXTURES, else ../shared/fixtures beside
 * the source tree), or NULL when absent: tests then skip with a message. */
const char *fw_test_fixtures(void);
/* Joins fixtures dir and a relative path into a static buffer; NULL when absent. */
const char *fw_test_fixture_path(const char *rel);
/* The source and build trees (set by make check; "." otherwise). */
const char *fw_test_srcdir(void);
const char *fw_test_builddir(void);
/* Prints "SKIP: why" once per process and returns 1 (use: if (fw_test_skip(..)) return;). */
int fw_test_skip(const char *why);
/* Reads a whole file (malloc'd, NUL-terminated); NULL on error. */
char *fw_test_read_file(const char *path, size_t *len);
/* Writes text to a new temporary file made from tmpl ("/tmp/x_XXXXXX", the
 * name filled in); the caller unlinks it. */
void fw_test_write_tmp(char *tmpl, const char *text);
/* Runs the built `fwctl SUB ARGS` with input on stdin; its stdout lands in
 * out (NUL-terminated, cut at out_len - 1), stderr is dropped.  Returns the
 * exit code, -1 when it did not exit. */
int fw_test_fwctl(const char *sub, const char *args, const char *input, char *out,
                  size_t out_len);
/* Runs one suite with a verbose runner; returns the process exit status. */
int fw_test_run(Suite *s);

#endif
