/* core/api_request.c -- ChatCompletionRequest validation and normalisation.
 *
 * Two phases.  validate_*() walks the parsed body in the spec's field order,
 * checks types, ranges, enums and unknown fields the way pydantic v2 does in
 * lax mode (FastAPI's default), collects every error and keeps only borrowed
 * cJSON pointers and scalars.  Only when nothing failed does build_*()
 * allocate the owned fw_chat_request and the template document.
 *
 * Pydantic conventions reproduced here (docs/api.md has the full list):
 *   - a union that fails reports one error per member, its loc extended with
 *     the member's tag ("str", "list[str]", "literal['auto','none']",
 *     "FunctionSelection"); `X | null` is not a union for this purpose;
 *   - a union tries every member strictly first, then laxly, first success
 *     wins (so "logprobs": true is a bool and "logprobs": 1 an int);
 *   - lax scalars: "5" is an int, "0.5" a float, true an int 1, "yes" a bool;
 *   - field errors come in declaration order, unknown fields after them;
 *   - cross-field checks (mutually exclusive pairs) come last, loc ["body"].
 */
#include "api_request.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_error.h"
#include "json_num.h"

/* ------------------------------------------------------------------------ */
/* Locations and small helpers                                              */

static fw_api_loc at_key(const fw_api_loc *up, const char *key)
{
    fw_api_loc l = {up, key, 0};
    return l;
}

static fw_api_loc at_idx(const fw_api_loc *up, int64_t i)
{
    fw_api_loc l = {up, NULL, i};
    return l;
}

static int is_null(const cJSON *j) { return !j || cJSON_IsNull(j); }

/* The LAST member named key, as Python's json keeps the last duplicate. */
static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *c, *found = NULL;

    for (c = obj ? obj->child : NULL; c; c = c->next)
        if (c->string && strcmp(c->string, key) == 0)
            found = c;
    return found;
}

/* Constraint values as Python prints an int bound: 0, 2, -2, 1024. */
static void fmt_num(char *s, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(s, n, "%.0f", v);
    else
        snprintf(s, n, "%.17g", v);
}

static int one_of(const char *s, const char *const *vals)
{
    int i;
    for (i = 0; vals[i]; i++)
        if (strcmp(s, vals[i]) == 0)
            return i;
    return -1;
}

static void lit_expected(char *s, size_t n, const char *const *vals)
{
    size_t k, used = 0;
    int i, count = 0;

    while (vals[count])
        count++;
    s[0] = '\0';
    for (i = 0; i < count && used < n; i++) {
        const char *sep = i == 0 ? "" : (i == count - 1 ? " or " : ", ");
        k = (size_t)snprintf(s + used, n - used, "%s'%s'", sep, vals[i]);
        used += k;
    }
}

/* "literal['auto','none']": pydantic's tag for a Literal member of a union. */
static void lit_tag(char *s, size_t n, const char *const *vals)
{
    size_t used;
    int i;

    used = (size_t)snprintf(s, n, "literal[");
    for (i = 0; vals[i] && used < n; i++)
        used += (size_t)snprintf(s + used, n - used, "%s'%s'", i ? "," : "", vals[i]);
    if (used < n)
        snprintf(s + used, n - used, "]");
}

/* ------------------------------------------------------------------------ */
/* Scalars (pydantic lax / strict)                                          */

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* s[0..n) as an integer, exactly: [+-]digits, then ".000..." when frac0.
 * 1 = *out set, 0 = not an integer text, -1 = outside int64. */
static int int_exact(const char *s, size_t n, int frac0, int64_t *out)
{
    size_t i = 0;
    int neg = 0, digits = 0, big = 0;
    uint64_t v = 0, limit;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            big = 1;
        else
            v = v * 10 + d;
        digits++;
    }
    if (!digits)
        return 0;
    if (frac0 && i < n && s[i] == '.') {
        for (i++; i < n && s[i] == '0'; i++)
            ;
    }
    if (i != n)
        return 0;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (big || v > limit)
        return -1;
    *out = !neg ? (int64_t)v : v == limit ? INT64_MIN : -(int64_t)v;
    return 1;
}

/* "12", " -3 ", "+7", "5.00" -> integer; 0 when not an integer string. */
static int parse_int_str(const char *s, int64_t *out)
{
    size_t n = strlen(s);

    trim(&s, &n);
    return int_exact(s, n, 1, out) == 1;
}

static int parse_float_str(const char *s, double *out)
{
    size_t n = strlen(s);
    char tmp[128], *end;

    trim(&s, &n);
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    *out = strtod(tmp, &end);
    return *end == '\0';
}

static int v_str(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, const char **out)
{
    if (cJSON_IsString(j)) {
        *out = j->valuestring;
        return 1;
    }
    fw_api_errors_add(e, l, "string_type", "Input should be a valid string");
    return 0;
}

static int v_int(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                 int64_t *out)
{
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        /* an integer literal is read from its text (fw_json_keep_numbers):
         * exact over the whole int64 range, where a double is not */
        int exact = j->valuestring ? int_exact(j->valuestring, strlen(j->valuestring), 0, out) : 0;
        if (exact == 1)
            return 1;
        if (exact < 0) {
            fw_api_errors_add(e, l, "int_parsing_size",
                              "Unable to parse input string as an integer, exceeded maximum size");
            return 0;
        }
        if (!isfinite(d)) {
            fw_api_errors_add(e, l, "finite_number", "Input should be a finite number");
            return 0;
        }
        if (d != floor(d)) {
            fw_api_errors_add(e, l, "int_from_float",
                              "Input should be a valid integer, got a number with a fractional part");
            return 0;
        }
        if (d >= 9.2e18 || d <= -9.2e18) {
            fw_api_errors_add(e, l, "int_parsing_size",
                              "Unable to parse input string as an integer, exceeded maximum size");
            return 0;
        }
        *out = (int64_t)d;
        return 1;
    }
    if (!strict && cJSON_IsBool(j)) {
        *out = cJSON_IsTrue(j) ? 1 : 0;
        return 1;
    }
    if (!strict && cJSON_IsString(j)) {
        if (parse_int_str(j->valuestring, out))
            return 1;
        fw_api_errors_add(e, l, "int_parsing",
                          "Input should be a valid integer, unable to parse string as an integer");
        return 0;
    }
    fw_api_errors_add(e, l, "int_type", "Input should be a valid integer");
    return 0;
}

static int v_float(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                   double *out)
{
    if (cJSON_IsNumber(j)) {
        *out = j->valuedouble;
        return 1;
    }
    if (!strict && cJSON_IsBool(j)) {
        *out = cJSON_IsTrue(j) ? 1.0 : 0.0;
        return 1;
    }
    if (!strict && cJSON_IsString(j)) {
        if (parse_float_str(j->valuestring, out))
            return 1;
        fw_api_errors_add(e, l, "float_parsing",
                          "Input should be a valid number, unable to parse string as a number");
        return 0;
    }
    fw_api_errors_add(e, l, "float_type", "Input should be a valid number");
    return 0;
}

static int v_bool(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict, int *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes", NULL};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no", NULL};

    if (cJSON_IsBool(j)) {
        *out = cJSON_IsTrue(j) ? 1 : 0;
        return 1;
    }
    if (!strict && cJSON_IsNumber(j)) {
        if (j->valuedouble == 0.0 || j->valuedouble == 1.0) {
            *out = j->valuedouble == 1.0;
            return 1;
        }
        fw_api_errors_add(e, l, "bool_parsing",
                          "Input should be a valid boolean, unable to interpret input");
        return 0;
    }
    if (!strict && cJSON_IsString(j)) {
        char low[8];
        size_t i, n = strlen(j->valuestring);
        if (n < sizeof low) {
            for (i = 0; i <= n; i++)
                low[i] = (char)tolower((unsigned char)j->valuestring[i]);
            if (one_of(low, yes) >= 0 || one_of(low, no) >= 0) {
                *out = one_of(low, yes) >= 0;
                return 1;
            }
        }
        fw_api_errors_add(e, l, "bool_parsing",
                          "Input should be a valid boolean, unable to interpret input");
        return 0;
    }
    fw_api_errors_add(e, l, "bool_type", "Input should be a valid boolean");
    return 0;
}

/* A Literal of strings: any other input (any type) is a literal_error. */
static int v_lit(fw_api_errors *e, const fw_api_loc *l, const cJSON *j,
                 const char *const *vals, int *idx)
{
    char exp[256];
    int i;

    if (cJSON_IsString(j) && (i = one_of(j->valuestring, vals)) >= 0) {
        if (idx)
            *idx = i;
        return 1;
    }
    lit_expected(exp, sizeof exp, vals);
    fw_api_errors_add(e, l, "literal_error", "Input should be %s", exp);
    return 0;
}

static int c_range(fw_api_errors *e, const fw_api_loc *l, double v, double lo, double hi)
{
    char num[64];

    if (!(v >= lo)) {
        fmt_num(num, sizeof num, lo);
        fw_api_errors_add(e, l, "greater_than_equal", "Input should be greater than or equal to %s",
                          num);
        return 0;
    }
    if (!(v <= hi)) {
        fmt_num(num, sizeof num, hi);
        fw_api_errors_add(e, l, "less_than_equal", "Input should be less than or equal to %s", num);
        return 0;
    }
    return 1;
}

static int v_dict(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    if (cJSON_IsObject(j))
        return 1;
    fw_api_errors_add(e, l, "dict_type", "Input should be a valid dictionary");
    return 0;
}

static int v_list(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    if (cJSON_IsArray(j))
        return 1;
    fw_api_errors_add(e, l, "list_type", "Input should be a valid list");
    return 0;
}

/* A nested model: must be an object; unknown keys are reported by v_extras. */
static int v_model(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, const char *name)
{
    if (cJSON_IsObject(j))
        return 1;
    fw_api_errors_add(e, l, "model_type", "Input should be a valid dictionary or instance of %s",
                      name);
    return 0;
}

static void v_extras(fw_api_errors *e, const fw_api_loc *l, const cJSON *obj,
                     const char *const *fields)
{
    const cJSON *c;

    for (c = obj->child; c; c = c->next) {
        if (c->string && one_of(c->string, fields) < 0) {
            fw_api_loc k = at_key(l, c->string);
            fw_api_errors_add(e, &k, "extra_forbidden", "Extra inputs are not permitted");
        }
    }
}

static void missing(fw_api_errors *e, const fw_api_loc *l)
{
    fw_api_errors_add(e, l, "missing", "Field required");
}

/* Field KEY of object j, required, one of vals (its index in *idx when idx). */
static void req_lit(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, const char *key,
                    const char *const *vals, int *idx)
{
    fw_api_loc k = at_key(l, key);
    const cJSON *v = get(j, key);

    if (!v)
        missing(e, &k);
    else
        v_lit(e, &k, v, vals, idx);
}

/* Field KEY of object j, required, a string. */
static void req_str(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, const char *key)
{
    fw_api_loc k = at_key(l, key);
    const cJSON *v = get(j, key);
    const char *s;

    if (!v)
        missing(e, &k);
    else
        v_str(e, &k, v, &s);
}

/* Field KEY of object j, optional (null is absent), a string. */
static void opt_key_str(fw_api_errors *e, const fw_api_loc *l, const cJSON *j,
                        const char *key)
{
    const cJSON *v = get(j, key);
    const char *s;

    if (!is_null(v)) {
        fw_api_loc k = at_key(l, key);
        v_str(e, &k, v, &s);
    }
}

/* Each item of the list j through item(), located by its index. */
static void v_items(fw_api_errors *e, const fw_api_loc *l, const cJSON *j,
                    void (*item)(fw_api_errors *e, const fw_api_loc *l, const cJSON *j))
{
    const cJSON *c;
    int i = 0;

    for (c = j->child; c; c = c->next, i++) {
        fw_api_loc k = at_idx(l, i);
        item(e, &k, c);
    }
}

/* ------------------------------------------------------------------------ */
/* Unions                                                                   */

/* A union member validator: returns 1 when it added no error. */
typedef int (*member_fn)(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                         void *out);

typedef struct member {
    const char *tag;
    member_fn fn;
} member;

/* Index of the member that accepted j, or -1 after adding every member's errors. */
static int v_union(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, const member *m, int n,
                   void *out)
{
    fw_api_errors tmp;
    int pass, i, which = -1;

    fw_api_errors_init(&tmp);
    for (pass = 1; pass >= 0 && which < 0; pass--) {
        fw_api_errors_deinit(&tmp);
        fw_api_errors_init(&tmp);
        for (i = 0; i < n; i++) {
            fw_api_loc t = at_key(l, m[i].tag);
            int32_t n0 = tmp.n;
            if (m[i].fn(&tmp, &t, j, pass, out) && tmp.n == n0) {
                which = i;
                break;
            }
        }
    }
    if (which < 0)
        fw_api_errors_merge(e, &tmp);
    fw_api_errors_deinit(&tmp);
    return which;
}

static int m_str(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict, void *out)
{
    (void)strict, (void)out;
    return cJSON_IsString(j) ? 1 : (fw_api_errors_add(e, l, "string_type",
                                                      "Input should be a valid string"), 0);
}

static int m_dict(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict, void *out)
{
    (void)strict, (void)out;
    return v_dict(e, l, j);
}

static void v_item_str(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    const char *s;
    v_str(e, l, j, &s);
}

static int m_list_str(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                      void *out)
{
    int32_t n0 = e->n;
    int count;

    (void)strict, (void)out;
    if (!v_list(e, l, j))
        return 0;
    v_items(e, l, j, v_item_str);
    count = cJSON_GetArraySize(j);
    if (e->n == n0 && count > FW_CHAT_MAX_STOP)
        fw_api_errors_add(e, l, "too_long",
                          "List should have at most %d items after validation, not %d",
                          FW_CHAT_MAX_STOP, count);
    return e->n == n0;
}

static int m_list_int(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                      void *out)
{
    const cJSON *c;
    int32_t n0 = e->n;
    int i = 0;

    (void)out;
    if (!v_list(e, l, j))
        return 0;
    for (c = j->child; c; c = c->next, i++) {
        fw_api_loc k = at_idx(l, i);
        int64_t v;
        if (v_int(e, &k, c, strict, &v))
            c_range(e, &k, (double)v, 0, 2147483647.0);
    }
    return e->n == n0;
}

/* ------------------------------------------------------------------------ */
/* Nested models                                                            */

/* ChatMessageContent: {type, text, image_url}. */
static void v_content_part(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    static const char *const fields[] = {"type", "text", "image_url", NULL};
    static const char *const url_fields[] = {"url", "detail", NULL};
    const cJSON *v;
    const char *s;

    if (!v_model(e, l, j, "ChatMessageContent"))
        return;
    req_str(e, l, j, "type");
    opt_key_str(e, l, j, "text");
    if (!is_null(v = get(j, "image_url"))) {
        fw_api_loc k = at_key(l, "image_url");
        if (v_model(e, &k, v, "ChatMessageContentImageURL")) {
            const cJSON *u = get(v, "url"), *d = get(v, "detail");
            fw_api_loc ku = at_key(&k, "url"), kd = at_key(&k, "detail");
            if (!u)
                missing(e, &ku);
            else
                v_str(e, &ku, u, &s);
            if (!is_null(d))
                v_str(e, &kd, d, &s);
            v_extras(e, &k, v, url_fields);
        }
    }
    v_extras(e, l, j, fields);
}

static int m_list_parts(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                        void *out)
{
    int32_t n0 = e->n;

    (void)strict, (void)out;
    if (!v_list(e, l, j))
        return 0;
    v_items(e, l, j, v_content_part);
    return e->n == n0;
}

static const member content_members[] = {
    {"str", m_str},
    {"list[ChatMessageContent]", m_list_parts},
};

static const member str_or_dict[] = {
    {"str", m_str},
    {"dict[str,any]", m_dict},
};

/* Text parts only: an image part is rejected (text-only models). */
static void check_parts(fw_api_errors *e, const fw_api_loc *l, const cJSON *parts)
{
    const cJSON *c;
    int i = 0;

    for (c = parts->child; c; c = c->next, i++) {
        const char *type = cJSON_GetStringValue(get(c, "type"));
        fw_api_loc k = at_idx(l, i);
        if (type && strcmp(type, "text") == 0)
            continue;
        if (type && strcmp(type, "image_url") == 0)
            fw_api_errors_add(e, &k, "value_error",
                              "Value error, image_url content parts are not supported: "
                              "this server runs text-only models");
        else
            fw_api_errors_add(e, &k, "value_error",
                              "Value error, unsupported content part type '%s'; expected 'text'",
                              type ? type : "");
    }
}

/* A JSON object given as text (tool-call arguments, schemas): 1 if it parses
 * to an object, or is empty/whitespace (means {}) when empty_ok. */
static int json_object_text(const char *s, int empty_ok)
{
    cJSON *p;
    int ok;
    size_t n = strlen(s);

    trim(&s, &n);
    if (n == 0)
        return empty_ok;
    p = cJSON_ParseWithLength(s, n);
    ok = p && cJSON_IsObject(p);
    cJSON_Delete(p);
    return ok;
}

/* ChatCompletionMessageToolCallFunction: {name, arguments}. */
static int m_call_function(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                           void *out)
{
    static const char *const fields[] = {"name", "arguments", NULL};
    int32_t n0 = e->n;
    const cJSON *v;

    (void)strict, (void)out;
    if (!v_model(e, l, j, "ChatCompletionMessageToolCallFunction"))
        return 0;
    opt_key_str(e, l, j, "name");
    if (!is_null(v = get(j, "arguments"))) {
        fw_api_loc k = at_key(l, "arguments");
        v_union(e, &k, v, str_or_dict, 2, NULL);
    }
    v_extras(e, l, j, fields);
    return e->n == n0;
}

static const member call_function_members[] = {
    {"ChatCompletionMessageToolCallFunction", m_call_function},
    {"str", m_str},
};

/* ChatCompletionMessageToolCall: {id, type, function}. */
static void v_tool_call(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    static const char *const fields[] = {"id", "type", "function", NULL};
    const cJSON *v;
    const char *s;

    if (!v_model(e, l, j, "ChatCompletionMessageToolCall"))
        return;
    opt_key_str(e, l, j, "id");
    if ((v = get(j, "type"))) {
        fw_api_loc k = at_key(l, "type");
        if (v_str(e, &k, v, &s) && strcmp(s, "function") != 0)
            fw_api_errors_add(e, &k, "value_error",
                              "Value error, only tool calls of type 'function' are supported");
    }
    {
        fw_api_loc k = at_key(l, "function");
        const cJSON *args;
        if (!(v = get(j, "function"))) {
            missing(e, &k);
        } else if (v_union(e, &k, v, call_function_members, 2, NULL) == 0 &&
                   cJSON_IsString(args = get(v, "arguments")) &&
                   !json_object_text(args->valuestring, 1)) {
            /* Clients send arguments as JSON text; templates need the object. */
            fw_api_loc ka = at_key(&k, "arguments");
            fw_api_errors_add(e, &ka, "value_error",
                              "Value error, arguments must be a JSON object");
        }
    }
    v_extras(e, l, j, fields);
}

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool",
                                    "function", NULL};

/* ChatMessage: {role, content, reasoning_content, tool_calls, tool_call_id}. */
static void v_message(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    static const char *const fields[] = {"role", "content", "reasoning_content", "tool_calls",
                                         "tool_call_id", NULL};
    const cJSON *v;

    if (!v_model(e, l, j, "ChatMessage"))
        return;
    req_lit(e, l, j, "role", roles, NULL);
    if (!is_null(v = get(j, "content"))) {
        fw_api_loc k = at_key(l, "content");
        if (v_union(e, &k, v, content_members, 2, NULL) == 1)
            check_parts(e, &k, v);
    }
    opt_key_str(e, l, j, "reasoning_content");
    if (!is_null(v = get(j, "tool_calls"))) {
        fw_api_loc k = at_key(l, "tool_calls");
        if (v_list(e, &k, v))
            v_items(e, &k, v, v_tool_call);
    }
    opt_key_str(e, l, j, "tool_call_id");
    v_extras(e, l, j, fields);
}

/* Function names: ^[a-zA-Z0-9_-]{1,64}$ (the spec's rule for names). */
static void check_function_name(fw_api_errors *e, const fw_api_loc *l, const char *s)
{
    size_t i, n = strlen(s);
    int ok = n >= 1 && n <= 64;

    for (i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-';
    if (!ok)
        fw_api_errors_add(e, l, "string_pattern_mismatch",
                          "String should match pattern '^[a-zA-Z0-9_-]{1,64}$'");
}

/* ChatCompletionFunction: {name, description, parameters, strict}. */
static void v_function(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    static const char *const fields[] = {"name", "description", "parameters", "strict", NULL};
    const cJSON *v;
    const char *s;
    int b;

    if (!v_model(e, l, j, "ChatCompletionFunction"))
        return;
    {
        fw_api_loc k = at_key(l, "name");
        if (!(v = get(j, "name")))
            missing(e, &k);
        else if (v_str(e, &k, v, &s))
            check_function_name(e, &k, s);
    }
    opt_key_str(e, l, j, "description");
    if ((v = get(j, "parameters"))) {
        fw_api_loc k = at_key(l, "parameters");
        v_dict(e, &k, v);
    }
    if (!is_null(v = get(j, "strict"))) {
        fw_api_loc k = at_key(l, "strict");
        v_bool(e, &k, v, 0, &b);
    }
    v_extras(e, l, j, fields);
}

/* ChatCompletionTool: {type: "function", function}. */
static void v_tool(fw_api_errors *e, const fw_api_loc *l, const cJSON *j)
{
    static const char *const fields[] = {"type", "function", NULL};
    static const char *const fn_type[] = {"function", NULL};
    const cJSON *v;

    if (!v_model(e, l, j, "ChatCompletionTool"))
        return;
    req_lit(e, l, j, "type", fn_type, NULL);
    {
        fw_api_loc k = at_key(l, "function");
        v = get(j, "function");
        if (is_null(v))
            missing(e, &k); /* "Required for function tools." */
        else
            v_function(e, &k, v);
    }
    v_extras(e, l, j, fields);
}

/* FunctionNameSpec: {name}. */
static int m_name_spec(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                       void *out)
{
    static const char *const fields[] = {"name", NULL};
    int32_t n0 = e->n;

    (void)strict, (void)out;
    if (!v_model(e, l, j, "FunctionNameSpec"))
        return 0;
    req_str(e, l, j, "name");
    v_extras(e, l, j, fields);
    return e->n == n0;
}

/* FunctionSelection: {type: "function", function: {name}}; the Fireworks
 * form {type: "function", name} is accepted too (see the spec's tool_choice). */
static int m_function_selection(fw_api_errors *e, const fw_api_loc *l, const cJSON *j,
                                int strict, void *out)
{
    static const char *const fields[] = {"type", "function", "name", NULL};
    static const char *const fn_type[] = {"function", NULL};
    int32_t n0 = e->n;
    const cJSON *v;

    if (!v_model(e, l, j, "FunctionSelection"))
        return 0;
    req_lit(e, l, j, "type", fn_type, NULL);
    if (!is_null(v = get(j, "function"))) {
        fw_api_loc k = at_key(l, "function");
        m_name_spec(e, &k, v, strict, out);
    }
    opt_key_str(e, l, j, "name");
    v_extras(e, l, j, fields);
    if (e->n == n0 && is_null(get(j, "name")) && is_null(get(j, "function")))
        fw_api_errors_add(e, l, "value_error",
                          "Value error, a function tool_choice needs a function name");
    return e->n == n0;
}

static const char *const tool_choice_vals[] = {"auto", "none", "any", "required", NULL};
static const char *const function_call_vals[] = {"auto", "none", NULL};

static int m_lit_tool_choice(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                             void *out)
{
    (void)strict, (void)out;
    return v_lit(e, l, j, tool_choice_vals, NULL);
}

static int m_lit_function_call(fw_api_errors *e, const fw_api_loc *l, const cJSON *j,
                               int strict, void *out)
{
    (void)strict, (void)out;
    return v_lit(e, l, j, function_call_vals, NULL);
}

/* ThinkingConfigEnabled / ThinkingConfigDisabled. */
static int m_thinking(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                      int enabled)
{
    static const char *const en_fields[] = {"type", "budget_tokens", NULL};
    static const char *const dis_fields[] = {"type", NULL};
    static const char *const en_type[] = {"enabled", NULL};
    static const char *const dis_type[] = {"disabled", NULL};
    int32_t n0 = e->n;
    const cJSON *v;

    if (!v_model(e, l, j, enabled ? "ThinkingConfigEnabled" : "ThinkingConfigDisabled"))
        return 0;
    req_lit(e, l, j, "type", enabled ? en_type : dis_type, NULL);
    if (enabled && !is_null(v = get(j, "budget_tokens"))) {
        fw_api_loc k = at_key(l, "budget_tokens");
        int64_t b;
        if (v_int(e, &k, v, strict, &b))
            c_range(e, &k, (double)b, 1024, 1e18);
    }
    v_extras(e, l, j, enabled ? en_fields : dis_fields);
    return e->n == n0;
}

static int m_thinking_en(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                         void *out)
{
    (void)out;
    return m_thinking(e, l, j, strict, 1);
}

static int m_thinking_dis(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                          void *out)
{
    (void)out;
    return m_thinking(e, l, j, strict, 0);
}

/* PredictedOutput: {content: str | list[ChatMessageContent], type: "content"}. */
static int m_predicted(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                       void *out)
{
    static const char *const fields[] = {"content", "type", NULL};
    static const char *const content_type[] = {"content", NULL};
    int32_t n0 = e->n;
    const cJSON *v;

    (void)strict, (void)out;
    if (!v_model(e, l, j, "PredictedOutput"))
        return 0;
    {
        fw_api_loc k = at_key(l, "content");
        if (!(v = get(j, "content")))
            missing(e, &k);
        else if (v_union(e, &k, v, content_members, 2, NULL) == 1)
            check_parts(e, &k, v);
    }
    if ((v = get(j, "type"))) {
        fw_api_loc k = at_key(l, "type");
        v_lit(e, &k, v, content_type, NULL);
    }
    v_extras(e, l, j, fields);
    return e->n == n0;
}

/* ------------------------------------------------------------------------ */
/* The request                                                              */

/* Scalar results of logprobs / reasoning_effort unions. */
typedef struct scalar_out {
    int64_t i;
    int b;
} scalar_out;

static int m_logprobs_int(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                          void *out)
{
    scalar_out *o = out;
    return v_int(e, l, j, strict, &o->i) && c_range(e, l, (double)o->i, 0, 5);
}

static int m_int(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict, void *out)
{
    scalar_out *o = out;
    return v_int(e, l, j, strict, &o->i);
}

static int m_bool(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict, void *out)
{
    scalar_out *o = out;
    return v_bool(e, l, j, strict, &o->b);
}

static const char *const effort_vals[] = {"low", "medium", "high", "none", NULL};

static int m_lit_effort(fw_api_errors *e, const fw_api_loc *l, const cJSON *j, int strict,
                        void *out)
{
    scalar_out *o = out;
    int idx;
    (void)strict;
    if (!v_lit(e, l, j, effort_vals, &idx))
        return 0;
    o->i = idx;
    return 1;
}

/* What validation found, borrowed from the parsed body; build() copies it. */
typedef struct req_view {
    const cJSON *root, *messages, *tools, *functions, *tool_choice, *function_call;
    const cJSON *response_format, *stop, *logit_bias, *speculation, *prediction, *metadata;
    const cJSON *thinking;
    int tool_choice_member, function_call_member, speculation_member, prediction_member;
    int thinking_member;
    int effort_member; /* -1 unset, 0 literal, 1 int, 2 bool */
    scalar_out effort;
    int logprobs_member; /* -1 unset, 0 int, 1 bool */
    scalar_out logprobs;
    int64_t top_logprobs; /* -1 unset */
} req_view;

typedef struct vctx {
    fw_api_errors *e;
    fw_chat_request *r;
    req_view *v;
} vctx;

typedef void (*field_fn)(vctx *c, const fw_api_loc *l, const cJSON *j);

/* Typed optional scalars: j is NULL when absent, null counts as absent.  A
 * valid value lands in *out and marks bit (FW_CHAT_SET_*, or 0) in r->set. */
static void opt_float(vctx *c, const fw_api_loc *l, const cJSON *j, double lo, double hi,
                      float *out, uint32_t bit)
{
    double d;
    if (!is_null(j) && v_float(c->e, l, j, 0, &d) && c_range(c->e, l, d, lo, hi))
        *out = (float)d, c->r->set |= bit;
}

static void opt_int(vctx *c, const fw_api_loc *l, const cJSON *j, double lo, double hi,
                    int64_t *out, uint32_t bit)
{
    int64_t i;
    if (!is_null(j) && v_int(c->e, l, j, 0, &i) && c_range(c->e, l, (double)i, lo, hi))
        *out = i, c->r->set |= bit;
}

static void opt_bool(vctx *c, const fw_api_loc *l, const cJSON *j, int *out)
{
    int b;
    if (!is_null(j) && v_bool(c->e, l, j, 0, &b))
        *out = b;
}

static void opt_str(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    const char *s;
    if (!is_null(j))
        v_str(c->e, l, j, &s);
}

#define BIG 9.2e18

static void f_model(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    const char *s;
    if (!j)
        missing(c->e, l);
    else
        v_str(c->e, l, j, &s);
}

static void f_messages(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    if (!j) {
        missing(c->e, l);
        return;
    }
    if (!v_list(c->e, l, j))
        return;
    if (!j->child) {
        fw_api_errors_add(c->e, l, "too_short",
                          "List should have at least 1 item after validation, not 0");
        return;
    }
    v_items(c->e, l, j, v_message);
    c->v->messages = j;
}

static void f_tools(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    if (!j || !v_list(c->e, l, j))
        return;
    v_items(c->e, l, j, v_tool);
    c->v->tools = j;
}

static void f_functions(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    if (!j || !v_list(c->e, l, j))
        return;
    v_items(c->e, l, j, v_function);
    c->v->functions = j;
}

static void f_tool_choice(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    char tag[96];
    member m[2] = {{tag, m_lit_tool_choice}, {"FunctionSelection", m_function_selection}};

    if (!j)
        return;
    lit_tag(tag, sizeof tag, tool_choice_vals);
    c->v->tool_choice_member = v_union(c->e, l, j, m, 2, NULL);
    c->v->tool_choice = j;
}

static void f_function_call(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    char tag[96];
    member m[2] = {{tag, m_lit_function_call}, {"FunctionNameSpec", m_name_spec}};

    if (is_null(j))
        return;
    lit_tag(tag, sizeof tag, function_call_vals);
    c->v->function_call_member = v_union(c->e, l, j, m, 2, NULL);
    c->v->function_call = j;
}

static void f_stream(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_bool(c, l, j, &c->r->stream);
}

/* ResponseFormat: {type, schema, grammar, json_schema}. */
static void f_response_format(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const char *const fields[] = {"type", "schema", "grammar", "json_schema", NULL};
    static const char *const kinds[] = {"json_object", "json_schema", "grammar", "text", NULL};
    fw_api_errors *e = c->e;
    int32_t n0 = e->n;
    const cJSON *v;
    int kind = -1;

    if (is_null(j) || !v_model(e, l, j, "ResponseFormat"))
        return;
    req_lit(e, l, j, "type", kinds, &kind);
    if (!is_null(v = get(j, "schema"))) {
        fw_api_loc k = at_key(l, "schema");
        v_union(e, &k, v, str_or_dict, 2, NULL);
    }
    opt_key_str(e, l, j, "grammar");
    if (!is_null(v = get(j, "json_schema"))) {
        fw_api_loc k = at_key(l, "json_schema");
        v_union(e, &k, v, str_or_dict, 2, NULL);
    }
    v_extras(e, l, j, fields);
    if (e->n != n0)
        return;
    /* Semantics: the payload each kind needs, and schema text that parses. */
    {
        const cJSON *schema = get(j, "json_schema");
        const char *key = "json_schema";
        if (is_null(schema))
            schema = get(j, "schema"), key = "schema";
        if (kind == 1 && is_null(schema))
            fw_api_errors_add(e, l, "value_error",
                              "Value error, response_format of type json_schema needs a "
                              "json_schema");
        if (kind == 2 && is_null(get(j, "grammar")))
            fw_api_errors_add(e, l, "value_error",
                              "Value error, response_format of type grammar needs a grammar");
        if ((kind == 0 || kind == 1) && cJSON_IsString(schema) &&
            !json_object_text(schema->valuestring, 0)) {
            fw_api_loc k = at_key(l, key);
            fw_api_errors_add(e, &k, "value_error",
                              "Value error, the schema is not a valid JSON object");
        }
    }
    if (e->n == n0) {
        c->v->response_format = j;
        c->r->response_format = kind == 0   ? FW_RF_JSON_OBJECT
                                : kind == 1 ? FW_RF_JSON_SCHEMA
                                : kind == 2 ? FW_RF_GRAMMAR
                                            : FW_RF_TEXT;
    }
}

static void f_temperature(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, 0, 2, &c->r->sampling.temperature, FW_CHAT_SET_TEMPERATURE);
}

static void f_top_k(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    int64_t i = -1;
    opt_int(c, l, j, 0, 100, &i, FW_CHAT_SET_TOP_K);
    if (i >= 0)
        c->r->sampling.top_k = (int32_t)i;
}

static void f_str_field(vctx *c, const fw_api_loc *l, const cJSON *j) { opt_str(c, l, j); }

static void f_raw_output(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_bool(c, l, j, &c->r->raw_output);
}

static void f_perf(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_bool(c, l, j, &c->r->perf_metrics_in_response);
}

static void f_n(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    int64_t i;
    if (j && v_int(c->e, l, j, 0, &i) && c_range(c->e, l, (double)i, 1, FW_CHAT_MAX_N))
        c->r->n = (int)i;
}

static void f_stop(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const member m[] = {{"str", m_str}, {"list[str]", m_list_str}};
    if (!is_null(j) && v_union(c->e, l, j, m, 2, NULL) >= 0)
        c->v->stop = j;
}

static void f_max_tokens(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_int(c, l, j, 0, BIG, &c->r->max_tokens, FW_CHAT_SET_MAX_TOKENS);
}

static void f_top_p(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, 0, 1, &c->r->sampling.top_p, FW_CHAT_SET_TOP_P);
}

static void f_min_p(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, 0, 1, &c->r->sampling.min_p, FW_CHAT_SET_MIN_P);
}

static void f_typical_p(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, 0, 1, &c->r->sampling.typical_p, FW_CHAT_SET_TYPICAL_P);
}

static void f_frequency_penalty(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, -2, 2, &c->r->sampling.frequency_penalty, FW_CHAT_SET_FREQUENCY_PENALTY);
}

static void f_presence_penalty(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, -2, 2, &c->r->sampling.presence_penalty, FW_CHAT_SET_PRESENCE_PENALTY);
}

static void f_repetition_penalty(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, 0, 2, &c->r->sampling.repetition_penalty, FW_CHAT_SET_REPETITION_PENALTY);
}

/* Mirostat: no documented range; finite values only. */
static void f_mirostat_target(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, -1e30, 1e30, &c->r->sampling.mirostat_target, FW_CHAT_SET_MIROSTAT);
}

static void f_mirostat_lr(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_float(c, l, j, -1e30, 1e30, &c->r->sampling.mirostat_lr, 0);
}

static void f_seed(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    int64_t i;
    if (!is_null(j) && v_int(c->e, l, j, 0, &i)) {
        c->r->sampling.seed = (uint64_t)i;
        c->r->sampling.has_seed = 1;
        c->r->set |= FW_CHAT_SET_SEED;
    }
}

static void f_logprobs(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const member m[] = {{"int", m_logprobs_int}, {"bool", m_bool}};
    if (!is_null(j))
        c->v->logprobs_member = v_union(c->e, l, j, m, 2, &c->v->logprobs);
}

static void f_top_logprobs(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_int(c, l, j, 0, FW_MAX_TOP_LOGPROBS, &c->v->top_logprobs, 0);
}

static void f_echo(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_bool(c, l, j, &c->r->echo);
}

static void f_echo_last(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_int(c, l, j, 0, BIG, &c->r->echo_last, 0);
}

static void f_ignore_eos(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    int b;
    if (j && v_bool(c->e, l, j, 0, &b))
        c->r->ignore_eos = c->r->sampling.ignore_eos = b;
}

static void f_ctx_behavior(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const char *const vals[] = {"error", "truncate", NULL};
    int idx;
    if (j && v_lit(c->e, l, j, vals, &idx))
        c->r->context_length_exceeded = idx == 0 ? FW_CTX_ERROR : FW_CTX_TRUNCATE;
}

/* dict[int >= 0, -100 <= float <= 100] */
static void f_logit_bias(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    const cJSON *kv;
    int32_t n0 = c->e->n;

    if (is_null(j) || !v_dict(c->e, l, j))
        return;
    for (kv = j->child; kv; kv = kv->next) {
        fw_api_loc k = at_key(l, kv->string);
        fw_api_loc kk = at_key(&k, "[key]");
        int64_t tok;
        double bias;
        if (!parse_int_str(kv->string, &tok))
            fw_api_errors_add(c->e, &kk, "int_parsing",
                              "Input should be a valid integer, unable to parse string as an "
                              "integer");
        else
            c_range(c->e, &kk, (double)tok, 0, 2147483647.0);
        if (v_float(c->e, &k, kv, 0, &bias))
            c_range(c->e, &k, bias, -100, 100);
    }
    if (c->e->n == n0)
        c->v->logit_bias = j;
}

static void f_speculation(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const member m[] = {{"str", m_str}, {"list[int]", m_list_int}};
    if (is_null(j))
        return;
    c->v->speculation_member = v_union(c->e, l, j, m, 2, NULL);
    c->v->speculation = j;
}

static void f_prediction(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const member m[] = {{"PredictedOutput", m_predicted}, {"str", m_str}};
    if (is_null(j))
        return;
    c->v->prediction_member = v_union(c->e, l, j, m, 2, NULL);
    c->v->prediction = j;
}

static void f_metadata(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    const cJSON *kv;
    if (is_null(j) || !v_dict(c->e, l, j))
        return;
    for (kv = j->child; kv; kv = kv->next) {
        fw_api_loc k = at_key(l, kv->string);
        const char *s;
        v_str(c->e, &k, kv, &s);
    }
    c->v->metadata = j;
}

static void f_reasoning_effort(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    char tag[96];
    member m[3] = {{tag, m_lit_effort}, {"int", m_int}, {"bool", m_bool}};

    if (is_null(j))
        return;
    lit_tag(tag, sizeof tag, effort_vals);
    c->v->effort_member = v_union(c->e, l, j, m, 3, &c->v->effort);
    if (c->v->effort_member < 0)
        c->v->effort_member = -2; /* given but invalid */
    else if (c->v->effort_member == 1 && c->v->effort.i <= 0)
        fw_api_errors_add(c->e, l, "value_error",
                          "Value error, integer reasoning_effort must be positive");
}

static void f_reasoning_history(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const char *const vals[] = {"disabled", "interleaved", "preserved", NULL};
    if (!is_null(j))
        v_lit(c->e, l, j, vals, NULL);
}

static void f_thinking(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    static const member m[] = {{"ThinkingConfigEnabled", m_thinking_en},
                               {"ThinkingConfigDisabled", m_thinking_dis}};
    if (is_null(j))
        return;
    c->v->thinking_member = v_union(c->e, l, j, m, 2, NULL);
    c->v->thinking = j;
}

static void f_return_token_ids(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_bool(c, l, j, &c->r->return_token_ids);
}

static void f_prompt_truncate_len(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    opt_int(c, l, j, 0, BIG, &c->r->prompt_truncate_len, 0);
}

static void f_parallel_tool_calls(vctx *c, const fw_api_loc *l, const cJSON *j)
{
    int b = 1;
    if (!is_null(j) && v_bool(c->e, l, j, 0, &b)) {
        c->r->parallel_tool_calls = b;
        c->r->set |= FW_CHAT_SET_PARALLEL_TOOL_CALLS;
    }
}

/* ChatCompletionRequest, in the spec's declaration order. */
static const struct field {
    const char *name;
    field_fn fn;
} request_fields[] = {
    {"model", f_model},
    {"messages", f_messages},
    {"tools", f_tools},
    {"tool_choice", f_tool_choice},
    {"stream", f_stream},
    {"response_format", f_response_format},
    {"temperature", f_temperature},
    {"top_k", f_top_k},
    {"user", f_str_field},
    {"prompt_cache_isolation_key", f_str_field},
    {"raw_output", f_raw_output},
    {"perf_metrics_in_response", f_perf},
    {"n", f_n},
    {"stop", f_stop},
    {"max_tokens", f_max_tokens},
    {"max_completion_tokens", f_max_tokens},
    {"top_p", f_top_p},
    {"min_p", f_min_p},
    {"typical_p", f_typical_p},
    {"frequency_penalty", f_frequency_penalty},
    {"presence_penalty", f_presence_penalty},
    {"repetition_penalty", f_repetition_penalty},
    {"mirostat_target", f_mirostat_target},
    {"mirostat_lr", f_mirostat_lr},
    {"seed", f_seed},
    {"logprobs", f_logprobs},
    {"top_logprobs", f_top_logprobs},
    {"echo", f_echo},
    {"echo_last", f_echo_last},
    {"ignore_eos", f_ignore_eos},
    {"context_length_exceeded_behavior", f_ctx_behavior},
    {"logit_bias", f_logit_bias},
    {"speculation", f_speculation},
    {"prediction", f_prediction},
    {"metadata", f_metadata},
    {"reasoning_effort", f_reasoning_effort},
    {"reasoning_history", f_reasoning_history},
    {"thinking", f_thinking},
    {"return_token_ids", f_return_token_ids},
    {"functions", f_functions},
    {"prompt_truncate_len", f_prompt_truncate_len},
    {"parallel_tool_calls", f_parallel_tool_calls},
    {"function_call", f_function_call},
};

#define N_FIELDS ((int)(sizeof request_fields / sizeof request_fields[0]))

static int is_field(const char *s)
{
    int i;
    for (i = 0; i < N_FIELDS; i++)
        if (strcmp(s, request_fields[i].name) == 0)
            return 1;
    return 0;
}

static void exclusive(vctx *c, const fw_api_loc *body, const char *a, const char *b)
{
    if (!is_null(get(c->v->root, a)) && !is_null(get(c->v->root, b)))
        fw_api_errors_add(c->e, body, "value_error", "Value error, Cannot specify both %s and %s",
                          a, b);
}

/* The function named by tool_choice / function_call, or NULL. */
static const char *chosen_name(const cJSON *tc)
{
    const cJSON *fn = get(tc, "function");
    const char *s = cJSON_GetStringValue(get(fn, "name"));
    return s ? s : cJSON_GetStringValue(get(tc, "name"));
}

static int tool_declared(const req_view *v, const char *name)
{
    const cJSON *list = v->tools ? v->tools : v->functions, *t;

    for (t = list ? list->child : NULL; t; t = t->next) {
        const cJSON *fn = v->tools ? get(t, "function") : t;
        const char *s = cJSON_GetStringValue(get(fn, "name"));
        if (s && strcmp(s, name) == 0)
            return 1;
    }
    return 0;
}

static void cross_checks(vctx *c, const fw_api_loc *body)
{
    req_view *v = c->v;
    const cJSON *tc = v->tool_choice ? v->tool_choice : v->function_call;
    int which = v->tool_choice ? v->tool_choice_member : v->function_call_member;
    int n_tools = cJSON_GetArraySize(v->tools ? v->tools : v->functions);

    exclusive(c, body, "max_tokens", "max_completion_tokens");
    exclusive(c, body, "thinking", "reasoning_effort");
    exclusive(c, body, "tools", "functions");
    exclusive(c, body, "tool_choice", "function_call");
    exclusive(c, body, "speculation", "prediction");
    if (tc && which == 1) {
        const char *name = chosen_name(tc);
        fw_api_loc k = at_key(body, v->tool_choice ? "tool_choice" : "function_call");
        if (name && !tool_declared(v, name))
            fw_api_errors_add(c->e, &k, "value_error",
                              "Value error, tool_choice names function '%s', which is not in "
                              "tools",
                              name);
    } else if (v->tool_choice && which == 0 && n_tools == 0) {
        const char *s = v->tool_choice->valuestring;
        fw_api_loc k = at_key(body, "tool_choice");
        if (strcmp(s, "required") == 0 || strcmp(s, "any") == 0)
            fw_api_errors_add(c->e, &k, "value_error",
                              "Value error, tool_choice '%s' needs at least one tool", s);
    }
}

static void validate(vctx *c, const cJSON *root)
{
    fw_api_loc body = {NULL, "body", 0};
    const cJSON *kv;
    int i;

    for (i = 0; i < N_FIELDS; i++) {
        fw_api_loc k = at_key(&body, request_fields[i].name);
        request_fields[i].fn(c, &k, get(root, request_fields[i].name));
    }
    for (kv = root->child; kv; kv = kv->next) {
        if (kv->string && !is_field(kv->string)) {
            fw_api_loc k = at_key(&body, kv->string);
            fw_api_errors_add(c->e, &k, "extra_forbidden", "Extra inputs are not permitted");
        }
    }
    cross_checks(c, &body);
}

/* ------------------------------------------------------------------------ */
/* Build: owned request and the template document                           */

static char *dup(const char *s)
{
    size_t n;
    char *p;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *dup_json(const cJSON *j)
{
    return j ? cJSON_PrintUnformatted(j) : NULL;
}

/* Content (string | parts | null) -> one string, text parts joined. */
static cJSON *content_text(const cJSON *content)
{
    fw_buf b;
    const cJSON *p;
    cJSON *s;

    if (cJSON_IsString(content))
        return cJSON_CreateString(content->valuestring);
    fw_buf_init(&b);
    for (p = content ? content->child : NULL; p && cJSON_IsArray(content); p = p->next) {
        const char *t = cJSON_GetStringValue(get(p, "text"));
        if (t)
            fw_buf_puts(&b, t);
    }
    s = cJSON_CreateString(b.data ? b.data : "");
    fw_buf_deinit(&b);
    return b.oom ? (cJSON_Delete(s), NULL) : s;
}

/* Arguments (JSON text | object | null) -> an object. */
static cJSON *arguments_object(const cJSON *args)
{
    if (cJSON_IsObject(args))
        return cJSON_Duplicate(args, 1);
    if (cJSON_IsString(args)) {
        cJSON *p = cJSON_Parse(args->valuestring);
        if (cJSON_IsObject(p))
            return p;
        cJSON_Delete(p);
    }
    return cJSON_CreateObject();
}

static int add(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return 0;
    cJSON_AddItemToObject(obj, key, item);
    return 1;
}

static cJSON *build_message(const cJSON *m)
{
    cJSON *o = cJSON_CreateObject();
    const char *role = cJSON_GetStringValue(get(m, "role"));
    const cJSON *rc = get(m, "reasoning_content"), *calls = get(m, "tool_calls");
    const cJSON *tcid = get(m, "tool_call_id");
    int ok;

    if (!o)
        return NULL;
    if (strcmp(role, "function") == 0)
        role = "tool";
    ok = add(o, "role", cJSON_CreateString(role)) &&
         add(o, "content", content_text(get(m, "content")));
    if (ok && cJSON_IsString(rc))
        ok = add(o, "reasoning_content", cJSON_CreateString(rc->valuestring));
    if (ok && cJSON_IsArray(calls)) {
        cJSON *arr = cJSON_CreateArray();
        const cJSON *tc;
        ok = add(o, "tool_calls", arr);
        for (tc = calls->child; ok && tc; tc = tc->next) {
            const cJSON *fn = get(tc, "function"), *id = get(tc, "id");
            cJSON *t = cJSON_CreateObject(), *f = cJSON_CreateObject();
            const char *name = cJSON_IsString(fn) ? fn->valuestring
                                                  : cJSON_GetStringValue(get(fn, "name"));
            ok = t && f;
            if (ok && cJSON_IsString(id))
                ok = add(t, "id", cJSON_CreateString(id->valuestring));
            ok = ok && add(t, "type", cJSON_CreateString("function")) &&
                 add(f, "name", cJSON_CreateString(name ? name : "")) &&
                 add(f, "arguments", arguments_object(cJSON_IsObject(fn) ? get(fn, "arguments")
                                                                         : NULL));
            if (ok) {
                add(t, "function", f);
                cJSON_AddItemToArray(arr, t);
            } else {
                cJSON_Delete(t);
                cJSON_Delete(f);
            }
        }
    }
    if (ok && cJSON_IsString(tcid))
        ok = add(o, "tool_call_id", cJSON_CreateString(tcid->valuestring));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* [{type: "function", function: {...}}] from tools or deprecated functions. */
static cJSON *build_tools(const req_view *v)
{
    const cJSON *list = v->tools ? v->tools : v->functions, *t;
    cJSON *arr;

    if (!list || !list->child)
        return NULL;
    arr = cJSON_CreateArray();
    for (t = list->child; arr && t; t = t->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON *fn = cJSON_Duplicate(v->tools ? get(t, "function") : t, 1);
        if (!o || !fn || !add(o, "type", cJSON_CreateString("function"))) {
            cJSON_Delete(o);
            cJSON_Delete(fn);
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToObject(o, "function", fn);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* tool_choice / function_call -> kind + name. */
static void build_tool_choice(fw_chat_request *r, const req_view *v)
{
    const cJSON *tc = v->tool_choice ? v->tool_choice : v->function_call;
    const char *s;

    if (!tc)
        return;
    if (cJSON_IsString(tc)) {
        s = tc->valuestring;
        r->tool_choice = strcmp(s, "none") == 0   ? FW_TOOL_CHOICE_NONE
                         : strcmp(s, "auto") == 0 ? FW_TOOL_CHOICE_AUTO
                                                  : FW_TOOL_CHOICE_REQUIRED;
        return;
    }
    r->tool_choice = FW_TOOL_CHOICE_FUNCTION;
    r->tool_choice_name =
        dup(v->tool_choice ? chosen_name(tc) : cJSON_GetStringValue(get(tc, "name")));
}

static cJSON *tool_choice_json(const fw_chat_request *r)
{
    cJSON *o, *f;

    switch (r->tool_choice) {
    case FW_TOOL_CHOICE_NONE: return cJSON_CreateString("none");
    case FW_TOOL_CHOICE_REQUIRED: return cJSON_CreateString("required");
    case FW_TOOL_CHOICE_FUNCTION:
        o = cJSON_CreateObject();
        f = cJSON_CreateObject();
        if (!o || !f || !add(o, "type", cJSON_CreateString("function")) ||
            !add(f, "name", cJSON_CreateString(r->tool_choice_name ? r->tool_choice_name : ""))) {
            cJSON_Delete(o);
            cJSON_Delete(f);
            return NULL;
        }
        cJSON_AddItemToObject(o, "function", f);
        return o;
    default: return cJSON_CreateString("auto");
    }
}

/* The schema or grammar text behind response_format. */
static int build_format(fw_chat_request *r, const req_view *v)
{
    const cJSON *rf = v->response_format, *schema;
    cJSON *parsed = NULL;

    if (!rf || r->response_format == FW_RF_TEXT)
        return 1;
    if (r->response_format == FW_RF_GRAMMAR) {
        r->format_text = dup(cJSON_GetStringValue(get(rf, "grammar")));
        return r->format_text != NULL;
    }
    schema = get(rf, "json_schema");
    if (is_null(schema))
        schema = get(rf, "schema");
    if (is_null(schema))
        return 1; /* json_object without a schema */
    if (cJSON_IsString(schema)) {
        parsed = cJSON_Parse(schema->valuestring);
        schema = parsed;
    }
    /* OpenAI's wrapper {"name", "schema", "strict"} around the schema itself. */
    if (cJSON_IsObject(get(schema, "schema")) &&
        (get(schema, "name") || get(schema, "strict") || get(schema, "description") ||
         cJSON_GetArraySize(schema) == 1))
        schema = get(schema, "schema");
    r->format_text = dup_json(schema);
    cJSON_Delete(parsed);
    return r->format_text != NULL;
}

static int build_speculation(fw_chat_request *r, const req_view *v)
{
    const cJSON *s = v->speculation, *c;
    int i = 0;

    if (v->prediction) {
        cJSON *t = content_text(cJSON_IsString(v->prediction) ? v->prediction
                                                              : get(v->prediction, "content"));
        r->speculation_text = t ? dup(t->valuestring) : NULL;
        cJSON_Delete(t);
        return r->speculation_text != NULL;
    }
    if (!s)
        return 1;
    if (cJSON_IsString(s)) {
        r->speculation_text = dup(s->valuestring);
        return r->speculation_text != NULL;
    }
    r->n_speculation_ids = cJSON_GetArraySize(s);
    r->speculation_ids = calloc((size_t)r->n_speculation_ids + 1, sizeof(int32_t));
    if (!r->speculation_ids)
        return 0;
    for (c = s->child; c; c = c->next, i++) {
        int64_t id = 0;
        if (cJSON_IsString(c))
            parse_int_str(c->valuestring, &id);
        else if (cJSON_IsBool(c))
            id = cJSON_IsTrue(c);
        else
            id = (int64_t)c->valuedouble;
        r->speculation_ids[i] = (int32_t)id;
    }
    return 1;
}

static int build_logit_bias(fw_chat_request *r, const req_view *v)
{
    const cJSON *kv;
    int n = 0;

    if (!v->logit_bias || !v->logit_bias->child)
        return 1;
    r->logit_bias = calloc((size_t)cJSON_GetArraySize(v->logit_bias), sizeof *r->logit_bias);
    if (!r->logit_bias)
        return 0;
    for (kv = v->logit_bias->child; kv; kv = kv->next) {
        int64_t tok = 0;
        double bias = 0;
        parse_int_str(kv->string, &tok);
        if (cJSON_IsNumber(kv))
            bias = kv->valuedouble;
        else if (cJSON_IsBool(kv))
            bias = cJSON_IsTrue(kv);
        else
            parse_float_str(kv->valuestring, &bias);
        r->logit_bias[n].token = (int32_t)tok;
        r->logit_bias[n].bias = (float)bias;
        n++;
    }
    r->n_logit_bias = n;
    r->sampling.logit_bias = r->logit_bias;
    r->sampling.n_logit_bias = n;
    return 1;
}

static int build_stop(fw_chat_request *r, const req_view *v)
{
    const cJSON *s = v->stop, *c;

    if (!s)
        return 1;
    if (cJSON_IsString(s)) {
        if (!*s->valuestring)
            return 1;
        return (r->stop[r->n_stop++] = dup(s->valuestring)) != NULL;
    }
    for (c = s->child; c; c = c->next) {
        if (!*c->valuestring)
            continue; /* an empty stop string would end every completion at once */
        if (!(r->stop[r->n_stop++] = dup(c->valuestring)))
            return 0;
    }
    return 1;
}

/* reasoning_effort / thinking -> the normalised fields. */
static int build_reasoning(fw_chat_request *r, const req_view *v)
{
    const cJSON *j = v->root;
    const char *hist = cJSON_GetStringValue(get(j, "reasoning_history"));

    if (hist && !(r->reasoning_history = dup(hist)))
        return 0;
    if (v->effort_member == 0)
        r->reasoning_effort = dup(effort_vals[v->effort.i]);
    else if (v->effort_member == 1)
        r->reasoning_budget = v->effort.i, r->reasoning_effort = dup("medium");
    else if (v->effort_member == 2)
        r->reasoning_effort = dup(v->effort.b ? "medium" : "none");
    if (v->thinking) {
        const cJSON *b = get(v->thinking, "budget_tokens");
        r->thinking = v->thinking_member == 0 ? FW_THINKING_ENABLED : FW_THINKING_DISABLED;
        r->reasoning_effort = dup(r->thinking == FW_THINKING_ENABLED ? "medium" : "none");
        if (r->thinking == FW_THINKING_ENABLED && !is_null(b)) {
            int64_t i = 0;
            if (cJSON_IsNumber(b))
                i = (int64_t)b->valuedouble;
            else if (cJSON_IsString(b))
                parse_int_str(b->valuestring, &i);
            r->reasoning_budget = i;
        }
    }
    return v->effort_member < 0 && !v->thinking ? 1 : r->reasoning_effort != NULL;
}

/* {"messages", "tools", "tool_choice", "parallel_tool_calls",
 *  "add_generation_prompt", "reasoning_effort", "thinking", "reasoning_history"} */
static int build_template(fw_chat_request *r, const req_view *v)
{
    cJSON *doc = cJSON_CreateObject(), *msgs = cJSON_CreateArray(), *tools;
    const cJSON *m, *last = NULL;
    int ok = doc && msgs;

    if (ok)
        cJSON_AddItemToObject(doc, "messages", msgs);
    else
        cJSON_Delete(msgs);
    for (m = v->messages->child; ok && m; m = m->next) {
        cJSON *nm = build_message(m);
        ok = nm != NULL;
        if (ok)
            cJSON_AddItemToArray(msgs, nm);
        last = m;
        r->n_messages++;
    }
    tools = ok ? build_tools(v) : NULL;
    if (ok && (v->tools || v->functions) && cJSON_GetArraySize(v->tools ? v->tools : v->functions))
        ok = tools != NULL;
    if (ok) {
        r->n_tools = cJSON_GetArraySize(tools);
        r->tools_json = tools ? cJSON_PrintUnformatted(tools) : NULL;
        cJSON_AddItemToObject(doc, "tools", tools ? tools : cJSON_CreateNull());
    }
    r->add_generation_prompt =
        !(last && strcmp(cJSON_GetStringValue(get(last, "role")), "assistant") == 0);
    ok = ok && add(doc, "add_generation_prompt", cJSON_CreateBool(r->add_generation_prompt)) &&
         add(doc, "tool_choice", tool_choice_json(r)) &&
         add(doc, "parallel_tool_calls", cJSON_CreateBool(r->parallel_tool_calls));
    if (ok && v->effort_member == 1)
        ok = add(doc, "reasoning_effort", cJSON_CreateNumber((double)v->effort.i));
    else if (ok && r->reasoning_effort && !v->thinking)
        ok = add(doc, "reasoning_effort", cJSON_CreateString(r->reasoning_effort));
    if (ok && v->thinking) {
        cJSON *t = cJSON_CreateObject();
        ok = add(doc, "thinking", t) &&
             add(t, "type", cJSON_CreateString(r->thinking == FW_THINKING_ENABLED ? "enabled"
                                                                                  : "disabled"));
        if (ok && r->reasoning_budget >= 0)
            ok = add(t, "budget_tokens", cJSON_CreateNumber((double)r->reasoning_budget));
    }
    if (ok && r->reasoning_history)
        ok = add(doc, "reasoning_history", cJSON_CreateString(r->reasoning_history));
    if (ok)
        r->template_json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return ok && r->template_json && (!tools || r->tools_json);
}

static int build(fw_chat_request *r, const req_view *v)
{
    const cJSON *j = v->root;

    r->model = dup(cJSON_GetStringValue(get(j, "model")));
    if (!r->model)
        return 0;
    if (!is_null(get(j, "user")) && !(r->user = dup(cJSON_GetStringValue(get(j, "user")))))
        return 0;
    if (!is_null(get(j, "prompt_cache_isolation_key")) &&
        !(r->prompt_cache_isolation_key =
              dup(cJSON_GetStringValue(get(j, "prompt_cache_isolation_key")))))
        return 0;
    if (v->metadata && !(r->metadata_json = dup_json(v->metadata)))
        return 0;

    /* logprobs: true -> NewLogProbs with top_logprobs alternatives (default 0);
     * logprobs: N -> legacy with N alternatives unless top_logprobs says otherwise. */
    if (v->logprobs_member == 1 && v->logprobs.b) {
        r->logprobs_mode = FW_LOGPROBS_NEW;
        r->top_logprobs = v->top_logprobs >= 0 ? (int)v->top_logprobs : 0;
    } else if (v->logprobs_member == 0) {
        r->logprobs_mode = FW_LOGPROBS_LEGACY;
        r->top_logprobs = v->top_logprobs >= 0 ? (int)v->top_logprobs : (int)v->logprobs.i;
    }
    r->sampling.top_logprobs = r->top_logprobs;

    build_tool_choice(r, v);
    if (r->tool_choice == FW_TOOL_CHOICE_FUNCTION && !r->tool_choice_name)
        return 0;
    return build_format(r, v) && build_speculation(r, v) && build_logit_bias(r, v) &&
           build_stop(r, v) && build_reasoning(r, v) && build_template(r, v);
}

/* ------------------------------------------------------------------------ */

static fw_chat_request *request_new(void)
{
    fw_chat_request *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->n = 1;
    r->max_tokens = -1;
    r->echo_last = -1;
    r->prompt_truncate_len = -1;
    r->reasoning_budget = -1;
    r->parallel_tool_calls = 1;
    r->sampling.struct_size = sizeof r->sampling;
    r->sampling.temperature = 1.0f;
    r->sampling.top_p = 1.0f;
    r->sampling.typical_p = 1.0f;
    r->sampling.repetition_penalty = 1.0f;
    return r;
}

void fw_chat_request_destroy(fw_chat_request *r)
{
    int i;

    if (!r)
        return;
    free(r->model);
    free(r->logit_bias);
    for (i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    free(r->format_text);
    free(r->tools_json);
    free(r->tool_choice_name);
    free(r->prompt_cache_isolation_key);
    free(r->user);
    free(r->speculation_text);
    free(r->speculation_ids);
    free(r->reasoning_effort);
    free(r->reasoning_history);
    free(r->metadata_json);
    free(r->template_json);
    free(r);
}

static int utf8_valid(const char *s, size_t n, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if ((k = fw_api_utf8_seq_len(p + i, n - i)) == 0) {
            *bad_at = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

static int bad_json(char **error_json, const char *what, size_t at)
{
    char msg[160];

    snprintf(msg, sizeof msg, "Request body is not valid %s (byte %zu)", what, at);
    *error_json = fw_api_error_json(400, NULL, msg);
    return *error_json ? 400 : 500;
}

int fw_chat_request_parse(const char *body, size_t len, fw_chat_request **out,
                          char **error_json)
{
    fw_api_errors e;
    req_view view;
    vctx c;
    cJSON *root;
    const char *end = NULL;
    size_t i, bad_at = 0;
    int status;

    *out = NULL;
    *error_json = NULL;
    for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
        ;
    fw_api_errors_init(&e);
    if (i == len) { /* no body at all: FastAPI's missing body */
        fw_api_loc l = {NULL, "body", 0};
        missing(&e, &l);
        *error_json = fw_api_errors_json(&e);
        fw_api_errors_deinit(&e);
        return *error_json ? 422 : 500;
    }
    if (!utf8_valid(body, len, &bad_at))
        return bad_json(error_json, "UTF-8", bad_at);
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= body && at <= body + len ? (size_t)(at - body) : 0;
        return bad_json(error_json, "JSON", off);
    }
    if (fw_json_keep_numbers(root, body, (size_t)(end - body)) != 0) {
        cJSON_Delete(root);
        fw_api_errors_deinit(&e);
        return 500; /* out of memory */
    }
    for (i = (size_t)(end - body); i < len && isspace((unsigned char)body[i]); i++)
        ;
    if (i != len || memchr(body, '\0', len)) {
        cJSON_Delete(root);
        return bad_json(error_json, "JSON", i);
    }
    if (!cJSON_IsObject(root)) {
        fw_api_loc l = {NULL, "body", 0};
        fw_api_errors_add(&e, &l, "model_attributes_type",
                          "Input should be a valid dictionary or object to extract fields from");
        cJSON_Delete(root);
        *error_json = fw_api_errors_json(&e);
        fw_api_errors_deinit(&e);
        return *error_json ? 422 : 500;
    }

    memset(&view, 0, sizeof view);
    view.root = root;
    view.tool_choice_member = view.function_call_member = -1;
    view.speculation_member = view.prediction_member = view.thinking_member = -1;
    view.effort_member = view.logprobs_member = -1;
    view.top_logprobs = -1;
    c.e = &e;
    c.v = &view;
    c.r = request_new();
    if (!c.r) {
        cJSON_Delete(root);
        fw_api_errors_deinit(&e);
        return 500;
    }
    validate(&c, root);
    if (e.n > 0 || e.items.oom) {
        *error_json = fw_api_errors_json(&e);
        fw_chat_request_destroy(c.r);
        status = *error_json ? 422 : 500;
    } else if (!build(c.r, &view)) {
        fw_chat_request_destroy(c.r);
        status = 500;
    } else {
        *out = c.r;
        status = 200;
    }
    cJSON_Delete(root);
    fw_api_errors_deinit(&e);
    return status;
}
