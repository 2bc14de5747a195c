/* plugins/templates/common/tpl_stream.c -- marker search and hold-back. */
#include "tpl_stream.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "tpl_req.h"

size_t tpl_partial_marker(const char *s, size_t n, const char *marker)
{
    size_t m = strlen(marker), k;

    if (m == 0)
        return 0;
    k = m - 1 < n ? m - 1 : n;
    for (; k > 0; k--)
        if (memcmp(s + n - k, marker, k) == 0)
            return k;
    return 0;
}

size_t tpl_partial_any(const char *s, size_t n, const char *const *markers)
{
    size_t best = 0, k;

    for (; *markers; markers++) {
        k = tpl_partial_marker(s, n, *markers);
        if (k > best)
            best = k;
    }
    return best;
}

size_t tpl_find(const char *s, size_t n, const char *marker)
{
    size_t m = strlen(marker), i;

    if (m == 0 || m > n)
        return n;
    for (i = 0; i + m <= n; i++)
        if (s[i] == marker[0] && memcmp(s + i, marker, m) == 0)
            return i;
    return n;
}

size_t tpl_find_any(const char *s, size_t n, const char *const *markers, int *which)
{
    size_t best = n, best_len = 0, off;
    int i;

    *which = -1;
    for (i = 0; markers[i]; i++) {
        off = tpl_find(s, n, markers[i]);
        if (off == n)
            continue;
        if (off < best || (off == best && strlen(markers[i]) > best_len)) {
            best = off;
            best_len = strlen(markers[i]);
            *which = i;
        }
    }
    return best;
}

int tpl_starts_with(const char *s, size_t n, const char *marker)
{
    size_t m = strlen(marker);
    return n >= m && memcmp(s, marker, m) == 0;
}

fw_status tpl_emit_text(fw_parse_cb cb, void *ctx, fw_parse_kind kind, int32_t tool_index,
                        const char *s, size_t n)
{
    fw_parse_event ev;

    if (n == 0)
        return FW_OK;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.kind = (uint32_t)kind;
    ev.tool_index = kind == FW_PARSE_TOOL_ARGS ? tool_index : -1;
    ev.text = s;
    ev.text_len = n;
    return cb(ctx, &ev);
}

fw_status tpl_emit_tool_begin(fw_parse_cb cb, void *ctx, int32_t tool_index, const char *id,
                              const char *name)
{
    fw_parse_event ev;

    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.kind = FW_PARSE_TOOL_BEGIN;
    ev.tool_index = tool_index;
    ev.id = id;
    ev.name = name;
    return cb(ctx, &ev);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

const char *tpl_trim(const char *s, size_t n, size_t *len)
{
    while (n > 0 && is_ws(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_ws(s[n - 1]))
        n--;
    *len = n;
    return s;
}

int tpl_next_marker(const char *s, size_t n, const char *const *markers, int count, int final,
                    size_t *at)
{
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        if (s[i] != '<')
            continue;
        for (k = 0; k < count; k++) {
            size_t ml = strlen(markers[k]);
            if (n - i >= ml) {
                if (!memcmp(s + i, markers[k], ml)) {
                    *at = i;
                    return k;
                }
            } else if (!final && !memcmp(s + i, markers[k], n - i)) {
                *at = i;
                return -1;
            }
        }
    }
    *at = n;
    return -1;
}

fw_status tpl_mstream_feed(tpl_mstream *m, const char *who, const char *text, size_t n,
                           fw_parse_cb cb, void *ctx, fw_err *err)
{
    if (!m || !cb || (n && !text))
        return tpl_err(err, FW_ERR_INVALID, "%s parser: missing argument", who);
    if (m->st != FW_OK)
        return tpl_err(err, m->st, "%s parser: an earlier callback failed", who);
    m->cb = cb;
    m->ctx = ctx;
    fw_buf_append(&m->in, text, n);
    if (m->in.oom)
        return tpl_err(err, FW_ERR_NOMEM, "%s parser: out of memory", who);
    return FW_OK;
}

fw_status tpl_mstream_end(const tpl_mstream *m, const char *who, int oom, fw_err *err)
{
    if (oom)
        return tpl_err(err, FW_ERR_NOMEM, "%s parser: out of memory", who);
    if (m->st != FW_OK)
        return tpl_err(err, m->st, "%s parser: the event callback failed", who);
    return FW_OK;
}

void tpl_marker_run(tpl_mstream *m, const char *const *markers, int count, int final,
                    void (*on_text)(void *p, const char *s, size_t n),
                    void (*on_marker)(void *p, int m), void *p)
{
    fw_buf *in = &m->in;
    size_t pos = 0;

    while (m->st == FW_OK && pos < in->len) {
        const char *s = in->data + pos;
        size_t n = in->len - pos, at;
        int k = tpl_next_marker(s, n, markers, count, final, &at);

        on_text(p, s, at);
        pos += at;
        if (k < 0)
            break;
        pos += strlen(markers[k]);
        on_marker(p, k);
    }
    /* compact: drop what was consumed */
    if (pos) {
        memmove(in->data, in->data + pos, in->len - pos);
        in->len -= pos;
        in->data[in->len] = '\0';
    }
}

size_t tpl_json_scan_feed(tpl_json_scan *js, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && !js->done; i++) {
        char c = s[i];
        if (js->in_str) {
            if (js->esc)
                js->esc = 0;
            else if (c == '\\')
                js->esc = 1;
            else if (c == '"')
                js->in_str = 0;
        } else if (c == '"') {
            js->in_str = 1;
        } else if (c == '{' || c == '[') {
            js->depth++;
        } else if (c == '}' || c == ']') {
            if (--js->depth == 0)
                js->done = 1;
        }
    }
    return i;
}

int tpl_opts_forced_open(const char *opts_json, int *forced)
{
    cJSON *o;

    *forced = 0;
    if (!opts_json || !opts_json[0])
        return 0;
    o = cJSON_Parse(opts_json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    *forced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "thinking_forced_open"));
    cJSON_Delete(o);
    return 0;
}

fw_status tpl_mparser_opts(const char *who, const void *out, const char *opts_json, int *forced,
                           fw_err *err)
{
    if (!out)
        return tpl_err(err, FW_ERR_INVALID, "%s parser: missing output pointer", who);
    if (tpl_opts_forced_open(opts_json, forced) != 0)
        return tpl_err(err, FW_ERR_INVALID, "%s parser: options are not a JSON object", who);
    return FW_OK;
}

void tpl_mcall_init(tpl_mcall *c)
{
    memset(c, 0, sizeof *c);
    fw_buf_init(&c->name);
    fw_buf_init(&c->lead);
}

void tpl_mcall_deinit(tpl_mcall *c)
{
    fw_buf_deinit(&c->name);
    fw_buf_deinit(&c->lead);
}

void tpl_mcall_reset(tpl_mcall *c)
{
    fw_buf_reset(&c->lead);
    memset(&c->js, 0, sizeof c->js);
}

void tpl_mcall_emit(tpl_mstream *m, const tpl_mcall *c, fw_parse_kind kind, const char *s,
                    size_t n)
{
    if (m->st == FW_OK)
        m->st = tpl_emit_text(m->cb, m->ctx, kind, c->tool_index - 1, s, n);
}

size_t tpl_mcall_args(tpl_mstream *m, tpl_mcall *c, const char *id, const char *s, size_t n)
{
    size_t i = 0, from;

    if (!c->js.started) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        fw_buf_append(&c->lead, s, i);
        if (i == n)
            return n;
        if (s[i] != '{')
            return i; /* not a JSON object: the caller shows the text */
        c->js.started = 1;
        if (m->st == FW_OK)
            m->st = tpl_emit_tool_begin(m->cb, m->ctx, c->tool_index, id,
                                        c->name.data ? c->name.data : "");
        c->tool_index++;
    }
    from = i;
    i += tpl_json_scan_feed(&c->js, s + i, n - i);
    tpl_mcall_emit(m, c, FW_PARSE_TOOL_ARGS, s + from, i - from);
    return n;
}
