/* core/tokenizer.c -- tokenizer.json loading, decoding and token queries.
 * Encoding is in tokenizer_encode.c. */
#include "tokenizer_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "readfile.h"

/* ByteLevel's own split when use_regex is true (GPT-2). */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* ------------------------------------------------------------------ load */

typedef struct loader {
    fw_tokenizer *t;
    const char *path;
    fw_buf a, b;   /* scratch for byte-level decoding */
} loader;

/* The bytes a token string stands for: byte-level strings map char by char;
 * a string with a char outside the alphabet stands for its own UTF-8 (as the
 * ByteLevel decoder does).  Returns 1 when it was byte-level. */
static int token_string_bytes(const fw_tokenizer *t, const char *s, size_t n, fw_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    fw_buf_reset(out);
    if (!t->byte_level) {
        fw_buf_append(out, s, n);
        return 0;
    }
    while (i < n) {
        uint32_t cp;
        size_t k = fw_tok_utf8_next(u + i, n - i, &cp);
        int b = fw_tok_cp_to_byte(cp);
        if (b < 0) {
            fw_buf_reset(out);
            fw_buf_append(out, s, n);
            return 0;
        }
        fw_buf_putc(out, (char)b);
        i += k;
    }
    return 1;
}

static fw_status json_id(const loader *L, const cJSON *v, const char *what, int32_t *id,
                         fw_err *err)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= FW_TOK_MAX_IDS ||
        v->valuedouble != (double)(int32_t)v->valuedouble)
        return fw_err_set(err, FW_ERR_INVALID, "%s: %s: id must be an integer in [0, %d)",
                          L->path, what, FW_TOK_MAX_IDS);
    *id = (int32_t)v->valuedouble;
    return FW_OK;
}

static int json_flag(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static const char *json_type(const cJSON *obj)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Two differences between PCRE2 10.42 and the Oniguruma of Hugging Face
 * tokenizers, closed by rewriting the pattern:
 *   - Oniguruma's \s is Unicode White_Space; PCRE2's also takes U+180E (which
 *     left White_Space in Unicode 6.3), so \s is spelled out;
 *   - PCRE2 knows Unicode 14, so \p{L}, \p{N}, \p{Han} ... get the code
 *     points assigned since (fw_tok_unicode_extra);
 *   - a bare script (\p{Han}) is Script in Oniguruma but Script_Extensions
 *     in PCRE2 (and in Rust's regex, which tiktoken uses: onig = 0);
 *   - class intersection [X&&[^Y]] (Oniguruma, Rust) becomes a lookahead. */
#define WHITE_SPACE_SET "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
                        "\\x{202F}\\x{205F}\\x{3000}"

/* \p{X} or \P{X} at pat[i] with extra ranges: appends its rewrite and
 * returns the length consumed, else 0. */
static size_t rewrite_property(const char *pat, size_t i, int in_class, int onig, fw_buf *out)
{
    const char *name = pat + i + 3, *close = strchr(name, '}');
    const char *extra;
    int negated = pat[i + 1] == 'P';

    if (pat[i + 2] != '{' || !close)
        return 0;
    extra = fw_tok_unicode_extra(name, (size_t)(close - name));
    if (!extra && onig && (size_t)(close - name) > 2 && !memchr(name, ':', (size_t)(close - name)) &&
        !memchr(name, '=', (size_t)(close - name)) && name[0] != 'X' && strncmp(name, "Any", 3)) {
        /* A script: PCRE2 matches Script_Extensions, Oniguruma the Script. */
        fw_buf_append(out, pat + i, 3);
        fw_buf_puts(out, "sc:");
        fw_buf_append(out, name, (size_t)(close - name) + 1);
        return (size_t)(close - (pat + i)) + 1;
    }
    if (!extra || !extra[0] || (negated && in_class))
        return 0;   /* nothing to add, or \P inside a class (cannot be widened) */
    if (!in_class)
        fw_buf_puts(out, negated ? "[^" : "[");
    fw_buf_append(out, "\\p{", 3);
    if (onig && (size_t)(close - name) > 2)
        fw_buf_puts(out, "sc:");   /* Han: the script, as above */
    fw_buf_append(out, name, (size_t)(close - name) + 1);
    fw_buf_puts(out, extra);
    if (!in_class)
        fw_buf_putc(out, ']');
    return (size_t)(close - (pat + i)) + 1;
}

/* The end (one past the closing ]) of the class opening at pat[i], nested
 * classes included, and the first && at its top level in *amp (0: none). */
static size_t class_end(const char *pat, size_t i, size_t n, size_t *amp)
{
    size_t j = i, depth = 0;

    *amp = 0;
    while (j < n) {
        char c = pat[j];
        if (c == '\\') {
            j += 2;
        } else if (c == '[' && depth > 0 && j + 1 < n && pat[j + 1] == ':') {
            const char *e = strstr(pat + j + 2, ":]");
            j = e ? (size_t)(e - pat) + 2 : n;
        } else if (c == '[') {
            depth++;
            j++;
            if (j < n && pat[j] == '^')
                j++;
            if (j < n && pat[j] == ']')
                j++;   /* a literal ] first in a class */
        } else if (c == ']') {
            j++;
            if (--depth == 0)
                return j;
        } else {
            if (depth == 1 && c == '&' && j + 1 < n && pat[j + 1] == '&' && !*amp)
                *amp = j;
            j++;
        }
    }
    return n;
}

/* Rewrites pat[i..n) (inside a class when in_class) into out. */
static void rewrite_range(const char *pat, size_t i, size_t n, int in_class, int onig,
                          fw_buf *out)
{
    size_t k, amp, end;

    while (i < n) {
        char c = pat[i];
        if (c == '\\' && i + 1 < n) {
            char d = pat[i + 1];
            if (d == 's')
                fw_buf_puts(out, in_class ? WHITE_SPACE_SET : "[" WHITE_SPACE_SET "]");
            else if (d == 'S' && !in_class)
                fw_buf_puts(out, "[^" WHITE_SPACE_SET "]");
            else if ((d == 'p' || d == 'P') && i + 2 < n &&
                     (k = rewrite_property(pat, i, in_class, onig, out)) > 0) {
                i += k;
                continue;
            } else
                fw_buf_append(out, pat + i, 2);
            i += 2;
            continue;
        }
        if (!in_class && c == '[') {
            end = class_end(pat, i, n, &amp);
            if (amp && pat[i + 1] != '^') {
                /* Oniguruma's intersection [X&&Y]: a code point in Y (checked
                 * by lookahead) that is also in X. */
                size_t y = amp + 2, y_end = end - 1, dummy;
                fw_buf_puts(out, "(?:(?=");
                if (pat[y] == '[' && class_end(pat, y, y_end, &dummy) == y_end) {
                    rewrite_range(pat, y, y_end, 0, onig, out);
                } else {
                    fw_buf_putc(out, '[');
                    rewrite_range(pat, y, y_end, 1, onig, out);
                    fw_buf_putc(out, ']');
                }
                fw_buf_puts(out, ")[");
                rewrite_range(pat, i + 1, amp, 1, onig, out);
                fw_buf_puts(out, "])");
                i = end;
                continue;
            }
            in_class = 1;
            fw_buf_putc(out, c);
            i++;
            if (i < n && pat[i] == '^')
                fw_buf_putc(out, pat[i++]);
            if (i < n && pat[i] == ']')
                fw_buf_putc(out, pat[i++]);   /* a literal ] first in a class */
            continue;
        }
        if (in_class && c == '[' && i + 1 < n && pat[i + 1] == ':') {
            const char *e = strstr(pat + i + 2, ":]");
            k = e ? (size_t)(e - (pat + i)) + 2 : n - i;
            fw_buf_append(out, pat + i, k);   /* a POSIX class such as [:alpha:] */
            i += k;
            continue;
        }
        if (in_class && c == ']')
            in_class = 0;
        fw_buf_putc(out, c);
        i++;
    }
}

static int rewrite_pattern(const char *pat, int onig, fw_buf *out)
{
    rewrite_range(pat, 0, strlen(pat), 0, onig, out);
    fw_buf_putc(out, '\0');
    return out->oom ? -1 : 0;
}

fw_status fw_tok_regex_compile(fw_tok_pretok *pt, const char *pattern, int literal, int onig,
                               fw_err *err)
{
    int code;
    PCRE2_SIZE at;
    /* PCRE2_LITERAL refuses UCP (meaningless without classes). */
    uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    fw_buf b;

    fw_buf_init(&b);
    if (!literal && rewrite_pattern(pattern, onig, &b)) {
        fw_buf_deinit(&b);
        return fw_err_set(err, FW_ERR_NOMEM, "regex: out of memory");
    }
    pt->re = pcre2_compile((PCRE2_SPTR)(literal ? pattern : b.data), PCRE2_ZERO_TERMINATED, opts,
                           &code, &at, NULL);
    fw_buf_deinit(&b);
    if (!pt->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return fw_err_set(err, FW_ERR_INVALID, "regex at offset %zu: %s", (size_t)at,
                          (const char *)msg);
    }
    pt->jit = pcre2_jit_compile(pt->re, PCRE2_JIT_COMPLETE) == 0;
    return FW_OK;
}

static fw_status parse_normalizer(loader *L, const cJSON *n, fw_err *err)
{
    fw_tokenizer *t = L->t;
    const char *type;
    int form = 0;

    if (!n || cJSON_IsNull(n))
        return FW_OK;
    if (!cJSON_IsObject(n) || !(type = json_type(n)))
        return fw_err_set(err, FW_ERR_INVALID, "%s: normalizer: expected an object with a type",
                          L->path);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers"), *it;
        if (!cJSON_IsArray(list))
            return fw_err_set(err, FW_ERR_INVALID, "%s: normalizer Sequence: no normalizers",
                              L->path);
        cJSON_ArrayForEach(it, list) {
            fw_status st = parse_normalizer(L, it, err);
            if (st != FW_OK)
                return st;
        }
        return FW_OK;
    }
    if (!strcmp(type, "NFC"))
        form = FW_NORM_NFC;
    else if (!strcmp(type, "NFD"))
        form = FW_NORM_NFD;
    else if (!strcmp(type, "NFKC"))
        form = FW_NORM_NFKC;
    else if (!strcmp(type, "NFKD"))
        form = FW_NORM_NFKD;
    else
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: normalizer %s is not supported", L->path,
                          type);
    if (t->n_norms == FW_TOK_MAX_NORMS)
        return fw_err_set(err, FW_ERR_LIMIT, "%s: more than %d normalizers", L->path,
                          FW_TOK_MAX_NORMS);
    t->norms[t->n_norms++] = form;
    return FW_OK;
}

static fw_tok_pretok *new_pretok(loader *L, int kind, fw_err *err)
{
    fw_tokenizer *t = L->t;
    fw_tok_pretok *pt;

    if (t->n_pretoks == FW_TOK_MAX_PRETOKS) {
        fw_err_set(err, FW_ERR_LIMIT, "%s: more than %d pre-tokenizers", L->path,
                   FW_TOK_MAX_PRETOKS);
        return NULL;
    }
    pt = &t->pretoks[t->n_pretoks++];
    memset(pt, 0, sizeof *pt);
    pt->kind = kind;
    pt->behavior = FW_SPLIT_ISOLATED;
    return pt;
}

static int parse_behavior(const char *s)
{
    static const struct { const char *name; int v; } names[] = {
        {"Removed", FW_SPLIT_REMOVED},        {"Isolated", FW_SPLIT_ISOLATED},
        {"MergedWithPrevious", FW_SPLIT_MERGED_PREV}, {"MergedWithNext", FW_SPLIT_MERGED_NEXT},
        {"Contiguous", FW_SPLIT_CONTIGUOUS},
    };
    size_t i;

    for (i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name))
            return names[i].v;
    return 0;
}

static fw_status parse_pretok(loader *L, const cJSON *n, fw_err *err)
{
    fw_tokenizer *t = L->t;
    const char *type;
    fw_tok_pretok *pt;
    fw_status st;

    if (!n || cJSON_IsNull(n))
        return FW_OK;
    if (!cJSON_IsObject(n) || !(type = json_type(n)))
        return fw_err_set(err, FW_ERR_INVALID,
                          "%s: pre_tokenizer: expected an object with a type", L->path);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "pretokenizers"), *it;
        if (!cJSON_IsArray(list))
            return fw_err_set(err, FW_ERR_INVALID,
                              "%s: pre_tokenizer Sequence: no pretokenizers", L->path);
        cJSON_ArrayForEach(it, list) {
            st = parse_pretok(L, it, err);
            if (st != FW_OK)
                return st;
        }
        return FW_OK;
    }
    if (!strcmp(type, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        const cJSON *lit = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(n, "behavior");
        if (!(pt = new_pretok(L, FW_PRETOK_SPLIT, err)))
            return err ? (fw_status)err->code : FW_ERR_LIMIT;
        if (!cJSON_IsString(re) && !cJSON_IsString(lit))
            return fw_err_set(err, FW_ERR_INVALID, "%s: Split: pattern needs Regex or String",
                              L->path);
        pt->behavior = parse_behavior(cJSON_IsString(beh) ? beh->valuestring : NULL);
        if (!pt->behavior)
            return fw_err_set(err, FW_ERR_INVALID, "%s: Split: unknown behavior", L->path);
        pt->invert = json_flag(n, "invert", 0);
        st = fw_tok_regex_compile(pt, cJSON_IsString(re) ? re->valuestring : lit->valuestring,
                                  !cJSON_IsString(re), 1, err);
        return st == FW_OK || !err ? st : fw_err_prefix(err, "%s: Split: ", L->path);
    }
    if (!strcmp(type, "ByteLevel")) {
        if (!(pt = new_pretok(L, FW_PRETOK_BYTELEVEL, err)))
            return err ? (fw_status)err->code : FW_ERR_LIMIT;
        t->byte_level = 1;
        pt->add_prefix_space = json_flag(n, "add_prefix_space", 1);
        if (json_flag(n, "use_regex", 1)) {
            st = fw_tok_regex_compile(pt, gpt2_pattern, 0, 1, err);
            if (st != FW_OK)
                return err ? fw_err_prefix(err, "%s: ByteLevel: ", L->path) : st;
        }
        return FW_OK;
    }
    if (!strcmp(type, "Digits")) {
        if (!(pt = new_pretok(L, FW_PRETOK_SPLIT, err)))
            return err ? (fw_status)err->code : FW_ERR_LIMIT;
        pt->behavior = json_flag(n, "individual_digits", 0) ? FW_SPLIT_ISOLATED
                                                            : FW_SPLIT_CONTIGUOUS;
        st = fw_tok_regex_compile(pt, "\\p{N}", 0, 1, err);
        return st == FW_OK || !err ? st : fw_err_prefix(err, "%s: Digits: ", L->path);
    }
    return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: pre_tokenizer %s is not supported", L->path,
                      type);
}

static fw_status parse_decoder(loader *L, const cJSON *n, fw_err *err)
{
    const char *type;

    if (!n || cJSON_IsNull(n))
        return FW_OK;
    if (!cJSON_IsObject(n) || !(type = json_type(n)))
        return fw_err_set(err, FW_ERR_INVALID, "%s: decoder: expected an object with a type",
                          L->path);
    if (!strcmp(type, "ByteLevel")) {
        L->t->byte_level = 1;
        return FW_OK;
    }
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "decoders"), *it;
        cJSON_ArrayForEach(it, list) {
            fw_status st = parse_decoder(L, it, err);
            if (st != FW_OK)
                return st;
        }
        return FW_OK;
    }
    return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: decoder %s is not supported", L->path, type);
}

fw_status fw_tok_add_added(fw_tokenizer *t, const fw_tok_added *a, fw_err *err)
{
    fw_tok_added *na;
    char *c;

    if (a->len == 0)
        return FW_OK;   /* an empty token can never match */
    na = realloc(t->added, (t->n_added + 1) * sizeof *na);
    if (!na)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory for added tokens");
    t->added = na;
    c = malloc(a->len + 1);
    if (!c)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory for added tokens");
    memcpy(c, a->content, a->len);
    c[a->len] = '\0';
    na[t->n_added] = *a;
    na[t->n_added].content = c;
    t->n_added++;
    return FW_OK;
}

static fw_status parse_added(loader *L, const cJSON *list, fw_err *err)
{
    fw_tokenizer *t = L->t;
    const cJSON *it;
    size_t i = 0;

    if (!list || cJSON_IsNull(list))
        return FW_OK;
    if (!cJSON_IsArray(list))
        return fw_err_set(err, FW_ERR_INVALID, "%s: added_tokens: expected an array", L->path);
    cJSON_ArrayForEach(it, list) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        fw_tok_added a;
        char what[48];
        fw_status st;

        snprintf(what, sizeof what, "added_tokens[%zu]", i++);
        if (!cJSON_IsString(content))
            return fw_err_set(err, FW_ERR_INVALID, "%s: %s: content must be a string", L->path,
                              what);
        memset(&a, 0, sizeof a);
        st = json_id(L, cJSON_GetObjectItemCaseSensitive(it, "id"), what, &a.id, err);
        if (st != FW_OK)
            return st;
        a.content = content->valuestring;
        a.len = strlen(content->valuestring);
        a.special = (uint8_t)json_flag(it, "special", 0);
        a.lstrip = (uint8_t)json_flag(it, "lstrip", 0);
        a.rstrip = (uint8_t)json_flag(it, "rstrip", 0);
        a.single_word = (uint8_t)json_flag(it, "single_word", 0);
        a.normalized = (uint8_t)json_flag(it, "normalized", !a.special);
        if (a.len == 0)
            continue;
        /* decode() turns the id into the content, through the decoder. */
        token_string_bytes(t, a.content, a.len, &L->a);
        if (L->a.oom)
            return fw_err_set(err, FW_ERR_NOMEM, "%s: out of memory", L->path);
        st = fw_tok_set_bytes(t, a.id, L->a.data ? L->a.data : "", L->a.len, err);
        if (st != FW_OK)
            return err ? fw_err_prefix(err, "%s: %s: ", L->path, what) : st;
        t->flags[a.id] |= FW_TOKF_ADDED | (a.special ? FW_TOKF_SPECIAL : 0);
        st = fw_tok_add_added(t, &a, err);
        if (st != FW_OK)
            return st;
    }
    return FW_OK;
}

/* Splits a merge ("a b" or ["a", "b"]) into its two token strings. */
static int merge_parts(const cJSON *m, const char **a, size_t *na, const char **b, size_t *nb)
{
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || strchr(sp + 1, ' '))
            return -1;
        *a = s;
        *na = (size_t)(sp - s);
        *b = sp + 1;
        *nb = strlen(sp + 1);
        return 0;
    }
    if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
        cJSON_IsString(m->child->next)) {
        *a = m->child->valuestring;
        *na = strlen(*a);
        *b = m->child->next->valuestring;
        *nb = strlen(*b);
        return 0;
    }
    return -1;
}

static fw_status parse_merges(loader *L, const cJSON *merges, fw_err *err)
{
    fw_tokenizer *t = L->t;
    const cJSON *m;
    int32_t rank = 0;
    fw_status st;

    if (!merges || cJSON_IsNull(merges))
        return fw_tok_merges_init(&t->merges, 0, err);
    if (!cJSON_IsArray(merges))
        return fw_err_set(err, FW_ERR_INVALID, "%s: model.merges: expected an array", L->path);
    st = fw_tok_merges_init(&t->merges, (size_t)cJSON_GetArraySize(merges), err);
    if (st != FW_OK)
        return st;
    cJSON_ArrayForEach(m, merges) {
        const char *a, *b;
        size_t na, nb;
        int32_t ia, ib, id;

        if (merge_parts(m, &a, &na, &b, &nb))
            return fw_err_set(err, FW_ERR_INVALID,
                              "%s: model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]",
                              L->path, (int)rank);
        token_string_bytes(t, a, na, &L->a);
        ia = fw_tok_map_find(t, L->a.data ? L->a.data : "", L->a.len);
        token_string_bytes(t, b, nb, &L->b);
        ib = fw_tok_map_find(t, L->b.data ? L->b.data : "", L->b.len);
        fw_buf_append(&L->a, L->b.data ? L->b.data : "", L->b.len);
        if (L->a.oom || L->b.oom)
            return fw_err_set(err, FW_ERR_NOMEM, "%s: out of memory", L->path);
        id = fw_tok_map_find(t, L->a.data ? L->a.data : "", L->a.len);
        if (ia < 0 || ib < 0 || id < 0)
            return fw_err_set(err, FW_ERR_INVALID,
                              "%s: model.merges[%d]: token '%.*s' is not in the vocabulary",
                              L->path, (int)rank,
                              ia < 0 ? (int)na : ib < 0 ? (int)nb : (int)(na + nb),
                              ia < 0 ? a : ib < 0 ? b : "(merged)");
        fw_tok_merges_put(&t->merges, ia, ib, rank, id);
        rank++;
    }
    return FW_OK;
}

static fw_status parse_model(loader *L, const cJSON *model, const cJSON *added, fw_err *err)
{
    fw_tokenizer *t = L->t;
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *it;
    const char *type = json_type(model);
    const cJSON *v;
    int32_t max_id = -1, id;
    fw_status st;

    if (!cJSON_IsObject(model))
        return fw_err_set(err, FW_ERR_INVALID, "%s: model: expected an object", L->path);
    if (type && strcmp(type, "BPE"))
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: model type %s is not supported (BPE only)",
                          L->path, type);
    if (!cJSON_IsObject(vocab))
        return fw_err_set(err, FW_ERR_INVALID, "%s: model.vocab: expected an object", L->path);
    v = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    if (cJSON_IsString(v) && v->valuestring[0])
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: continuing_subword_prefix is not supported",
                          L->path);
    v = cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix");
    if (cJSON_IsString(v) && v->valuestring[0])
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: end_of_word_suffix is not supported",
                          L->path);
    v = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (cJSON_IsNumber(v) && v->valuedouble > 0)
        return fw_err_set(err, FW_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", L->path);
    t->ignore_merges = json_flag(model, "ignore_merges", 0);

    /* Size the id table from the largest id, vocab and added tokens. */
    cJSON_ArrayForEach(it, vocab) {
        st = json_id(L, it, "model.vocab", &id, err);
        if (st != FW_OK)
            return st;
        if (id > max_id)
            max_id = id;
    }
    cJSON_ArrayForEach(it, added) {
        st = json_id(L, cJSON_GetObjectItemCaseSensitive(it, "id"), "added_tokens", &id, err);
        if (st != FW_OK)
            return st;
        if (id > max_id)
            max_id = id;
    }
    if (max_id < 0)
        return fw_err_set(err, FW_ERR_INVALID, "%s: empty vocabulary", L->path);
    st = fw_tok_alloc_ids(t, max_id + 1, err);
    if (st != FW_OK)
        return err ? fw_err_prefix(err, "%s: ", L->path) : st;
    cJSON_ArrayForEach(it, vocab) {
        id = (int32_t)it->valuedouble;
        token_string_bytes(t, it->string, strlen(it->string), &L->a);
        if (L->a.oom)
            return fw_err_set(err, FW_ERR_NOMEM, "%s: out of memory", L->path);
        st = fw_tok_set_bytes(t, id, L->a.data ? L->a.data : "", L->a.len, err);
        if (st != FW_OK)
            return err ? fw_err_prefix(err, "%s: model.vocab: ", L->path) : st;
        t->flags[id] |= FW_TOKF_VOCAB;
    }
    st = fw_tok_map_build(t, err);
    if (st != FW_OK)
        return st;
    return parse_merges(L, cJSON_GetObjectItemCaseSensitive(model, "merges"), err);
}

fw_status fw_tok_finish(fw_tokenizer *t, fw_err *err)
{
    size_t i, k;
    int b;
    fw_status st;

    /* Added tokens that share an id with a vocab token replaced its bytes;
     * the map is rebuilt over the final bytes. */
    st = fw_tok_map_build(t, err);
    if (st != FW_OK)
        return st;
    for (b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        t->byte_id[b] = fw_tok_map_find(t, &c, 1);
    }
    if (!t->ignore_merges && (st = fw_tok_mark_whole(t, err)) != FW_OK)
        return st;
    /* Sort by id, stably (insertion sort: a few hundred tokens at most), so
     * a later duplicate of an id wins, as in Hugging Face's map. */
    for (i = 1; i < t->n_added; i++) {
        fw_tok_added a = t->added[i];
        for (k = i; k > 0 && t->added[k - 1].id > a.id; k--)
            t->added[k] = t->added[k - 1];
        t->added[k] = a;
    }
    for (i = 0, k = 0; i < t->n_added; i++) {
        if (k > 0 && t->added[k - 1].id == t->added[i].id) {
            free(t->added[k - 1].content);
            t->added[k - 1] = t->added[i];
        } else {
            t->added[k++] = t->added[i];
        }
    }
    t->n_added = k;
    /* Matching order: by first byte, then longest first (leftmost-longest). */
    t->match_order = malloc((t->n_added ? t->n_added : 1) * sizeof *t->match_order);
    if (!t->match_order)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    memset(t->first_start, 0, sizeof t->first_start);
    for (i = 0; i < t->n_added; i++) {
        t->first_start[(unsigned char)t->added[i].content[0] + 1]++;
        if (t->added[i].normalized && t->n_norms > 0)
            t->has_normalized_added = 1;
        if (t->added[i].normalized && t->n_norms == 0)
            t->added[i].normalized = 0;   /* nothing normalizes: one pass finds both */
    }
    for (b = 0; b < 256; b++)
        t->first_start[b + 1] += t->first_start[b];
    {
        uint32_t fill[256];
        memcpy(fill, t->first_start, sizeof fill);
        for (i = 0; i < t->n_added; i++)
            t->match_order[fill[(unsigned char)t->added[i].content[0]]++] = (uint32_t)i;
    }
    /* Insertion sort each bucket by length, longest first (buckets are tiny). */
    for (b = 0; b < 256; b++) {
        uint32_t s = t->first_start[b], e = t->first_start[b + 1], x, y;
        for (x = s + 1; x < e; x++) {
            uint32_t v = t->match_order[x];
            for (y = x; y > s && t->added[t->match_order[y - 1]].len < t->added[v].len; y--)
                t->match_order[y] = t->match_order[y - 1];
            t->match_order[y] = v;
        }
    }
    return FW_OK;
}

static fw_status load_json(fw_tokenizer *t, const char *path, fw_err *err)
{
    loader L;
    char *data = NULL;
    size_t len = 0;
    const char *end = NULL;
    cJSON *root;
    const cJSON *added;
    fw_status st;

    memset(&L, 0, sizeof L);
    L.t = t;
    L.path = path;
    st = fw_file_load(path, FW_TOK_MAX_FILE, &data, &len, err);
    if (st != FW_OK)
        return st;
    root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!root) {
        size_t at = end && end >= data && end <= data + len ? (size_t)(end - data) : 0;
        free(data);
        return fw_err_set(err, FW_ERR_INVALID, "%s: invalid JSON near byte %zu", path, at);
    }
    free(data);
    fw_buf_init(&L.a);
    fw_buf_init(&L.b);
    if (!cJSON_IsObject(root)) {
        st = fw_err_set(err, FW_ERR_INVALID, "%s: expected a JSON object", path);
        goto done;
    }
    added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (added && !cJSON_IsArray(added) && !cJSON_IsNull(added)) {
        st = fw_err_set(err, FW_ERR_INVALID, "%s: added_tokens: expected an array", path);
        goto done;
    }
    /* The pre-tokenizer and decoder say whether the vocab is byte-level,
     * which decides how its keys are read. */
    if ((st = parse_normalizer(&L, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), err)) ||
        (st = parse_pretok(&L, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), err)) ||
        (st = parse_decoder(&L, cJSON_GetObjectItemCaseSensitive(root, "decoder"), err)))
        goto done;
    if (!t->byte_level) {
        st = fw_err_set(err, FW_ERR_UNSUPPORTED,
                        "%s: only byte-level BPE is supported (no ByteLevel pre-tokenizer or "
                        "decoder)", path);
        goto done;
    }
    if ((st = parse_model(&L, cJSON_GetObjectItemCaseSensitive(root, "model"), added, err)) ||
        (st = parse_added(&L, added, err)))
        goto done;
    st = fw_tok_finish(t, err);
done:
    fw_buf_deinit(&L.a);
    fw_buf_deinit(&L.b);
    cJSON_Delete(root);
    return st;
}

fw_status fw_tokenizer_load(const char *dir, fw_tokenizer **out, fw_err *err)
{
    fw_tokenizer *t;
    char path[4096];
    struct stat st_buf;
    fw_status st;

    *out = NULL;
    if (!dir)
        return fw_err_set(err, FW_ERR_INVALID, "tokenizer: no folder given");
    t = calloc(1, sizeof *t);
    if (!t)
        return fw_err_set(err, FW_ERR_NOMEM, "tokenizer: out of memory");
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path) {
        free(t);
        return fw_err_set(err, FW_ERR_INVALID, "tokenizer: folder name too long");
    }
    if (stat(path, &st_buf) == 0) {
        st = load_json(t, path, err);
    } else {
        snprintf(path, sizeof path, "%s/tiktoken.model", dir);
        if (stat(path, &st_buf) == 0)
            st = fw_tok_load_tiktoken(t, dir, err);
        else
            st = fw_err_set(err, FW_ERR_NOT_FOUND, "%s: no tokenizer.json or tiktoken.model",
                            dir);
    }
    if (st != FW_OK) {
        fw_tokenizer_destroy(t);
        return st;
    }
    *out = t;
    return FW_OK;
}

void fw_tokenizer_destroy(fw_tokenizer *t)
{
    size_t i;
    int k;

    if (!t)
        return;
    for (k = 0; k < t->n_pretoks; k++)
        pcre2_code_free(t->pretoks[k].re);
    for (i = 0; i < t->n_added; i++)
        free(t->added[i].content);
    free(t->added);
    free(t->match_order);
    fw_tok_merges_free(&t->merges);
    free(t->vocab.slots);
    free(t->bytes);
    free(t->off);
    free(t->len);
    free(t->flags);
    free(t);
}

/* ---------------------------------------------------------------- decode */

static const char *decode_bytes(const fw_tokenizer *t, int32_t id, int skip_special, size_t *n)
{
    if (id < 0 || id >= t->n_ids || t->len[id] == UINT32_MAX)
        return NULL;
    if (skip_special && (t->flags[id] & FW_TOKF_SPECIAL))
        return NULL;
    *n = t->len[id];
    return t->bytes + t->off[id];
}

fw_status fw_tokenizer_decode(const fw_tokenizer *t, const int32_t *ids, size_t n,
                              int skip_special, char **text, size_t *len, fw_err *err)
{
    fw_buf raw, out;
    size_t i;

    *text = NULL;
    *len = 0;
    fw_buf_init(&raw);
    fw_buf_init(&out);
    for (i = 0; i < n; i++) {
        size_t k;
        const char *b = decode_bytes(t, ids[i], skip_special, &k);
        if (b)
            fw_buf_append(&raw, b, k);
    }
    fw_utf8_lossy_append(&out, (const unsigned char *)raw.data, raw.len, 1);
    fw_buf_putc(&out, '\0');
    fw_buf_deinit(&raw);
    if (out.oom || raw.oom) {
        fw_buf_deinit(&out);
        return fw_err_set(err, FW_ERR_NOMEM, "decode: out of memory");
    }
    *len = out.len - 1;
    *text = fw_buf_take(&out);
    return FW_OK;
}

/* ----------------------------------------------------------------- query */

int32_t fw_tokenizer_vocab_size(const fw_tokenizer *t)
{
    return t ? t->n_ids : 0;
}

static const fw_tok_added *added_by_id(const fw_tokenizer *t, int32_t id)
{
    size_t lo = 0, hi = t->n_added;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->added[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_added && t->added[lo].id == id ? &t->added[lo] : NULL;
}

const char *fw_tokenizer_token_bytes(const fw_tokenizer *t, int32_t id, size_t *len)
{
    if (!t || id < 0 || id >= t->n_ids || t->len[id] == UINT32_MAX)
        return NULL;
    if (t->flags[id] & FW_TOKF_ADDED) {
        const fw_tok_added *a = added_by_id(t, id);
        if (a) {
            *len = a->len;
            return a->content;
        }
    }
    *len = t->len[id];
    return t->bytes + t->off[id];
}

int fw_tokenizer_is_special(const fw_tokenizer *t, int32_t id)
{
    return t && id >= 0 && id < t->n_ids && (t->flags[id] & FW_TOKF_SPECIAL) != 0;
}

int32_t fw_tokenizer_token_id(const fw_tokenizer *t, const char *token_text)
{
    size_t i, n;
    fw_buf b;
    int32_t id;

    if (!t || !token_text)
        return -1;
    n = strlen(token_text);
    for (i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].content, token_text, n))
            return t->added[i].id;
    if (fw_utf8_valid_prefix((const unsigned char *)token_text, n) != n)
        return -1;
    fw_buf_init(&b);
    token_string_bytes(t, token_text, n, &b);
    id = b.oom ? -1 : fw_tok_map_find(t, b.data ? b.data : "", b.len);
    fw_buf_deinit(&b);
    return id;
}

int32_t fw_tokenizer_bytes_id(const fw_tokenizer *t, const char *bytes, size_t len)
{
    size_t i;

    if (!t || (!bytes && len))
        return -1;
    for (i = 0; i < t->n_added; i++)
        if (t->added[i].len == len && !memcmp(t->added[i].content, bytes, len))
            return t->added[i].id;
    return fw_tok_map_find(t, bytes ? bytes : "", len);
}
