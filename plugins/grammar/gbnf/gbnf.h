/* plugins/grammar/gbnf/gbnf.h -- the gbnf plugin's private interfaces.
 *
 * Pipeline: GBNF text (or JSON Schema -> GBNF text) -> gb_ir, a byte-level
 * grammar where every terminal is a set of bytes (UTF-8 aware character
 * classes are compiled into alternatives of byte-set sequences) -> a matcher
 * that tracks the set of parse stacks and, walking a byte trie of the
 * vocabulary, produces the token mask.
 */
#ifndef FW_GBNF_H
#define FW_GBNF_H

#include <stddef.h>
#include <stdint.h>

#include <fireworks/grammar.h>

#include "err.h" /* fw_err_set: core/err.c, a private copy in the plugin */

/* ---- grammar IR (gbnf_parse.c) ---- */

enum { GB_END = 0, GB_TERM = 1, GB_REF = 2 };

typedef struct gb_elem {
    int32_t kind; /* GB_END | GB_TERM | GB_REF */
    int32_t val;  /* TERM: index into sets; REF: rule index; END: unused */
} gb_elem;

typedef struct gb_set {
    uint32_t w[8]; /* bit b set = byte b matches */
} gb_set;

typedef struct gb_rule {
    char *name;        /* for messages; generated rules are "parent-N" */
    int32_t first_alt; /* index into alt_start */
    int32_t n_alts;
} gb_rule;

typedef struct gb_ir {
    gb_elem *elems;     /* (n_elems) every alternative, each ended by GB_END */
    int32_t n_elems;
    int32_t *alt_start; /* (n_alts) index of an alternative's first element */
    int32_t n_alts;
    gb_rule *rules;     /* (n_rules) */
    int32_t n_rules;
    gb_set *sets;       /* (n_sets) distinct byte sets */
    int32_t n_sets;
    int32_t root;       /* rule index of "root" */
} gb_ir;

static inline int gb_set_has(const gb_set *s, unsigned b) { return (s->w[b >> 5] >> (b & 31)) & 1u; }

/* Parses GBNF (llama.cpp dialect) into ir.  Errors: FW_ERR_INVALID with
 * "line L col C: ..." or "undefined rule 'x'"; left recursion is reported. */
fw_status gb_parse(const char *text, size_t len, gb_ir *ir, fw_err *err);
void gb_ir_free(gb_ir *ir);

/* ---- JSON Schema -> GBNF (json_schema.c) ---- */

/* Writes a GBNF grammar (malloc'd, NUL-terminated) for the schema text; with
 * any_object, text is ignored and the grammar accepts any JSON object. */
fw_status gb_json_schema_to_gbnf(const char *text, int any_object, char **out, fw_err *err);

/* ---- vocabulary trie (vocab_trie.c) ---- */

/* Preorder trie over the token byte strings: node 0 is the root; a node's
 * subtree is [i, skip[i]).  Tokens ending at node i are
 * tok[tok_first[i] .. tok_first[i + 1]). */
typedef struct gb_trie_node {
    int32_t skip;      /* first node after this subtree */
    int32_t tok_first; /* index into tok */
    uint16_t depth;    /* bytes from the root (root = 0) */
    uint8_t byte;      /* the byte on the edge into this node */
    uint8_t text;      /* 0, or 1 + the most characters on a path below (255 =
                          254 or more) when the node is at a UTF-8 char
                          boundary and every path below is text: gb_is_plain
                          bytes and well-formed UTF-8 (the last char may be
                          cut short, it counts as one) */
} gb_trie_node;

typedef struct gb_trie {
    gb_trie_node *nodes; /* (n_nodes + 1): the last one is a sentinel for tok_first */
    int32_t n_nodes;
    int32_t *tok;        /* token ids grouped by node */
    int32_t n_tok;
    int32_t max_depth;
} gb_trie;

/* Printable ASCII but '"' and '\\': with UTF-8 characters, what "free text"
 * states (JSON string content) loop on, so a text subtree needs no walk. */
static inline int gb_is_plain(unsigned b) { return b >= 0x20 && b < 0x7F && b != '"' && b != '\\'; }

/* UTF-8 decoding as a tiny automaton: 0 = at a char boundary; otherwise the
 * low 2 bits count the continuation bytes still needed and the rest picks
 * the allowed range of the next one.  Returns the next state or -1. */
static inline int gb_utf8_step(int d, unsigned b)
{
    static const unsigned char lo[5] = {0x80, 0xA0, 0x80, 0x90, 0x80};
    static const unsigned char hi[5] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
    if (d == 0) {
        if (gb_is_plain(b))
            return 0;
        if (b >= 0xC2 && b <= 0xDF)
            return 1;
        if (b == 0xE0)
            return 2 | 1 << 2;
        if (b == 0xED)
            return 2 | 2 << 2;
        if (b >= 0xE1 && b <= 0xEF)
            return 2;
        if (b == 0xF0)
            return 3 | 3 << 2;
        if (b >= 0xF1 && b <= 0xF3)
            return 3;
        if (b == 0xF4)
            return 3 | 4 << 2;
        return -1;
    }
    if (b < lo[d >> 2] || b > hi[d >> 2])
        return -1;
    return (d & 3) - 1;
}

/* Builds the trie over tokens with non-NULL, non-empty bytes, skipping the
 * eos ids (they are handled by the matcher). */
fw_status gb_trie_build(const fw_vocab *v, gb_trie **out, fw_err *err);
void gb_trie_free(gb_trie *t);

/* ---- compiled grammar and matcher (matcher.c) ---- */

struct fw_grammar {
    gb_ir ir;
    uint8_t byte_class[256]; /* bytes no terminal tells apart share a class */
    gb_trie *trie;     /* NULL without a vocabulary */
    int32_t n_tokens;  /* 0 without a vocabulary */
    int32_t n_eos;
    int32_t *eos_ids;  /* (n_eos) */
    const fw_vocab *vocab;
};

fw_status gb_grammar_compile(uint32_t source, const char *text, const fw_vocab *vocab,
                             fw_grammar **out, fw_err *err);
void gb_grammar_free(fw_grammar *g);
fw_status gb_matcher_new(const fw_grammar *g, fw_matcher **out, fw_err *err);
void gb_matcher_free(fw_matcher *m);
fw_status gb_fill_mask(fw_matcher *m, uint32_t *mask, fw_err *err);
fw_status gb_accept_token(fw_matcher *m, int32_t token, fw_err *err);
fw_status gb_accept_bytes(fw_matcher *m, const char *bytes, size_t n, fw_err *err);
int32_t gb_is_accepting(const fw_matcher *m);
/* 1 when the bytes would be accepted from the current state, which is left
 * unchanged (for tests: a per-token oracle without the trie). */
int gb_matcher_would_accept(fw_matcher *m, const char *bytes, size_t n);

#endif
