/* fuzz/fuzz_grammar_common.h -- shared by fuzz_gbnf.c and fuzz_json_schema.c:
 * compile() through the gbnf plugin's vtable against a small vocabulary
 * (the 256 single bytes, a few words, one eos), then walk a matcher with
 * fill_mask / accept_token / accept_bytes.
 * Input: source text, optionally followed by a NUL and bytes that steer the
 * matcher (odd length: a token walk over fill_mask; even: accept_bytes). */
#ifndef FW_FUZZ_GRAMMAR_COMMON_H
#define FW_FUZZ_GRAMMAR_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grammar_gbnf.h"
#include "host_api.h"

#define FZ_N_WORDS 8
#define FZ_N_TOKENS (256 + FZ_N_WORDS + 1)

static const char *const fz_words[FZ_N_WORDS] = {
    "{\"", "\":", "true", "null", "\"}", "  ", "123", "abc",
};

typedef struct fz_vocab {
    char bytes1[256];
    const char *bytes[FZ_N_TOKENS];
    int32_t len[FZ_N_TOKENS];
    int32_t eos;
    fw_vocab v;
} fz_vocab;

static void fz_vocab_init(fz_vocab *z)
{
    int32_t i;
    for (i = 0; i < 256; i++) {
        z->bytes1[i] = (char)i;
        z->bytes[i] = &z->bytes1[i];
        z->len[i] = 1;
    }
    for (i = 0; i < FZ_N_WORDS; i++) {
        z->bytes[256 + i] = fz_words[i];
        z->len[256 + i] = (int32_t)strlen(fz_words[i]);
    }
    z->bytes[FZ_N_TOKENS - 1] = NULL; /* eos: a special token */
    z->len[FZ_N_TOKENS - 1] = 0;
    z->eos = FZ_N_TOKENS - 1;
    z->v.struct_size = sizeof z->v;
    z->v.n_tokens = FZ_N_TOKENS;
    z->v.bytes = z->bytes;
    z->v.len = z->len;
    z->v.n_eos = 1;
    z->v.eos_ids = &z->eos;
}

/* text: NUL-terminated source; walk: bytes steering the matcher. */
static void fz_grammar_run(uint32_t source, const char *text, const uint8_t *walk, size_t n_walk)
{
    static fz_vocab z;
    static int ready;
    const fw_grammar_vtable *vt = fw_grammar_gbnf_desc(fw_host_api_get())->vtable;
    fw_grammar *g = NULL;
    fw_matcher *m = NULL;
    fw_err err = {0};
    uint32_t mask[(FZ_N_TOKENS + 31) / 32];
    size_t i;

    if (!ready) {
        fz_vocab_init(&z);
        ready = 1;
    }
    if (vt->compile(source, text, (walk && n_walk & 1) ? &z.v : NULL, &g, &err) != FW_OK) {
        if (!err.msg[0])
            abort(); /* a refusal says where */
        return;
    }
    if (vt->matcher_new(g, &m, &err) != FW_OK) {
        vt->grammar_free(g);
        return;
    }
    if (n_walk & 1) {
        /* token walk: take the allowed token the next walk byte points at */
        for (i = 0; i < n_walk && i < 64; i++) {
            int32_t t, pick = -1, k = walk[i];
            if (vt->fill_mask(m, mask, &err) != FW_OK)
                break;
            for (t = 0; t < FZ_N_TOKENS; t++)
                if (mask[t / 32] >> (t % 32) & 1) {
                    pick = t;
                    if (k-- == 0)
                        break;
                }
            if (pick < 0)
                break;
            if (vt->accept_token(m, pick, &err) != FW_OK)
                abort(); /* fill_mask allowed it */
            if (pick == z.eos)
                break;
        }
    } else {
        (void)vt->accept_bytes(m, (const char *)walk, n_walk, &err);
    }
    (void)vt->is_accepting(m);
    vt->matcher_free(m);
    vt->grammar_free(g);
}

/* One fuzz input (see the top): split at the first NUL, then fz_grammar_run. */
static int fz_grammar_input(uint32_t source, const uint8_t *data, size_t size)
{
    const uint8_t *split = memchr(data, 0, size);
    size_t glen = split ? (size_t)(split - data) : size;
    char *text = malloc(glen + 1);

    if (!text)
        return 0;
    memcpy(text, data, glen);
    text[glen] = '\0';
    fz_grammar_run(source, text, split ? split + 1 : NULL, split ? size - glen - 1 : 0);
    free(text);
    return 0;
}

#endif
