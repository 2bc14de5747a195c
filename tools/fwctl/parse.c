/* tools/fwctl/parse.c -- `fwctl parse --template NAME [--chunk N]`: JSON Lines
 * {"input", "thinking_forced_open", "tools"} -> {"content",
 * "reasoning_content", "tool_calls": [{"id", "name", "arguments"}]} per
 * line, through the template plugin's incremental parser.  --chunk N feeds
 * the input N bytes at a time (default: whole). */
#include "fwctl.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tplload.h"

typedef struct parse_out {
    fw_buf content, reasoning;
    cJSON *calls;      /* [{"id","name","arguments"(text while collecting)}] */
    fw_buf args[64];
    int ncalls;
} parse_out;

static fw_status on_event(void *ctx, const fw_parse_event *ev)
{
    parse_out *o = ctx;
    cJSON *c;

    switch (ev->kind) {
    case FW_PARSE_CONTENT: fw_buf_append(&o->content, ev->text, ev->text_len); break;
    case FW_PARSE_REASONING: fw_buf_append(&o->reasoning, ev->text, ev->text_len); break;
    case FW_PARSE_TOOL_BEGIN:
        if (o->ncalls >= 64)
            return FW_ERR_LIMIT;
        c = cJSON_CreateObject();
        if (ev->id)
            cJSON_AddStringToObject(c, "id", ev->id);
        else
            cJSON_AddNullToObject(c, "id");
        cJSON_AddStringToObject(c, "name", ev->name ? ev->name : "");
        cJSON_AddItemToArray(o->calls, c);
        fw_buf_init(&o->args[o->ncalls++]);
        break;
    case FW_PARSE_TOOL_ARGS:
        if (ev->tool_index < 0 || ev->tool_index >= o->ncalls)
            return FW_ERR_INTERNAL;
        fw_buf_append(&o->args[ev->tool_index], ev->text, ev->text_len);
        break;
    default: break;
    }
    return FW_OK;
}

static void print_result(parse_out *o)
{
    cJSON *r = cJSON_CreateObject(), *c;
    int i = 0;

    cJSON_AddStringToObject(r, "content", o->content.len ? o->content.data : "");
    if (o->reasoning.len)
        cJSON_AddStringToObject(r, "reasoning_content", o->reasoning.data);
    else
        cJSON_AddNullToObject(r, "reasoning_content");
    cJSON_ArrayForEach(c, o->calls) {
        cJSON *a = cJSON_Parse(o->args[i].len ? o->args[i].data : "{}");
        cJSON_AddItemToObject(c, "arguments", a ? a : cJSON_CreateString(o->args[i].data));
        i++;
    }
    cJSON_AddItemToObject(r, "tool_calls", o->calls);
    o->calls = NULL;
    fwctl_print_json(r);
    cJSON_Delete(r);
}

/* Parses one request line and prints its result or error. */
static void parse_line(const fw_template_vtable *vt, fw_template *t, const char *line,
                       size_t chunk)
{
    cJSON *req = cJSON_Parse(line), *opts, *in;
    fw_chat_parser *p = NULL;
    fw_err err = {0};
    parse_out o;
    char *oj;
    size_t n, i;
    fw_status st = FW_OK;

    in = cJSON_GetObjectItemCaseSensitive(req, "input");
    if (!cJSON_IsString(in)) {
        cJSON_Delete(req);
        fwctl_print_str("error", "input: expected a string");
        return;
    }
    opts = cJSON_CreateObject();
    cJSON_AddBoolToObject(opts, "thinking_forced_open",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "thinking_forced_open")));
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(req, "tools")))
        cJSON_AddItemToObject(opts, "tools",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(req, "tools"), 1));
    oj = cJSON_PrintUnformatted(opts);
    cJSON_Delete(opts);
    memset(&o, 0, sizeof o);
    o.calls = cJSON_CreateArray();
    if (vt->parser_new(t, oj, &p, &err) != FW_OK) {
        fwctl_print_str("error", err.msg);
    } else {
        n = strlen(in->valuestring);
        if (chunk == 0)
            chunk = n ? n : 1;
        for (i = 0; i < n && st == FW_OK; i += chunk)
            st = vt->parser_feed(p, in->valuestring + i, n - i < chunk ? n - i : chunk, on_event,
                                 &o, &err);
        if (st == FW_OK)
            st = vt->parser_finish(p, on_event, &o, &err);
        if (st == FW_OK)
            print_result(&o);
        else
            fwctl_print_str("error", err.msg[0] ? err.msg : "parse failed");
        vt->parser_free(p);
    }
    for (i = 0; i < (size_t)o.ncalls; i++)
        fw_buf_deinit(&o.args[i]);
    fw_buf_deinit(&o.content);
    fw_buf_deinit(&o.reasoning);
    cJSON_Delete(o.calls);
    free(oj);
    cJSON_Delete(req);
}

int fwctl_parse(int argc, char **argv)
{
    const char *tname = NULL, *plugin, *variant;
    fwctl_tpl tp;
    char *line = NULL, *end;
    size_t cap = 0, chunk = 0;
    int a, rc;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--template") && a + 1 < argc) {
            tname = argv[++a];
        } else if (!strcmp(argv[a], "--chunk") && a + 1 < argc) {
            chunk = strtoul(argv[++a], &end, 10);
            if (*end || chunk == 0)
                return fwctl_fail(FWCTL_EUSAGE, "parse", "--chunk: expected a positive integer");
        } else {
            return fwctl_fail(FWCTL_EUSAGE, "parse", "unknown argument '%s'", argv[a]);
        }
    }
    if (!tname)
        return fwctl_fail(FWCTL_EUSAGE, "parse", "usage: --template NAME [--chunk N]");
    /* "glm" is accepted here as glm-4.7 */
    rc = fwctl_tpl_lookup("parse", tname, 1, &plugin, &variant);
    if (rc == FWCTL_OK)
        rc = fwctl_tpl_open(&tp, "parse", tname, plugin, variant);
    if (rc != FWCTL_OK)
        return rc;
    while (fwctl_getline(stdin, &line, &cap) >= 0)
        if (line[0])
            parse_line(tp.vt, tp.t, line, chunk);
    free(line);
    fwctl_tpl_close(&tp);
    fflush(stdout);
    return FWCTL_OK;
}
