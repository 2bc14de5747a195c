/* plugins/templates/common/tpl_req.c -- request normalisation, prompt writer. */
#include "tpl_req.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tpl_json.h"
#include "tpl_stream.h"

fw_status tpl_err(fw_err *err, fw_status code, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *tpl_get_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *tpl_msg_content(const cJSON *msg)
{
    const char *s = tpl_get_str(msg, "content");
    return s ? s : "";
}

const char *tpl_msg_role(const cJSON *msg)
{
    const char *s = tpl_get_str(msg, "role");
    return s ? s : "";
}

void tpl_msg_developer_as_system(cJSON *msg)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");

    if (cJSON_IsString(role) && !strcmp(role->valuestring, "developer"))
        cJSON_ReplaceItemInObjectCaseSensitive(msg, "role", cJSON_CreateString("system"));
}

int tpl_get_bool(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!v || cJSON_IsNull(v))
        return dflt;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0';
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return v->child != NULL;
    return dflt;
}

/* content: null -> "", [{"type":"text","text":..}, ...] -> texts joined. */
static fw_status norm_content(cJSON *msg, int i, fw_err *err)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
    cJSON *part, *s;
    fw_buf b;

    if (c && cJSON_IsString(c))
        return FW_OK;
    if (c && !cJSON_IsNull(c) && !cJSON_IsArray(c))
        return tpl_err(err, FW_ERR_INVALID, "messages[%d].content: expected string, array or null",
                       i);
    fw_buf_init(&b);
    if (c && cJSON_IsArray(c)) {
        cJSON_ArrayForEach(part, c) {
            const char *t = cJSON_IsString(part) ? part->valuestring : tpl_get_str(part, "text");
            if (t)
                fw_buf_puts(&b, t);
        }
    }
    s = b.oom ? NULL : cJSON_CreateString(b.len ? b.data : "");
    fw_buf_deinit(&b);
    if (!s)
        return tpl_err(err, FW_ERR_NOMEM, "out of memory");
    if (c)
        cJSON_ReplaceItemInObjectCaseSensitive(msg, "content", s);
    else
        cJSON_AddItemToObject(msg, "content", s);
    return FW_OK;
}

/* tool_calls[j].function.arguments (or .arguments): a JSON string -> value. */
static void norm_args(cJSON *holder)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(holder, "arguments");
    cJSON *v;

    if (!cJSON_IsString(a))
        return;
    v = tpl_json_parse(a->valuestring, (size_t)-1);
    if (v)
        cJSON_ReplaceItemInObjectCaseSensitive(holder, "arguments", v);
}

fw_status tpl_req_parse(tpl_req *r, const char *json, fw_err *err)
{
    cJSON *m, *tc, *f, *agp;
    int i = 0;
    fw_status st;

    memset(r, 0, sizeof *r);
    if (!json)
        return tpl_err(err, FW_ERR_INVALID, "request: missing");
    r->root = tpl_json_parse(json, (size_t)-1);
    if (!r->root || !cJSON_IsObject(r->root)) {
        tpl_req_free(r);
        return tpl_err(err, FW_ERR_INVALID, "request: not a JSON object");
    }
    r->messages = cJSON_GetObjectItemCaseSensitive(r->root, "messages");
    if (!cJSON_IsArray(r->messages)) {
        tpl_req_free(r);
        return tpl_err(err, FW_ERR_INVALID, "messages: expected an array");
    }
    cJSON_ArrayForEach(m, r->messages) {
        if (!cJSON_IsObject(m) || !tpl_get_str(m, "role")) {
            tpl_req_free(r);
            return tpl_err(err, FW_ERR_INVALID, "messages[%d]: expected an object with a role", i);
        }
        tpl_msg_developer_as_system(m);
        st = norm_content(m, i, err);
        if (st != FW_OK) {
            tpl_req_free(r);
            return st;
        }
        tc = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
        if (tc && !cJSON_IsNull(tc) && !cJSON_IsArray(tc)) {
            tpl_req_free(r);
            return tpl_err(err, FW_ERR_INVALID, "messages[%d].tool_calls: expected an array", i);
        }
        if (cJSON_IsArray(tc)) {
            cJSON *call;
            cJSON_ArrayForEach(call, tc) {
                if (!cJSON_IsObject(call)) {
                    tpl_req_free(r);
                    return tpl_err(err, FW_ERR_INVALID,
                                   "messages[%d].tool_calls: expected objects", i);
                }
                f = cJSON_GetObjectItemCaseSensitive(call, "function");
                norm_args(cJSON_IsObject(f) ? f : call);
            }
        }
        i++;
    }
    r->tools = cJSON_GetObjectItemCaseSensitive(r->root, "tools");
    if (r->tools && !cJSON_IsNull(r->tools) && !cJSON_IsArray(r->tools)) {
        tpl_req_free(r);
        return tpl_err(err, FW_ERR_INVALID, "tools: expected an array or null");
    }
    if (!cJSON_IsArray(r->tools) || !r->tools->child)
        r->tools = NULL;
    r->kwargs = cJSON_GetObjectItemCaseSensitive(r->root, "kwargs");
    if (!cJSON_IsObject(r->kwargs))
        r->kwargs = NULL;
    agp = cJSON_GetObjectItemCaseSensitive(r->root, "add_generation_prompt");
    r->add_generation_prompt = agp ? cJSON_IsTrue(agp) : 1;
    return FW_OK;
}

void tpl_req_free(tpl_req *r)
{
    cJSON_Delete(r->root);
    memset(r, 0, sizeof *r);
}

void tpl_out_init(tpl_out *o, const fw_prompt_sink *sink)
{
    o->sink = sink;
    fw_buf_init(&o->text);
    o->st = FW_OK;
}

void tpl_out_text(tpl_out *o, const char *s, size_t n) { fw_buf_append(&o->text, s, n); }

void tpl_out_puts(tpl_out *o, const char *s) { fw_buf_append(&o->text, s, strlen(s)); }

static void flush(tpl_out *o)
{
    if (o->text.oom && o->st == FW_OK)
        o->st = FW_ERR_NOMEM;
    if (o->st == FW_OK && o->text.len > 0)
        o->st = o->sink->text(o->sink->ctx, o->text.data, o->text.len);
    fw_buf_reset(&o->text);
}

void tpl_out_special(tpl_out *o, const char *token)
{
    flush(o);
    if (o->st == FW_OK)
        o->st = o->sink->special(o->sink->ctx, token);
}

fw_status tpl_out_finish(tpl_out *o, fw_err *err)
{
    fw_status st;

    flush(o);
    fw_buf_deinit(&o->text);
    st = o->st;
    if (st != FW_OK)
        tpl_err(err, st, "prompt sink failed (%d)", (int)st);
    return st;
}

fw_status tpl_req_reasoning(const tpl_req *r, int *think, const char **history, fw_err *err)
{
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(r->root, "reasoning_effort");
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(r->root, "thinking");
    const cJSON *rh = cJSON_GetObjectItemCaseSensitive(r->root, "reasoning_history");

    *think = -1;
    *history = NULL;
    if (re && cJSON_IsNull(re))
        re = NULL;
    if (th && cJSON_IsNull(th))
        th = NULL;
    if (re && th)
        return tpl_err(err, FW_ERR_INVALID,
                       "reasoning_effort and thinking cannot be given together");
    if (re) {
        if (cJSON_IsBool(re)) {
            *think = cJSON_IsTrue(re);
        } else if (cJSON_IsNumber(re)) {
            if (re->valuedouble < 1)
                return tpl_err(err, FW_ERR_INVALID, "reasoning_effort: expected a positive integer");
            *think = 1;
        } else if (cJSON_IsString(re)) {
            if (!strcmp(re->valuestring, "none"))
                *think = 0;
            else if (!strcmp(re->valuestring, "low") || !strcmp(re->valuestring, "medium") ||
                     !strcmp(re->valuestring, "high"))
                *think = 1;
            else
                return tpl_err(err, FW_ERR_INVALID, "Invalid reasoning effort: %.64s",
                               re->valuestring);
        } else {
            return tpl_err(err, FW_ERR_INVALID, "reasoning_effort: expected string, integer or bool");
        }
    }
    if (th) {
        const char *type = tpl_get_str(th, "type");
        if (!cJSON_IsObject(th) || !type)
            return tpl_err(err, FW_ERR_INVALID, "thinking: expected {\"type\": ...}");
        if (!strcmp(type, "enabled"))
            *think = 1;
        else if (!strcmp(type, "disabled"))
            *think = 0;
        else
            return tpl_err(err, FW_ERR_INVALID, "thinking.type: expected enabled or disabled");
    }
    if (rh && !cJSON_IsNull(rh)) {
        if (!cJSON_IsString(rh) ||
            (strcmp(rh->valuestring, "disabled") && strcmp(rh->valuestring, "interleaved") &&
             strcmp(rh->valuestring, "preserved")))
            return tpl_err(err, FW_ERR_INVALID,
                           "reasoning_history: expected disabled, interleaved or preserved");
        *history = rh->valuestring;
    }
    return FW_OK;
}

void tpl_req_strip_reasoning(tpl_req *r)
{
    cJSON *m;
    cJSON_ArrayForEach(m, r->messages) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "reasoning_content");
    }
}

int tpl_kwarg_bool(const tpl_req *r, const char *key, int *is_false)
{
    const cJSON *v = r->kwargs ? cJSON_GetObjectItemCaseSensitive(r->kwargs, key) : NULL;

    *is_false = v && cJSON_IsFalse(v);
    if (!v)
        return -1;
    return tpl_get_bool(r->kwargs, key, 0);
}

tpl_slice tpl_slice_of(const char *s)
{
    tpl_slice r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

static int py_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

tpl_slice tpl_strip(tpl_slice s)
{
    while (s.n > 0 && py_ws(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && py_ws(s.p[s.n - 1]))
        s.n--;
    return s;
}

tpl_slice tpl_strip_chars(tpl_slice s, char c, int left, int right)
{
    while (left && s.n > 0 && s.p[0] == c) {
        s.p++;
        s.n--;
    }
    while (right && s.n > 0 && s.p[s.n - 1] == c)
        s.n--;
    return s;
}

static const char *slice_find(tpl_slice s, const char *needle)
{
    size_t m = strlen(needle), i;
    if (m == 0 || m > s.n)
        return NULL;
    for (i = 0; i + m <= s.n; i++)
        if (memcmp(s.p + i, needle, m) == 0)
            return s.p + i;
    return NULL;
}

static const char *slice_rfind(tpl_slice s, const char *needle)
{
    size_t m = strlen(needle), i;
    if (m == 0 || m > s.n)
        return NULL;
    for (i = s.n - m + 1; i-- > 0;)
        if (memcmp(s.p + i, needle, m) == 0)
            return s.p + i;
    return NULL;
}

int tpl_slice_contains(tpl_slice s, const char *needle) { return slice_find(s, needle) != NULL; }

int tpl_split_think(tpl_slice content, const char *open, const char *close, tpl_slice *reasoning,
                    tpl_slice *rest)
{
    const char *first = slice_find(content, close), *last, *o;
    tpl_slice head;

    if (!first)
        return 0;
    last = slice_rfind(content, close);
    head.p = content.p;
    head.n = (size_t)(first - content.p);
    head = tpl_strip_chars(head, '\n', 0, 1);
    o = slice_rfind(head, open);
    if (o) {
        head.n -= (size_t)(o - head.p) + strlen(open);
        head.p = o + strlen(open);
    }
    *reasoning = tpl_strip_chars(head, '\n', 1, 0);
    rest->p = last + strlen(close);
    rest->n = content.n - (size_t)(rest->p - content.p);
    *rest = tpl_strip_chars(*rest, '\n', 1, 0);
    return 1;
}

void tpl_out_literal(tpl_out *o, const char *s, const char *const *specials)
{
    size_t n = strlen(s);

    while (n > 0) {
        int which;
        size_t off = tpl_find_any(s, n, specials, &which);
        tpl_out_text(o, s, off);
        if (which < 0)
            return;
        tpl_out_special(o, specials[which]);
        off += strlen(specials[which]);
        s += off;
        n -= off;
    }
}
