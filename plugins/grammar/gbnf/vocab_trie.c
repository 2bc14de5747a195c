/* plugins/grammar/gbnf/vocab_trie.c -- a byte trie over the vocabulary.
 *
 * Built once per compiled grammar by sorting the token byte strings: the
 * sorted order is the trie's preorder, so the nodes come out as flat arrays
 * (byte, depth, end of subtree) that the mask walk reads front to back and
 * can skip a whole subtree with one jump when its prefix is rejected.
 */
#include "gbnf.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_BYTES 65535

typedef struct tok_ref {
    uint64_t key; /* the first 8 bytes, big-endian, zero-padded */
    const unsigned char *s;
    int32_t len;
    int32_t id;
} tok_ref;

static int cmp_tok(const void *a, const void *b)
{
    const tok_ref *x = a, *y = b;
    int32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, (size_t)n);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts by key with an LSD radix sort (8 passes of one byte), then orders
 * the runs of equal keys exactly: qsort alone spends most of its time in
 * memcmp on 150k tokens. */
static int sort_tokens(tok_ref *refs, int32_t n)
{
    tok_ref *tmp = malloc(((size_t)n + 1) * sizeof *tmp);
    int32_t i, pass, start;

    if (!tmp)
        return -1;
    for (pass = 0; pass < 8; pass++) {
        int32_t count[257] = {0};
        int shift = pass * 8;
        for (i = 0; i < n; i++)
            count[((refs[i].key >> shift) & 0xFF) + 1]++;
        for (i = 0; i < 256; i++)
            count[i + 1] += count[i];
        for (i = 0; i < n; i++)
            tmp[count[(refs[i].key >> shift) & 0xFF]++] = refs[i];
        memcpy(refs, tmp, (size_t)n * sizeof *refs);
    }
    free(tmp);
    for (start = 0; start < n;) {
        int32_t end = start + 1;
        while (end < n && refs[end].key == refs[start].key)
            end++;
        if (end - start > 1)
            qsort(refs + start, (size_t)(end - start), sizeof *refs, cmp_tok);
        start = end;
    }
    return 0;
}

static int is_eos(const fw_vocab *v, int32_t id)
{
    int32_t i;
    for (i = 0; i < v->n_eos; i++)
        if (v->eos_ids[i] == id)
            return 1;
    return 0;
}

fw_status gb_trie_build(const fw_vocab *v, gb_trie **out, fw_err *err)
{
    tok_ref *refs = NULL;
    int32_t *path = NULL; /* node index at each depth of the current path */
    gb_trie *t = NULL;
    int32_t n = 0, i, d, cap_nodes, depth = 0;
    int64_t total = 1;

    *out = NULL;
    if (!v || v->n_tokens < 0 || (v->n_tokens > 0 && (!v->bytes || !v->len)) ||
        v->n_eos < 0 || (v->n_eos > 0 && !v->eos_ids))
        return fw_err_set(err, FW_ERR_INVALID, "vocabulary: missing arrays");
    refs = malloc(((size_t)v->n_tokens + 1) * sizeof *refs);
    t = calloc(1, sizeof *t);
    if (!refs || !t)
        goto nomem;
    for (i = 0; i < v->n_tokens; i++) {
        if (!v->bytes[i] || v->len[i] <= 0 || v->len[i] > MAX_TOKEN_BYTES || is_eos(v, i))
            continue;
        refs[n].s = (const unsigned char *)v->bytes[i];
        refs[n].len = v->len[i];
        refs[n].id = i;
        refs[n].key = 0;
        for (d = 0; d < 8; d++)
            refs[n].key = refs[n].key << 8 | (d < v->len[i] ? refs[n].s[d] : 0);
        total += v->len[i];
        n++;
    }
    if (sort_tokens(refs, n) != 0)
        goto nomem;

    /* nodes <= 1 + total bytes; shrink afterwards */
    cap_nodes = (int32_t)(total < INT32_MAX - 1 ? total : INT32_MAX - 2);
    t->nodes = malloc(((size_t)cap_nodes + 1) * sizeof *t->nodes);
    t->tok = malloc(((size_t)n + 1) * sizeof *t->tok);
    path = malloc((MAX_TOKEN_BYTES + 1) * sizeof *path);
    if (!t->nodes || !t->tok || !path)
        goto nomem;
    memset(&t->nodes[0], 0, sizeof t->nodes[0]);
    t->n_nodes = 1;
    path[0] = 0;
    for (i = 0; i < n; i++) {
        int32_t lcp = 0;
        if (i > 0) {
            int32_t m = refs[i].len < refs[i - 1].len ? refs[i].len : refs[i - 1].len;
            while (lcp < m && refs[i].s[lcp] == refs[i - 1].s[lcp])
                lcp++;
        }
        /* close the nodes of the previous path below the common prefix */
        for (d = depth; d > lcp; d--)
            t->nodes[path[d]].skip = t->n_nodes;
        depth = lcp;
        for (d = lcp; d < refs[i].len; d++) {
            gb_trie_node *nd = &t->nodes[t->n_nodes];
            nd->byte = refs[i].s[d];
            nd->depth = (uint16_t)(d + 1);
            nd->tok_first = t->n_tok;
            nd->skip = 0;
            nd->text = 0;
            path[d + 1] = t->n_nodes++;
        }
        depth = refs[i].len;
        if (depth > t->max_depth)
            t->max_depth = depth;
        t->tok[t->n_tok++] = refs[i].id;
    }
    for (; depth >= 0; depth--)
        t->nodes[path[depth]].skip = t->n_nodes;
    /* text flags: UTF-8 decoder state per node top-down, validity bottom-up */
    {
        signed char *dec = malloc((size_t)t->n_nodes + 1);
        uint8_t *valid = malloc((size_t)t->n_nodes + 1);
        if (!dec || !valid) {
            free(dec);
            free(valid);
            goto nomem;
        }
        for (i = 0; i < t->n_nodes; i++) {
            int32_t c;
            if (i == 0)
                dec[0] = 0;
            for (c = i + 1; c < t->nodes[i].skip; c = t->nodes[c].skip)
                dec[c] = (signed char)(dec[i] < 0 ? -1 : gb_utf8_step(dec[i], t->nodes[c].byte));
        }
        /* valid[i]: 0 = not text below; else 1 + most chars below, capped */
        for (i = t->n_nodes - 1; i >= 0; i--) {
            int32_t c, most = 0;
            int ok = dec[i] >= 0;
            for (c = i + 1; ok && c < t->nodes[i].skip; c = t->nodes[c].skip) {
                int chars = (valid[c] - 1) + ((t->nodes[c].byte & 0xC0) != 0x80);
                ok = valid[c] > 0;
                if (chars > most)
                    most = chars;
            }
            if (most > 254)
                most = 254;
            valid[i] = (uint8_t)(ok ? most + 1 : 0);
            t->nodes[i].text = dec[i] == 0 ? valid[i] : 0;
        }
        free(dec);
        free(valid);
    }
    t->nodes[t->n_nodes].tok_first = t->n_tok; /* sentinel */
    t->nodes[t->n_nodes].skip = t->n_nodes;
    {
        gb_trie_node *shrunk = realloc(t->nodes, ((size_t)t->n_nodes + 1) * sizeof *shrunk);
        if (shrunk)
            t->nodes = shrunk;
    }
    free(path);
    free(refs);
    *out = t;
    return FW_OK;
nomem:
    free(path);
    free(refs);
    gb_trie_free(t);
    return fw_err_set(err, FW_ERR_NOMEM, "out of memory building the vocabulary trie");
}

void gb_trie_free(gb_trie *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->tok);
    free(t);
}
