/* tests/tpl_testutil.h -- the shared driver of the template plugin suites:
 * a prompt sink that concatenates and checks the special tokens, the
 * render-fixture loop, and the parse harness (events collected, fixture and
 * own cases run whole and chunked, compared as the fixtures README says,
 * and a random marker soup). */
#ifndef FW_TPL_TESTUTIL_H
#define FW_TPL_TESTUTIL_H

#include <check.h>
#include <cjson/cJSON.h>
#include <stddef.h>

#include <fireworks/template.h>

#include "buf.h"

/* The plugin under test. */
typedef struct tpl_test_plugin {
    const fw_plugin_desc *(*desc)(const fw_host_api *host);
    const char *name;              /* its descriptor name */
    const char *const *specials;   /* special tokens render may emit (NULL-terminated) */
} tpl_test_plugin;

/* The vtable (descriptor kind and name checked). */
const fw_template_vtable *tpl_test_vt(const tpl_test_plugin *pl);
/* A template instance of variant (NULL: the default); asserts success. */
fw_template *tpl_test_make(const tpl_test_plugin *pl, const char *variant);

/* ---- render ---- */

typedef struct tpl_sink_out {
    fw_buf all;                    /* text and specials concatenated */
    int n_special, bad_special, n_text;
    const char *const *specials;
} tpl_sink_out;

/* Renders req into o->all (initialised here; the caller deinits it). */
fw_status tpl_test_render(const tpl_test_plugin *pl, fw_template *t, const char *req,
                          tpl_sink_out *o, fw_err *err);
/* Renders req with a fresh instance of variant: the prompt (static buffer)
 * or NULL with err set. */
char *tpl_test_render_str(const tpl_test_plugin *pl, const char *variant, const char *req,
                          fw_err *err);
/* Every case of templates/FILE.jsonl rendered byte-exact with variant; date
 * (or NULL) is added to each request.  Skips when the fixture is absent. */
void tpl_test_render_fixtures(const tpl_test_plugin *pl, const char *variant, const char *file,
                              const char *date);

/* ---- parse ---- */

typedef struct tpl_call {
    char *id, *name;
    fw_buf args;
} tpl_call;

typedef struct tpl_result {
    fw_buf content, reasoning;
    int has_reasoning;
    tpl_call calls[16];
    int n_calls, bad_order;
} tpl_result;

void tpl_result_free(tpl_result *r);
/* Parses text with a fresh instance of variant, fed in pieces of step bytes
 * (0 = whole). */
void tpl_test_parse(const tpl_test_plugin *pl, const char *variant, const char *opts,
                    const char *text, size_t step, tpl_result *r);
/* Compares with a fixture's "expected" (ws: whitespace-insensitive); NULL
 * when equal, else the reason. */
const char *tpl_test_compare(const tpl_result *r, const cJSON *exp, int ws);
/* The parse/public.jsonl cases of family, steps 0..3. */
void tpl_test_parse_fixtures(const tpl_test_plugin *pl, const char *variant, const char *family);

typedef struct tpl_pcase {
    const char *opts, *input, *expected;
} tpl_pcase;

/* Own cases, each parsed whole and in steps 1..max_step. */
void tpl_test_parse_cases(const tpl_test_plugin *pl, const char *variant, const tpl_pcase *cases,
                          size_t n, size_t max_step);
/* 400 random soups of parts, parsed whole and in random cuts: same content
 * and calls, events in order, none of the leak markers (NULL-terminated) in
 * the content. */
void tpl_test_parse_fuzz(const tpl_test_plugin *pl, const char *variant,
                         const char *const *parts, size_t n_parts, unsigned seed,
                         const char *const *leaks);

/* ---- tool grammar ---- */

/* The checks every name-then-arguments tool grammar passes (harmony, kimi:
 * calls callK ::= "NAME" ..., arguments per schema as argsK): nothing
 * forced -> NULL; "required" -> every tool; a named tool -> only it;
 * unknown name or no tools -> FW_ERR_INVALID.  Returns the "required"
 * grammar for the plugin's own checks (free with the host's free). */
char *tpl_test_tool_grammar(const tpl_test_plugin *pl, fw_template *t);

/* ---- the suite ---- */

/* Runs suite "template_NAME" with one case NAME holding tests (NULL-ended),
 * in order; returns the process exit status. */
int tpl_test_main(const char *name, const TTest *const *tests);

#endif
