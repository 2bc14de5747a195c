/* tools/fwctl/grammar.c -- fwctl grammar: does each text match a grammar?
 *
 *   fwctl grammar (--gbnf FILE | --json-schema FILE)
 *   stdin:  JSON Lines {"text": "..."}
 *   stdout: {"accepted": true|false} per line: the whole text is a complete
 *           sentence of the grammar.
 * The grammar plugin "gbnf" is found through the plugin registry
 * ($FIREWORKSD_PLUGIN_PATH, then the install dir).  Exit 1 when the grammar
 * does not compile or a line is not {"text": string}; 2 on bad usage. */
#include "fwctl.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "plugin.h"
#include "readfile.h"

static const char USAGE[] = "usage: fwctl grammar (--gbnf FILE | --json-schema FILE)";

/* Runs every input line through a fresh matcher. */
static int check_lines(const fw_grammar_vtable *vt, const fw_grammar *g)
{
    char *line = NULL;
    size_t cap = 0;
    long n, lineno = 0;
    int rc = FWCTL_OK;

    while ((n = fwctl_getline(stdin, &line, &cap)) >= 0) {
        cJSON *req, *text;
        fw_matcher *m = NULL;
        fw_err err = {0};
        int accepted;

        lineno++;
        if (n == 0)
            continue;
        req = cJSON_Parse(line);
        text = cJSON_GetObjectItemCaseSensitive(req, "text");
        if (!cJSON_IsString(text)) {
            cJSON_Delete(req);
            rc = fwctl_fail(FWCTL_EINPUT, "grammar", "line %ld: expected {\"text\": string}",
                            lineno);
            break;
        }
        if (vt->matcher_new(g, &m, &err) != FW_OK) {
            cJSON_Delete(req);
            rc = fwctl_fail(FWCTL_EINPUT, "grammar", "line %ld: %s", lineno, err.msg);
            break;
        }
        accepted = vt->accept_bytes(m, text->valuestring, strlen(text->valuestring), &err) ==
                       FW_OK &&
                   vt->is_accepting(m);
        vt->matcher_free(m);
        cJSON_Delete(req);
        printf("{\"accepted\": %s}\n", accepted ? "true" : "false");
        fflush(stdout);
    }
    free(line);
    return rc;
}

int fwctl_grammar(int argc, char **argv)
{
    const char *path = NULL;
    uint32_t source = 0;
    fw_registry *reg = NULL;
    const fw_plugin_info *info;
    const fw_grammar_vtable *vt;
    fw_grammar *g = NULL;
    fw_err err = {0};
    char *text;
    size_t len;
    int i, rc;

    for (i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--gbnf") || !strcmp(argv[i], "--json-schema")) && i + 1 < argc) {
            if (path)
                return fwctl_fail(FWCTL_EUSAGE, "grammar", "give one grammar\n%s", USAGE);
            source = !strcmp(argv[i], "--gbnf") ? FW_GRAMMAR_GBNF : FW_GRAMMAR_JSON_SCHEMA;
            path = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s\n", USAGE);
            return FWCTL_OK;
        } else {
            return fwctl_fail(FWCTL_EUSAGE, "grammar", "unexpected argument '%s'\n%s", argv[i],
                              USAGE);
        }
    }
    if (!path)
        return fwctl_fail(FWCTL_EUSAGE, "grammar", "%s", USAGE);
    if (fw_file_load(path, (size_t)64 << 20, &text, &len, &err) != FW_OK)
        return fwctl_fail(FWCTL_EINPUT, "grammar", "%s", err.msg);

    if (fw_registry_create(&reg, &err) != FW_OK ||
        fw_registry_load_default(reg, NULL, &err) != FW_OK) {
        free(text);
        fw_registry_destroy(reg);
        return fwctl_fail(FWCTL_EINPUT, "grammar", "plugins: %s", err.msg);
    }
    info = fw_registry_find(reg, FW_PLUGIN_GRAMMAR, "gbnf");
    vt = info ? fw_plugin_grammar(info) : NULL;
    if (!vt) {
        free(text);
        fw_registry_destroy(reg);
        return fwctl_fail(FWCTL_EINPUT, "grammar",
                          "grammar plugin 'gbnf' not found (set FIREWORKSD_PLUGIN_PATH)");
    }
    if (vt->compile(source, text, NULL, &g, &err) != FW_OK) {
        rc = fwctl_fail(FWCTL_EINPUT, "grammar", "%s: %s", path, err.msg);
    } else {
        rc = check_lines(vt, g);
        vt->grammar_free(g);
    }
    free(text);
    fw_registry_destroy(reg);
    return rc;
}
