/* core/tokenizer_tiktoken.c -- tiktoken rank files (Kimi K2's tiktoken.model).
 *
 * Each line is "<base64 token bytes> <rank>"; the rank is the id.  tiktoken
 * merges the adjacent pair whose concatenation has the lowest rank, so every
 * way of splitting a token into two tokens becomes a merge (left, right) ->
 * (rank of the whole, id of the whole); the shared BPE then gives tiktoken's
 * result.  A piece found whole in the ranks is one token (ignore_merges).
 *
 * Special tokens come from tokenizer_config.json's added_tokens_decoder; the
 * 256 ids after the ranks are reserved specials, named
 * <|reserved_token_ID|> unless the config names them (as tokenization_kimi.py
 * does).  The split regex is Kimi's; tiktoken runs it with Rust's regex, so
 * it is compiled with onig = 0 (a bare \p{Han} means Script_Extensions). */
#include "tokenizer_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "readfile.h"

#define KIMI_RESERVED 256

/* pat_str of tokenization_kimi.py, as written there; the pattern rewriter
 * turns its class intersections into lookaheads for PCRE2. */
static const char kimi_pattern[] =
    "[\\p{Han}]+"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]*"
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]+"
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+"
    "|\\s+(?!\\S)"
    "|\\s+";

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes base64 (padding optional) into out; -1 on a bad character. */
static int b64_decode(const char *s, size_t n, fw_buf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i;

    fw_buf_reset(out);
    for (i = 0; i < n && s[i] != '='; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            fw_buf_putc(out, (char)(acc >> bits & 0xFF));
        }
    }
    return out->oom ? -1 : 0;
}

typedef struct rank_line {
    size_t b64, b64_len;   /* offsets into the file */
    long rank;
} rank_line;

static fw_status parse_ranks(fw_tokenizer *t, const char *path, char *data, size_t len,
                             fw_err *err)
{
    rank_line *lines = NULL;
    size_t n = 0, cap = 0, pos = 0, line_no = 0, i;
    long max_rank = -1;
    fw_buf b;
    fw_status st = FW_OK;

    while (pos < len) {
        size_t eol = pos, sp;
        char *endp;
        long r;

        while (eol < len && data[eol] != '\n')
            eol++;
        line_no++;
        if (eol > pos && data[eol - 1] == '\r')
            data[eol - 1] = '\n';
        for (sp = pos; sp < eol && data[sp] != ' '; sp++)
            ;
        if (eol == pos || (eol == pos + 1 && data[pos] == '\n')) {
            pos = eol + 1;
            continue;   /* blank line */
        }
        if (sp == eol || sp == pos) {
            free(lines);
            return fw_err_set(err, FW_ERR_INVALID, "%s:%zu: expected \"BASE64 RANK\"", path,
                              line_no);
        }
        data[eol < len ? eol : len] = '\0';   /* strtol stops here (the buffer has a spare NUL) */
        r = strtol(data + sp + 1, &endp, 10);
        if (endp == data + sp + 1 || (*endp && *endp != '\n') || r < 0 ||
            r >= FW_TOK_MAX_IDS - KIMI_RESERVED) {
            free(lines);
            return fw_err_set(err, FW_ERR_INVALID, "%s:%zu: bad rank", path, line_no);
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            rank_line *nl = realloc(lines, nc * sizeof *nl);
            if (!nl) {
                free(lines);
                return fw_err_set(err, FW_ERR_NOMEM, "%s: out of memory", path);
            }
            lines = nl;
            cap = nc;
        }
        lines[n].b64 = pos;
        lines[n].b64_len = sp - pos;
        lines[n].rank = r;
        n++;
        if (r > max_rank)
            max_rank = r;
        pos = eol + 1;
    }
    if (n == 0) {
        free(lines);
        return fw_err_set(err, FW_ERR_INVALID, "%s: no ranks", path);
    }
    st = fw_tok_alloc_ids(t, (int32_t)(max_rank + 1 + KIMI_RESERVED), err);
    if (st != FW_OK) {
        free(lines);
        return st;
    }
    fw_buf_init(&b);
    for (i = 0; i < n && st == FW_OK; i++) {
        if (b64_decode(data + lines[i].b64, lines[i].b64_len, &b) || b.len == 0) {
            st = fw_err_set(err, FW_ERR_INVALID, "%s: rank %ld: bad base64", path, lines[i].rank);
            break;
        }
        st = fw_tok_set_bytes(t, (int32_t)lines[i].rank, b.data, b.len, err);
        t->flags[lines[i].rank] |= FW_TOKF_VOCAB;
    }
    fw_buf_deinit(&b);
    free(lines);
    return st;
}

/* Every split of every token into two tokens is a merge. */
static fw_status build_merges(fw_tokenizer *t, fw_err *err)
{
    size_t n_pairs = 0;
    int pass;
    int32_t id;
    fw_status st;

    for (pass = 0; pass < 2; pass++) {
        if (pass == 1 && (st = fw_tok_merges_init(&t->merges, n_pairs, err)) != FW_OK)
            return st;
        for (id = 0; id < t->n_ids; id++) {
            const char *p = t->bytes + t->off[id];
            size_t len = t->len[id], k;
            if (!(t->flags[id] & FW_TOKF_VOCAB) || len < 2)
                continue;
            for (k = 1; k < len; k++) {
                int32_t a = fw_tok_map_find(t, p, k), b;
                if (a < 0)
                    continue;
                b = fw_tok_map_find(t, p + k, len - k);
                if (b < 0)
                    continue;
                if (pass == 0)
                    n_pairs++;
                else
                    fw_tok_merges_put(&t->merges, a, b, id, id);
            }
        }
    }
    return FW_OK;
}

static fw_status load_specials(fw_tokenizer *t, const char *dir, int32_t n_base, fw_err *err)
{
    char path[4096], *data = NULL, name[64];
    size_t len;
    cJSON *root = NULL;
    const cJSON *dec = NULL, *it;
    int32_t id;
    fw_status st;

    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    st = fw_file_load(path, FW_TOK_MAX_FILE, &data, &len, err);
    if (st == FW_ERR_NOT_FOUND)
        st = FW_OK;   /* no config: only the reserved names */
    else if (st != FW_OK)
        return st;
    if (data) {
        root = cJSON_ParseWithLength(data, len);
        free(data);
        if (!root)
            return fw_err_set(err, FW_ERR_INVALID, "%s: invalid JSON", path);
        dec = cJSON_GetObjectItemCaseSensitive(root, "added_tokens_decoder");
        if (dec && !cJSON_IsObject(dec)) {
            cJSON_Delete(root);
            return fw_err_set(err, FW_ERR_INVALID, "%s: added_tokens_decoder: expected an object",
                              path);
        }
    }
    /* Named entries first; then reserved names for the ids left over. */
    cJSON_ArrayForEach(it, dec) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
        char *endp;
        long v = strtol(it->string, &endp, 10);
        fw_tok_added a;
        if (*endp || v < 0 || v >= t->n_ids || !cJSON_IsString(content)) {
            st = fw_err_set(err, FW_ERR_INVALID, "%s: added_tokens_decoder[\"%s\"]: bad entry",
                            path, it->string);
            break;
        }
        memset(&a, 0, sizeof a);
        a.id = (int32_t)v;
        a.content = content->valuestring;
        a.len = strlen(a.content);
        a.special = (uint8_t)(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special")) ||
                              a.id >= n_base);
        a.lstrip = (uint8_t)cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "lstrip"));
        a.rstrip = (uint8_t)cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "rstrip"));
        a.single_word = (uint8_t)cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "single_word"));
        if ((st = fw_tok_set_bytes(t, a.id, a.content, a.len, err)) ||
            (st = fw_tok_add_added(t, &a, err)))
            break;
        t->flags[a.id] |= FW_TOKF_ADDED | (a.special ? FW_TOKF_SPECIAL : 0);
    }
    cJSON_Delete(root);
    if (st != FW_OK)
        return st;
    for (id = n_base; id < n_base + KIMI_RESERVED; id++) {
        fw_tok_added a;
        if (t->flags[id] & FW_TOKF_ADDED)
            continue;
        snprintf(name, sizeof name, "<|reserved_token_%d|>", (int)id);
        memset(&a, 0, sizeof a);
        a.id = id;
        a.content = name;
        a.len = strlen(name);
        a.special = 1;
        if ((st = fw_tok_set_bytes(t, id, name, a.len, err)) ||
            (st = fw_tok_add_added(t, &a, err)))
            return st;
        t->flags[id] |= FW_TOKF_ADDED | FW_TOKF_SPECIAL;
    }
    return FW_OK;
}

fw_status fw_tok_load_tiktoken(fw_tokenizer *t, const char *dir, fw_err *err)
{
    char path[4096], *data = NULL;
    size_t len;
    int32_t n_base;
    fw_status st;

    snprintf(path, sizeof path, "%s/tiktoken.model", dir);
    st = fw_file_load(path, FW_TOK_MAX_FILE, &data, &len, err);
    if (st != FW_OK)
        return st;
    st = parse_ranks(t, path, data, len, err);
    free(data);
    if (st != FW_OK)
        return st;
    n_base = t->n_ids - KIMI_RESERVED;
    t->ignore_merges = 1;
    if ((st = fw_tok_map_build(t, err)) || (st = build_merges(t, err)) ||
        (st = load_specials(t, dir, n_base, err)))
        return st;
    st = fw_tok_regex_compile(&t->pretoks[0], kimi_pattern, 0, 0, err);
    if (st != FW_OK)
        return err ? fw_err_prefix(err, "tiktoken split regex: ") : st;
    t->pretoks[0].kind = FW_PRETOK_SPLIT;
    t->pretoks[0].behavior = FW_SPLIT_ISOLATED;
    t->n_pretoks = 1;
    return fw_tok_finish(t, err);
}
