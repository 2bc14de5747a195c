/* tools/fwctl/render.c -- `fwctl render --template NAME [--date YYYY-MM-DD]`:
 * JSON Lines requests {"messages", "tools", "kwargs", "add_generation_prompt"}
 * -> {"prompt": "..."} or {"error": "..."} per line, through the template
 * plugin found in the registry. */
#include "fwctl.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tplload.h"

static fw_status on_text(void *ctx, const char *s, size_t n)
{
    fw_buf_append(ctx, s, n);
    return FW_OK;
}

static fw_status on_special(void *ctx, const char *tok)
{
    fw_buf_puts(ctx, tok);
    return FW_OK;
}

int fwctl_render(int argc, char **argv)
{
    const char *tname = NULL, *date = NULL, *plugin, *variant;
    fwctl_tpl tp;
    fw_err err = {0};
    char *line = NULL;
    size_t cap = 0;
    int a, rc = FWCTL_OK;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--template") && a + 1 < argc)
            tname = argv[++a];
        else if (!strcmp(argv[a], "--date") && a + 1 < argc)
            date = argv[++a];
        else
            return fwctl_fail(FWCTL_EUSAGE, "render", "unknown argument '%s'", argv[a]);
    }
    if (!tname)
        return fwctl_fail(FWCTL_EUSAGE, "render", "usage: --template NAME [--date YYYY-MM-DD]");
    rc = fwctl_tpl_lookup("render", tname, 0, &plugin, &variant);
    if (rc != FWCTL_OK)
        return rc;
    if (date && (strlen(date) != 10 || date[4] != '-' || date[7] != '-'))
        return fwctl_fail(FWCTL_EUSAGE, "render", "--date: expected YYYY-MM-DD");
    rc = fwctl_tpl_open(&tp, "render", tname, plugin, variant);
    if (rc != FWCTL_OK)
        return rc;

    while (fwctl_getline(stdin, &line, &cap) >= 0) {
        cJSON *req;
        char *json;
        fw_buf out;
        fw_prompt_sink sink = {sizeof sink, &out, on_text, on_special};

        if (line[0] == '\0')
            continue;
        req = cJSON_Parse(line);
        if (!cJSON_IsObject(req)) {
            cJSON_Delete(req);
            fwctl_print_str("error", "line: not a JSON object");
            continue;
        }
        if (date) {
            cJSON_DeleteItemFromObjectCaseSensitive(req, "date");
            cJSON_AddStringToObject(req, "date", date);
            json = cJSON_PrintUnformatted(req);
        } else {
            json = NULL; /* pass the line untouched: number spellings survive */
        }
        cJSON_Delete(req);
        fw_buf_init(&out);
        memset(&err, 0, sizeof err);
        if (tp.vt->render(tp.t, json ? json : line, &sink, &err) == FW_OK && !out.oom)
            fwctl_print_str("prompt", out.len ? out.data : "");
        else
            fwctl_print_str("error", err.msg[0] ? err.msg : "render failed");
        fw_buf_deinit(&out);
        free(json);
    }
    free(line);
    fwctl_tpl_close(&tp);
    fflush(stdout);
    return rc;
}
