/* plugins/grammar/gbnf/json_schema.c -- JSON Schema -> GBNF text.
 *
 * Supported: type (and type arrays), properties, required,
 * additionalProperties (absent = false when properties are given, as
 * llama.cpp and OpenAI structured outputs do), items, prefixItems (and the
 * draft-7 array form of items with additionalItems), enum, const,
 * anyOf/oneOf, allOf (object schemas merged), $ref to local JSON pointers
 * including recursion, $defs/definitions, minItems/maxItems,
 * minLength/maxLength, format date/time/date-time/uuid, integer
 * minimum/maximum/exclusive* (exact), and for other numbers the sign those
 * bounds imply.  Properties appear in schema order.  Annotations (title,
 * description, default, examples, ...) and unknown keywords are ignored;
 * validation keywords that are not supported are an error naming them.
 *
 * Whitespace between tokens is limited to 20 characters per gap, so a model
 * cannot loop on whitespace forever.
 */
#include "gbnf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define MAX_DEPTH 128     /* schema nesting */
#define MAX_BOUND 1000    /* larger maxLength / maxItems are left unchecked */
#define PATH_MAX_LEN 256

typedef struct sb {
    char *d;
    size_t n, cap;
    int oom;
} sb;

static void sb_put(sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *nd;
        while (cap < b->n + n + 1)
            cap *= 2;
        nd = realloc(b->d, cap);
        if (!nd) {
            b->oom = 1;
            return;
        }
        b->d = nd;
        b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = '\0';
}

static void sb_puts(sb *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = 1;
        return;
    }
    sb_put(b, tmp, (size_t)n);
}

/* A GBNF literal for the bytes s[0..n). */
static void sb_literal(sb *b, const char *s, size_t n)
{
    size_t i;
    sb_puts(b, "\"");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            sb_puts(b, "\\\"");
        else if (c == '\\')
            sb_puts(b, "\\\\");
        else if (c < 0x20 || c == 0x7F)
            sb_printf(b, "\\x%02X", c);
        else
            sb_put(b, (const char *)&c, 1);
    }
    sb_puts(b, "\"");
}

typedef struct ref_memo {
    const cJSON *node;
    char name[32];
} ref_memo;

typedef struct js {
    sb out;
    cJSON *root;
    cJSON **owned; /* merged allOf schemas, freed at the end */
    int n_owned, cap_owned;
    ref_memo *refs;
    int n_refs, cap_refs;
    int n_rules;
    int depth;
    fw_err *err;
    fw_status st;
} js;

static const char PRIMITIVES[] =
    "json-ws ::= [ \\t\\n\\r]{0,20}\n"
    "json-char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" json-u16)\n"
    /* \\u escapes: no lone surrogates, so every document decodes */
    "json-u16 ::= [0-9a-cA-CefEF] json-hex{3} | [dD] [0-7] json-hex{2} | "
    "[dD] [89abAB] json-hex{2} \"\\\\u\" [dD] [c-fC-F] json-hex{2}\n"
    "json-string ::= \"\\\"\" json-char* \"\\\"\"\n"
    "json-int ::= \"0\" | [1-9] [0-9]{0,19}\n"
    "json-frac ::= \".\" [0-9]{1,20}\n"
    "json-exp ::= [eE] [-+]? [0-9]{1,5}\n"
    "json-number ::= \"-\"? json-int json-frac? json-exp?\n"
    "json-unumber ::= json-int json-frac? json-exp?\n"
    "json-nnumber ::= \"-\" json-int json-frac? json-exp?\n"
    "json-integer ::= \"-\"? json-int\n"
    "json-uinteger ::= json-int\n"
    "json-ninteger ::= \"-\" [1-9] [0-9]{0,19}\n"
    "json-boolean ::= \"true\" | \"false\"\n"
    "json-null ::= \"null\"\n"
    "json-value ::= json-object | json-array | json-string | json-number | json-boolean | "
    "json-null\n"
    "json-member ::= json-string json-ws \":\" json-ws json-value json-ws\n"
    "json-object ::= \"{\" json-ws (json-member (\",\" json-ws json-member)*)? \"}\"\n"
    "json-array ::= \"[\" json-ws (json-value json-ws (\",\" json-ws json-value json-ws)*)? "
    "\"]\"\n"
    "json-hex ::= [0-9a-fA-F]\n"
    "json-date ::= [0-9]{4} \"-\" (\"0\" [1-9] | \"1\" [0-2]) \"-\" "
    "(\"0\" [1-9] | [12] [0-9] | \"3\" [01])\n"
    "json-time ::= ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] "
    "(\".\" [0-9]{1,9})? (\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])\n"
    "json-uuid ::= json-hex{8} \"-\" json-hex{4} \"-\" json-hex{4} \"-\" json-hex{4} \"-\" "
    "json-hex{12}\n";

static const char *const UNSUPPORTED[] = {
    "pattern",          "patternProperties", "propertyNames",     "minProperties",
    "maxProperties",    "dependencies",      "dependentRequired", "dependentSchemas",
    "not",              "if",                "then",              "else",
    "contains",         "minContains",       "maxContains",       "multipleOf",
    "unevaluatedProperties", "unevaluatedItems", "$dynamicRef",   "$recursiveRef",
};

static fw_status fail(js *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static fw_status fail(js *j, const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    if (j->st != FW_OK)
        return j->st;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    j->st = fw_err_set(j->err, FW_ERR_INVALID, "%s", msg);
    return j->st;
}

static const char *P(const char *path) { return *path ? path : "/"; }

static void subpath(char *dst, const char *path, const char *a, const char *b)
{
    if (b)
        snprintf(dst, PATH_MAX_LEN, "%s/%s/%s", path, a, b);
    else
        snprintf(dst, PATH_MAX_LEN, "%s/%s", path, a);
}

static void new_name(js *j, char name[32])
{
    snprintf(name, 32, "s%d", j->n_rules++);
}

static int gen(js *j, const cJSON *s, const char *path, char name[32]);

/* ---- $ref ---- */

static const cJSON *resolve_ref(js *j, const char *ref, const char *path)
{
    const cJSON *cur = j->root;
    const char *p;
    char tok[256];

    if (ref[0] != '#')
        return fail(j, "unsupported $ref '%.100s' at %s (only local '#/...' refs)", ref, P(path)),
               NULL;
    p = ref + 1;
    while (*p) {
        size_t n = 0;
        if (*p != '/')
            return fail(j, "bad $ref '%.100s' at %s", ref, P(path)), NULL;
        p++;
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~' && *p == '0')
                c = '~', p++;
            else if (c == '~' && *p == '1')
                c = '/', p++;
            if (n + 1 >= sizeof tok)
                return fail(j, "bad $ref '%.100s' at %s", ref, P(path)), NULL;
            tok[n++] = c;
        }
        tok[n] = '\0';
        if (cJSON_IsArray(cur)) {
            char *end;
            long idx = strtol(tok, &end, 10);
            cur = (*tok && !*end && idx >= 0 && idx < 100000) ? cJSON_GetArrayItem(cur, (int)idx)
                                                              : NULL;
        } else if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        } else {
            cur = NULL;
        }
        if (!cur)
            return fail(j, "$ref '%.100s' at %s does not resolve", ref, P(path)), NULL;
    }
    return cur;
}

static int gen_ref(js *j, const cJSON *target, const char *path, char name[32])
{
    char inner[32];
    int i, me;
    for (i = 0; i < j->n_refs; i++)
        if (j->refs[i].node == target) {
            memcpy(name, j->refs[i].name, 32);
            return 0;
        }
    if (j->n_refs == j->cap_refs) {
        int cap = j->cap_refs ? j->cap_refs * 2 : 16;
        ref_memo *nr = realloc(j->refs, (size_t)cap * sizeof *nr);
        if (!nr)
            return j->st = fw_err_set(j->err, FW_ERR_NOMEM, "out of memory"), -1;
        j->refs = nr;
        j->cap_refs = cap;
    }
    me = j->n_refs++;
    j->refs[me].node = target;
    new_name(j, j->refs[me].name);
    memcpy(name, j->refs[me].name, 32);
    if (gen(j, target, path, inner) != 0)
        return -1;
    sb_printf(&j->out, "%s ::= %s\n", name, inner);
    return 0;
}

/* ---- allOf: merge the member schemas into one object schema ---- */

static const cJSON *deref(js *j, const cJSON *s, const char *path)
{
    int hops = 0;
    while (cJSON_IsObject(s) && hops++ < 32) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "$ref");
        if (!cJSON_IsString(r))
            break;
        s = resolve_ref(j, r->valuestring, path);
    }
    return s;
}

static void merge_into(js *j, cJSON *dst, const cJSON *src, const char *path);

/* Adds src's keywords (but $ref) to dst: properties and required are unions,
 * anything else is kept from whoever came first. */
static void merge_fields(js *j, cJSON *dst, const cJSON *src, const char *path)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, src) {
        if (!strcmp(it->string, "$ref")) {
            continue;
        } else if (!strcmp(it->string, "allOf")) {
            const cJSON *sub;
            cJSON_ArrayForEach(sub, it) merge_into(j, dst, sub, path);
        } else if (!strcmp(it->string, "properties") && cJSON_IsObject(it)) {
            cJSON *props = cJSON_GetObjectItemCaseSensitive(dst, "properties");
            const cJSON *p;
            if (!props)
                props = cJSON_AddObjectToObject(dst, "properties");
            cJSON_ArrayForEach(p, it) {
                if (!cJSON_GetObjectItemCaseSensitive(props, p->string))
                    cJSON_AddItemToObject(props, p->string, cJSON_Duplicate(p, 1));
            }
        } else if (!strcmp(it->string, "required") && cJSON_IsArray(it)) {
            cJSON *req = cJSON_GetObjectItemCaseSensitive(dst, "required");
            const cJSON *r;
            if (!req)
                req = cJSON_AddArrayToObject(dst, "required");
            cJSON_ArrayForEach(r, it) {
                const cJSON *have;
                int dup = 0;
                cJSON_ArrayForEach(have, req) if (cJSON_Compare(have, r, 1)) dup = 1;
                if (!dup)
                    cJSON_AddItemToArray(req, cJSON_Duplicate(r, 1));
            }
        } else if (!cJSON_GetObjectItemCaseSensitive(dst, it->string)) {
            cJSON_AddItemToObject(dst, it->string, cJSON_Duplicate(it, 1));
        }
    }
}

static void merge_into(js *j, cJSON *dst, const cJSON *src, const char *path)
{
    src = deref(j, src, path);
    if (!src || j->st != FW_OK)
        return;
    if (!cJSON_IsObject(src)) {
        if (cJSON_IsFalse(src))
            fail(j, "allOf at %s contains false", P(path));
        return;
    }
    merge_fields(j, dst, src, path);
}

/* Keywords beside a $ref that do not constrain anything. */
static int ref_siblings_constrain(const cJSON *s)
{
    static const char *const inert[] = {"$ref", "$defs", "definitions", "title", "description",
                                        "$schema", "$id", "$comment", "default", "examples",
                                        "readOnly", "writeOnly", "deprecated"};
    const cJSON *it;
    size_t i;
    cJSON_ArrayForEach(it, s) {
        int known = 0;
        for (i = 0; i < sizeof inert / sizeof inert[0]; i++)
            known |= !strcmp(it->string, inert[i]);
        if (!known)
            return 1;
    }
    return 0;
}

/* allOf, or a $ref with constraining siblings (target != NULL): one merged
 * object schema. */
static int gen_all_of(js *j, const cJSON *s, const cJSON *target, const char *path,
                      char name[32])
{
    cJSON *merged = cJSON_CreateObject();
    if (!merged)
        return j->st = fw_err_set(j->err, FW_ERR_NOMEM, "out of memory"), -1;
    if (j->n_owned == j->cap_owned) {
        int cap = j->cap_owned ? j->cap_owned * 2 : 8;
        cJSON **no = realloc(j->owned, (size_t)cap * sizeof *no);
        if (!no) {
            cJSON_Delete(merged);
            return j->st = fw_err_set(j->err, FW_ERR_NOMEM, "out of memory"), -1;
        }
        j->owned = no;
        j->cap_owned = cap;
    }
    j->owned[j->n_owned++] = merged;
    merge_fields(j, merged, s, path); /* s's own keywords first, then each member */
    if (target)
        merge_into(j, merged, target, path);
    if (j->st != FW_OK)
        return -1;
    return gen(j, merged, path, name);
}

/* ---- leaf types ---- */

static double num_kw(const cJSON *s, const char *k, int *has)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, k);
    *has = cJSON_IsNumber(v);
    return *has ? v->valuedouble : 0;
}

static int gen_string(js *j, const cJSON *s, const char *path, char name[32])
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
    int has_min, has_max;
    double mn = num_kw(s, "minLength", &has_min), mx = num_kw(s, "maxLength", &has_max);

    if (cJSON_IsString(fmt)) {
        const char *f = fmt->valuestring, *body = NULL;
        if (!strcmp(f, "date"))
            body = "json-date";
        else if (!strcmp(f, "time"))
            body = "json-time";
        else if (!strcmp(f, "date-time"))
            body = "json-date \"T\" json-time";
        else if (!strcmp(f, "uuid"))
            body = "json-uuid";
        if (body) {
            new_name(j, name);
            sb_printf(&j->out, "%s ::= \"\\\"\" %s \"\\\"\"\n", name, body);
            return 0;
        }
    }
    if ((has_min && (mn < 0 || mn != floor(mn))) || (has_max && (mx < 0 || mx != floor(mx))))
        return fail(j, "minLength/maxLength at %s must be non-negative integers", P(path)), -1;
    if (has_min && has_max && mx < mn)
        return fail(j, "maxLength < minLength at %s", P(path)), -1;
    if (has_min && mn > MAX_BOUND)
        return fail(j, "minLength %.0f at %s is above the supported %d", mn, P(path), MAX_BOUND),
               -1;
    if (has_max && mx > MAX_BOUND)
        has_max = 0; /* documented: large upper bounds are not enforced */
    if (!has_min && !has_max) {
        strcpy(name, "json-string");
        return 0;
    }
    new_name(j, name);
    if (has_max)
        sb_printf(&j->out, "%s ::= \"\\\"\" json-char{%.0f,%.0f} \"\\\"\"\n", name,
                  has_min ? mn : 0, mx);
    else
        sb_printf(&j->out, "%s ::= \"\\\"\" json-char{%.0f,} \"\\\"\"\n", name, mn);
    return 0;
}

/* ---- integer ranges as digit patterns ---- */

#define INT_BOUND 1e15 /* larger bounds are left unchecked */

/* Decimal strings a <= z of the same length d: a pattern for [a, z]. */
static void same_len(sb *b, const char *a, const char *z, int d)
{
    char nines[24], zeros[24];
    int i, all0 = 1, all9 = 1;

    if (d == 1) {
        sb_printf(b, "[%c-%c]", a[0], z[0]);
        return;
    }
    if (a[0] == z[0]) {
        sb_printf(b, "\"%c\" ", a[0]);
        same_len(b, a + 1, z + 1, d - 1);
        return;
    }
    for (i = 1; i < d; i++) {
        all0 &= a[i] == '0';
        all9 &= z[i] == '9';
        nines[i - 1] = '9';
        zeros[i - 1] = '0';
    }
    if (all0 && all9) {
        sb_printf(b, "[%c-%c] [0-9]{%d}", a[0], z[0], d - 1);
        return;
    }
    sb_printf(b, "(\"%c\" ", a[0]);
    same_len(b, a + 1, nines, d - 1);
    if (a[0] + 1 <= z[0] - 1)
        sb_printf(b, " | [%c-%c] [0-9]{%d}", a[0] + 1, z[0] - 1, d - 1);
    sb_printf(b, " | \"%c\" ", z[0]);
    same_len(b, zeros, z + 1, d - 1);
    sb_puts(b, ")");
}

static int n_digits(long long v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Non-negative integers in [lo, hi] without leading zeros; hi < 0 means no
 * upper bound.  Appends alternatives separated by " | ". */
static void pos_range(sb *b, long long lo, long long hi)
{
    long long p = 1;
    int d, first = 1, top = hi < 0 ? n_digits(lo) : n_digits(hi);

    for (d = 1; d <= top; d++, p *= 10) {
        long long a = d == 1 ? 0 : p, z = p * 10 - 1;
        char as[24], zs[24];
        if (a < lo)
            a = lo;
        if (hi >= 0 && z > hi)
            z = hi;
        if (a > z)
            continue;
        snprintf(as, sizeof as, "%lld", a);
        snprintf(zs, sizeof zs, "%lld", z);
        sb_puts(b, first ? "" : " | ");
        same_len(b, as, zs, d);
        first = 0;
    }
    if (hi < 0 && top < 20) /* more digits than lo has */
        sb_printf(b, "%s[1-9] [0-9]{%d,19}", first ? "" : " | ", top);
}

/* Integers: minimum / maximum / exclusive* become exact digit patterns.
 * Numbers: only the sign implied by the bounds is enforced. */
static int gen_number(js *j, const cJSON *s, int integer, const char *path, char name[32])
{
    int h1, h2, h3, h4, has_lo = 0, has_hi = 0;
    double mn = num_kw(s, "minimum", &h1), xmn = num_kw(s, "exclusiveMinimum", &h2);
    double mx = num_kw(s, "maximum", &h3), xmx = num_kw(s, "exclusiveMaximum", &h4);
    long long lo = 0, hi = 0;

    if (!integer) {
        int nonneg = (h1 && mn >= 0) || (h2 && xmn >= 0), neg = h3 && mx < 0;
        strcpy(name, nonneg && !neg ? "json-unumber" : neg && !nonneg ? "json-nnumber"
                                                                     : "json-number");
        return 0;
    }
    if (h1 && fabs(mn) < INT_BOUND) {
        lo = (long long)ceil(mn);
        has_lo = 1;
    }
    if (h2 && fabs(xmn) < INT_BOUND && (!has_lo || (long long)floor(xmn) + 1 > lo)) {
        lo = (long long)floor(xmn) + 1;
        has_lo = 1;
    }
    if (h3 && fabs(mx) < INT_BOUND) {
        hi = (long long)floor(mx);
        has_hi = 1;
    }
    if (h4 && fabs(xmx) < INT_BOUND && (!has_hi || (long long)ceil(xmx) - 1 < hi)) {
        hi = (long long)ceil(xmx) - 1;
        has_hi = 1;
    }
    if (!has_lo && !has_hi) {
        strcpy(name, "json-integer");
        return 0;
    }
    if (has_lo && has_hi && lo > hi)
        return fail(j, "no integer between minimum and maximum at %s", P(path)), -1;
    new_name(j, name);
    sb_printf(&j->out, "%s ::= ", name);
    /* negative part: "-" abs, abs in [max(1, -hi), -lo] */
    if (!has_lo || lo < 0) {
        long long alo = has_hi && hi < 0 ? -hi : 1, ahi = has_lo ? -lo : -1;
        if (ahi < 0 || alo <= ahi) {
            sb_puts(&j->out, "\"-\" (");
            pos_range(&j->out, alo, ahi);
            sb_puts(&j->out, ")");
            if (!has_hi || hi >= 0)
                sb_puts(&j->out, " | ");
        }
    }
    /* non-negative part: [max(lo, 0), hi] */
    if (!has_hi || hi >= 0)
        pos_range(&j->out, has_lo && lo > 0 ? lo : 0, has_hi ? hi : -1);
    sb_puts(&j->out, "\n");
    return 0;
}

/* ---- objects ---- */

/* The GBNF literal for a property name written as a JSON string. */
static void key_literal(sb *out, const char *name)
{
    sb key = {0};
    size_t i;
    sb_put(&key, "\"", 1);
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '"' || c == '\\') {
            sb_put(&key, "\\", 1);
            sb_put(&key, (const char *)&c, 1);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_puts(&key, esc);
        } else {
            sb_put(&key, (const char *)&c, 1);
        }
    }
    sb_put(&key, "\"", 1);
    if (key.oom)
        out->oom = 1;
    else
        sb_literal(out, key.d, key.n);
    free(key.d);
}

/* NAME ::= "key" json-ws ":" json-ws VALUE json-ws: one member of an object. */
static void member_rule(js *j, char name[32], const char *key, const char *value)
{
    new_name(j, name);
    sb_printf(&j->out, "%s ::= ", name);
    key_literal(&j->out, key);
    sb_printf(&j->out, " json-ws \":\" json-ws %s json-ws\n", value);
}

static int gen_object(js *j, const cJSON *s, const char *path, char name[32])
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *p, *r;
    char extra[32] = "", sub[PATH_MAX_LEN], vname[32];
    char(*kv)[32] = NULL; /* the member rules' names */
    const char **keys = NULL;
    int *required = NULL;
    int n = 0, cap = 0, i, rc = -1;

    if (props && !cJSON_IsObject(props))
        return fail(j, "'properties' at %s must be an object", P(path)), -1;
    if (req && !cJSON_IsArray(req))
        return fail(j, "'required' at %s must be an array", P(path)), -1;
    new_name(j, name);

    /* the property list: declared properties, then required-only names */
    cap = cJSON_GetArraySize(props) + cJSON_GetArraySize(req) + 1;
    kv = calloc((size_t)cap, sizeof *kv);
    keys = calloc((size_t)cap, sizeof *keys);
    required = calloc((size_t)cap, sizeof *required);
    if (!kv || !keys || !required) {
        j->st = fw_err_set(j->err, FW_ERR_NOMEM, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(p, props) {
        keys[n] = p->string;
        subpath(sub, path, "properties", p->string);
        if (gen(j, p, sub, vname) != 0)
            goto out;
        member_rule(j, kv[n++], p->string, vname);
    }
    cJSON_ArrayForEach(r, req) {
        int found = 0;
        if (!cJSON_IsString(r)) {
            fail(j, "'required' at %s must list strings", P(path));
            goto out;
        }
        for (i = 0; i < n; i++)
            if (!strcmp(keys[i], r->valuestring)) {
                required[i] = 1;
                found = 1;
            }
        if (!found) { /* required but undeclared: any value */
            keys[n] = r->valuestring;
            required[n] = 1;
            member_rule(j, kv[n++], r->valuestring, "json-value");
        }
    }

    /* additional members */
    if (addl && !cJSON_IsBool(addl) && !cJSON_IsObject(addl)) {
        fail(j, "'additionalProperties' at %s must be a boolean or a schema", P(path));
        goto out;
    }
    if ((!addl && !props) || cJSON_IsTrue(addl)) {
        strcpy(extra, "json-member");
    } else if (cJSON_IsObject(addl)) {
        subpath(sub, path, "additionalProperties", NULL);
        if (gen(j, addl, sub, vname) != 0)
            goto out;
        new_name(j, extra);
        sb_printf(&j->out, "%s ::= json-string json-ws \":\" json-ws %s json-ws\n", extra, vname);
    }

    /* H_i: nothing written yet; T_i: something written, so a comma first */
    for (i = n; i >= 0; i--) {
        if (i == n) {
            if (*extra) {
                sb_printf(&j->out, "%s-h%d ::= (%s (\",\" json-ws %s)*)?\n", name, i, extra, extra);
                sb_printf(&j->out, "%s-t%d ::= (\",\" json-ws %s)*\n", name, i, extra);
            } else {
                sb_printf(&j->out, "%s-h%d ::= \"\"\n%s-t%d ::= \"\"\n", name, i, name, i);
            }
        } else if (required[i]) {
            sb_printf(&j->out, "%s-h%d ::= %s %s-t%d\n", name, i, kv[i], name, i + 1);
            sb_printf(&j->out, "%s-t%d ::= \",\" json-ws %s %s-t%d\n", name, i, kv[i], name,
                      i + 1);
        } else {
            sb_printf(&j->out, "%s-h%d ::= %s %s-t%d | %s-h%d\n", name, i, kv[i], name, i + 1,
                      name, i + 1);
            sb_printf(&j->out, "%s-t%d ::= (\",\" json-ws %s)? %s-t%d\n", name, i, kv[i], name,
                      i + 1);
        }
    }
    sb_printf(&j->out, "%s ::= \"{\" json-ws %s-h0 \"}\"\n", name, name);
    rc = 0;
out:
    free(kv);
    free(keys);
    free(required);
    return j->st == FW_OK ? rc : -1;
}

/* ---- arrays ---- */

static int bound_kw(js *j, const cJSON *s, const char *k, const char *path, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, k);
    *out = -1;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
        return fail(j, "'%s' at %s must be a non-negative integer", k, P(path)), -1;
    *out = v->valuedouble > 1e9 ? 1000000000L : (long)v->valuedouble;
    return 0;
}

static int gen_array(js *j, const cJSON *s, const char *path, char name[32])
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
    const cJSON *more = NULL;
    char item[32] = "json-value", sub[PATH_MAX_LEN], iname[32];
    long mn, mx;
    int no_extra = 0;

    if (bound_kw(j, s, "minItems", path, &mn) || bound_kw(j, s, "maxItems", path, &mx))
        return -1;
    if (mn < 0)
        mn = 0;
    if (mx >= 0 && mx < mn)
        return fail(j, "maxItems < minItems at %s", P(path)), -1;
    if (cJSON_IsArray(items)) { /* draft-7 tuple form */
        prefix = items;
        more = cJSON_GetObjectItemCaseSensitive(s, "additionalItems");
        items = NULL;
    } else if (prefix) {
        more = items;
    }
    if (prefix && !cJSON_IsArray(prefix))
        return fail(j, "'prefixItems' at %s must be an array", P(path)), -1;
    new_name(j, name);

    if (prefix && cJSON_GetArraySize(prefix) > 0) {
        int k = cJSON_GetArraySize(prefix), i;
        long req = mn < k ? mn : k;
        char extra[32] = "json-value";
        if (cJSON_IsFalse(more)) {
            no_extra = 1;
        } else if (more && !cJSON_IsTrue(more)) {
            subpath(sub, path, "items", NULL);
            if (gen(j, more, sub, extra) != 0)
                return -1;
        }
        /* tail_i: after i items (i >= 1) */
        if (no_extra || (mx >= 0 && mx <= k))
            sb_printf(&j->out, "%s-t%d ::= \"\"\n", name, k);
        else
            sb_printf(&j->out, "%s-t%d ::= (\",\" json-ws %s json-ws)*\n", name, k, extra);
        for (i = k - 1; i >= 1; i--) {
            const cJSON *pi = cJSON_GetArrayItem(prefix, i);
            char idx[16];
            snprintf(idx, sizeof idx, "%d", i);
            subpath(sub, path, "prefixItems", idx);
            if (gen(j, pi, sub, iname) != 0)
                return -1;
            if (mx >= 0 && i >= mx)
                sb_printf(&j->out, "%s-t%d ::= \"\"\n", name, i);
            else
                sb_printf(&j->out, "%s-t%d ::= (\",\" json-ws %s json-ws %s-t%d)%s\n", name, i,
                          iname, name, i + 1, i >= req ? "?" : "");
        }
        subpath(sub, path, "prefixItems", "0");
        if (gen(j, cJSON_GetArrayItem(prefix, 0), sub, iname) != 0)
            return -1;
        if (mx == 0)
            sb_printf(&j->out, "%s ::= \"[\" json-ws \"]\"\n", name);
        else
            sb_printf(&j->out, "%s ::= \"[\" json-ws (%s json-ws %s-t1)%s \"]\"\n", name, iname,
                      name, req >= 1 ? "" : "?");
        return 0;
    }

    if (cJSON_IsFalse(items)) {
        sb_printf(&j->out, "%s ::= \"[\" json-ws \"]\"\n", name);
        return 0;
    }
    if (items && !cJSON_IsTrue(items)) {
        subpath(sub, path, "items", NULL);
        if (gen(j, items, sub, item) != 0)
            return -1;
    }
    if (mx > MAX_BOUND)
        mx = -1; /* documented: large upper bounds are not enforced */
    if (mn > MAX_BOUND)
        return fail(j, "minItems %ld at %s is above the supported %d", mn, P(path), MAX_BOUND),
               -1;
    if (mx == 0) {
        sb_printf(&j->out, "%s ::= \"[\" json-ws \"]\"\n", name);
    } else if (mn == 0) {
        if (mx < 0)
            sb_printf(&j->out, "%s ::= \"[\" json-ws (%s json-ws (\",\" json-ws %s json-ws)*)? "
                               "\"]\"\n", name, item, item);
        else if (mx == 1)
            sb_printf(&j->out, "%s ::= \"[\" json-ws (%s json-ws)? \"]\"\n", name, item);
        else
            sb_printf(&j->out, "%s ::= \"[\" json-ws (%s json-ws (\",\" json-ws %s json-ws)"
                               "{0,%ld})? \"]\"\n", name, item, item, mx - 1);
    } else {
        if (mx < 0)
            sb_printf(&j->out, "%s ::= \"[\" json-ws %s json-ws (\",\" json-ws %s json-ws)"
                               "{%ld,} \"]\"\n", name, item, item, mn - 1);
        else
            sb_printf(&j->out, "%s ::= \"[\" json-ws %s json-ws (\",\" json-ws %s json-ws)"
                               "{%ld,%ld} \"]\"\n", name, item, item, mn - 1, mx - 1);
    }
    return 0;
}

/* ---- dispatch ---- */

static int gen_typed(js *j, const cJSON *s, const char *t, const char *path, char name[32])
{
    if (!strcmp(t, "string"))
        return gen_string(j, s, path, name);
    if (!strcmp(t, "number"))
        return gen_number(j, s, 0, path, name);
    if (!strcmp(t, "integer"))
        return gen_number(j, s, 1, path, name);
    if (!strcmp(t, "boolean")) {
        strcpy(name, "json-boolean");
        return 0;
    }
    if (!strcmp(t, "null")) {
        strcpy(name, "json-null");
        return 0;
    }
    if (!strcmp(t, "object"))
        return gen_object(j, s, path, name);
    if (!strcmp(t, "array"))
        return gen_array(j, s, path, name);
    return fail(j, "unknown type '%.60s' at %s", t, P(path)), -1;
}

static int has(const cJSON *s, const char *k) { return cJSON_GetObjectItemCaseSensitive(s, k) != NULL; }

/* NAME ::= body (the alternatives "a | b"; "" when none). */
static void alt_rule(js *j, char name[32], const sb *body)
{
    new_name(j, name);
    sb_printf(&j->out, "%s ::= ", name); /* body may be longer than sb_printf takes */
    sb_puts(&j->out, body->d ? body->d : "\"\"");
    sb_puts(&j->out, "\n");
    if (body->oom)
        j->out.oom = 1;
}

static int gen_alternatives(js *j, const cJSON *list, const char *kw, const char *path,
                            char name[32])
{
    const cJSON *it;
    char sub[PATH_MAX_LEN], alt[32], idx[16];
    sb body = {0};
    int i = 0;

    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return fail(j, "'%s' at %s must be a non-empty array", kw, P(path)), -1;
    cJSON_ArrayForEach(it, list) {
        snprintf(idx, sizeof idx, "%d", i);
        subpath(sub, path, kw, idx);
        if (gen(j, it, sub, alt) != 0) {
            free(body.d);
            return -1;
        }
        sb_printf(&body, "%s%s", i ? " | " : "", alt);
        i++;
    }
    alt_rule(j, name, &body);
    free(body.d);
    return 0;
}

static int gen(js *j, const cJSON *s, const char *path, char name[32])
{
    const cJSON *it, *type;
    size_t i;
    int rc;

    if (j->st != FW_OK)
        return -1;
    if (cJSON_IsTrue(s)) {
        strcpy(name, "json-value");
        return 0;
    }
    if (cJSON_IsFalse(s))
        return fail(j, "schema false at %s matches nothing", P(path)), -1;
    if (!cJSON_IsObject(s))
        return fail(j, "schema at %s must be an object or a boolean", P(path)), -1;
    if (++j->depth > MAX_DEPTH) {
        j->depth--;
        return fail(j, "schema nested too deeply at %s", P(path)), -1;
    }
    cJSON_ArrayForEach(it, s) {
        for (i = 0; i < sizeof UNSUPPORTED / sizeof UNSUPPORTED[0]; i++)
            if (!strcmp(it->string, UNSUPPORTED[i])) {
                j->depth--;
                return fail(j, "unsupported keyword '%s' at %s", it->string, P(path)), -1;
            }
        if (!strcmp(it->string, "uniqueItems") && cJSON_IsTrue(it)) {
            j->depth--;
            return fail(j, "unsupported keyword 'uniqueItems' at %s", P(path)), -1;
        }
    }
    rc = 0;
    if ((it = cJSON_GetObjectItemCaseSensitive(s, "$ref"))) {
        const cJSON *target;
        if (!cJSON_IsString(it)) {
            rc = (fail(j, "'$ref' at %s must be a string", P(path)), -1);
        } else if (!(target = resolve_ref(j, it->valuestring, path))) {
            rc = -1;
        } else if (ref_siblings_constrain(s)) {
            rc = gen_all_of(j, s, target, path, name);
        } else {
            rc = gen_ref(j, target, it->valuestring + 1, name);
        }
    } else if (has(s, "allOf")) {
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
        if (!cJSON_IsArray(all))
            rc = (fail(j, "'allOf' at %s must be an array", P(path)), -1);
        else if (cJSON_GetArraySize(all) == 1 && cJSON_GetArraySize(s) == 1)
            rc = gen(j, cJSON_GetArrayItem(all, 0), path, name);
        else
            rc = gen_all_of(j, s, NULL, path, name);
    } else if ((it = cJSON_GetObjectItemCaseSensitive(s, "const"))) {
        char *text = cJSON_PrintUnformatted(it);
        if (!text)
            return j->st = fw_err_set(j->err, FW_ERR_NOMEM, "out of memory"), j->depth--, -1;
        new_name(j, name);
        sb_printf(&j->out, "%s ::= ", name);
        sb_literal(&j->out, text, strlen(text));
        sb_puts(&j->out, "\n");
        free(text);
    } else if ((it = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        const cJSON *v;
        int k = 0;
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) == 0) {
            rc = (fail(j, "'enum' at %s must be a non-empty array", P(path)), -1);
        } else {
            new_name(j, name);
            sb_printf(&j->out, "%s ::= ", name);
            cJSON_ArrayForEach(v, it) {
                char *text = cJSON_PrintUnformatted(v);
                if (!text) {
                    j->out.oom = 1;
                    break;
                }
                if (k++)
                    sb_puts(&j->out, " | ");
                sb_literal(&j->out, text, strlen(text));
                free(text);
            }
            sb_puts(&j->out, "\n");
        }
    } else if ((it = cJSON_GetObjectItemCaseSensitive(s, "anyOf"))) {
        rc = gen_alternatives(j, it, "anyOf", path, name);
    } else if ((it = cJSON_GetObjectItemCaseSensitive(s, "oneOf"))) {
        rc = gen_alternatives(j, it, "oneOf", path, name);
    } else if ((type = cJSON_GetObjectItemCaseSensitive(s, "type"))) {
        if (cJSON_IsString(type)) {
            rc = gen_typed(j, s, type->valuestring, path, name);
        } else if (cJSON_IsArray(type) && cJSON_GetArraySize(type) > 0) {
            sb body = {0};
            char alt[32];
            int k = 0;
            cJSON_ArrayForEach(it, type) {
                if (!cJSON_IsString(it)) {
                    rc = (fail(j, "'type' at %s must list strings", P(path)), -1);
                    break;
                }
                if (gen_typed(j, s, it->valuestring, path, alt) != 0) {
                    rc = -1;
                    break;
                }
                sb_printf(&body, "%s%s", k++ ? " | " : "", alt);
            }
            if (rc == 0)
                alt_rule(j, name, &body);
            free(body.d);
        } else {
            rc = (fail(j, "'type' at %s must be a string or a non-empty array", P(path)), -1);
        }
    } else if (has(s, "properties") || has(s, "additionalProperties") || has(s, "required")) {
        rc = gen_object(j, s, path, name);
    } else if (has(s, "items") || has(s, "prefixItems") || has(s, "minItems") ||
               has(s, "maxItems")) {
        rc = gen_array(j, s, path, name);
    } else if (has(s, "minLength") || has(s, "maxLength") || has(s, "format")) {
        rc = gen_string(j, s, path, name);
    } else {
        strcpy(name, "json-value");
    }
    j->depth--;
    return j->st == FW_OK ? rc : -1;
}

fw_status gb_json_schema_to_gbnf(const char *text, int any_object, char **out, fw_err *err)
{
    js j;
    char top[32];
    int i;

    *out = NULL;
    memset(&j, 0, sizeof j);
    j.err = err;
    sb_puts(&j.out, PRIMITIVES);
    if (any_object) {
        sb_puts(&j.out, "root ::= json-ws json-object json-ws\n");
    } else {
        const char *end = NULL;
        j.root = cJSON_ParseWithOpts(text ? text : "", &end, 1);
        if (!j.root) {
            free(j.out.d);
            return fw_err_set(err, FW_ERR_INVALID, "json_schema: not valid JSON near offset %ld",
                          end && text ? (long)(end - text) : 0L);
        }
        if (gen(&j, j.root, "", top) == 0)
            sb_printf(&j.out, "root ::= json-ws %s json-ws\n", top);
    }
    if (j.st == FW_OK && j.out.oom)
        j.st = fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    for (i = 0; i < j.n_owned; i++)
        cJSON_Delete(j.owned[i]);
    free(j.owned);
    free(j.refs);
    cJSON_Delete(j.root);
    if (j.st != FW_OK) {
        free(j.out.d);
        return j.st;
    }
    *out = j.out.d;
    return FW_OK;
}
