/* core/tokenizer_int.h -- the tokenizer's data, shared by its source files
 * (tokenizer.c: tokenizer.json and encode; tokenizer_tiktoken.c: rank files;
 * tokenizer_bpe.c: maps and merging; tokenizer_norm.c: NFC; detok.c). */
#ifndef FW_CORE_TOKENIZER_INT_H
#define FW_CORE_TOKENIZER_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer.h"

/* FW_TOKF_WHOLE: BPE turns this token's bytes back into this one token. */
enum { FW_TOKF_VOCAB = 1, FW_TOKF_ADDED = 2, FW_TOKF_SPECIAL = 4, FW_TOKF_WHOLE = 8 };
enum { FW_NORM_NFC = 1, FW_NORM_NFD, FW_NORM_NFKC, FW_NORM_NFKD };
enum { FW_PRETOK_SPLIT = 1, FW_PRETOK_BYTELEVEL };
/* Hugging Face SplitDelimiterBehavior. */
enum { FW_SPLIT_REMOVED = 1, FW_SPLIT_ISOLATED, FW_SPLIT_MERGED_PREV, FW_SPLIT_MERGED_NEXT,
       FW_SPLIT_CONTIGUOUS };

#define FW_TOK_MAX_IDS (1 << 24)   /* refuse vocabularies with larger ids */
#define FW_TOK_MAX_NORMS 4
#define FW_TOK_MAX_PRETOKS 8

/* bytes -> id: open addressing over the ids' byte strings (slot = id + 1). */
typedef struct fw_tok_map {
    uint32_t *slots;
    size_t mask;
} fw_tok_map;

/* (left id, right id) -> (rank, merged id). */
typedef struct fw_tok_merge {
    uint64_t key;   /* left << 32 | right; UINT64_MAX = empty */
    int32_t rank;
    int32_t id;
} fw_tok_merge;

typedef struct fw_tok_merges {
    fw_tok_merge *slots;
    size_t mask;
    size_t n;
} fw_tok_merges;

typedef struct fw_tok_pretok {
    int kind;              /* FW_PRETOK_* */
    pcre2_code *re;        /* Split pattern, or ByteLevel's GPT-2 regex when use_regex */
    int jit;               /* re was JIT compiled */
    int behavior;          /* FW_SPLIT_* */
    int invert;
    int add_prefix_space;  /* ByteLevel */
} fw_tok_pretok;

typedef struct fw_tok_added {
    char *content;        /* malloc'd, NUL-terminated */
    size_t len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} fw_tok_added;

struct fw_tokenizer {
    int32_t n_ids;          /* max id + 1 */
    char *bytes;            /* every token's decode bytes, back to back */
    size_t bytes_len, bytes_cap;
    uint32_t *off;          /* (n_ids) offset of each token's bytes */
    uint32_t *len;          /* (n_ids) their length; UINT32_MAX = no such id */
    uint8_t *flags;         /* (n_ids) FW_TOKF_* */
    fw_tok_map vocab;       /* model vocab bytes -> id */
    fw_tok_merges merges;
    int32_t byte_id[256];   /* the id of each single byte, -1 if none */
    int ignore_merges;      /* a word found whole in the vocab is one token */
    int byte_level;         /* vocab keys are GPT-2 byte-level strings */
    int norms[FW_TOK_MAX_NORMS];
    int n_norms;
    fw_tok_pretok pretoks[FW_TOK_MAX_PRETOKS];
    int n_pretoks;
    fw_tok_added *added;    /* sorted by id */
    size_t n_added;
    /* Added-token matching: indexes into `added` by first byte, longest first. */
    uint32_t *match_order;  /* (n_added) */
    uint32_t first_start[257];
    int has_normalized_added; /* some added token has normalized = true */
};

/* The GPT-2 byte <-> unicode alphabet. */
uint32_t fw_tok_byte_to_cp(unsigned char b);
int fw_tok_cp_to_byte(uint32_t cp);   /* -1 when cp is outside the alphabet */

/* Decodes one UTF-8 sequence from valid text; returns its length. */
size_t fw_tok_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* Appends bytes to t->bytes and records them as id's. */
fw_status fw_tok_set_bytes(fw_tokenizer *t, int32_t id, const void *p, size_t n, fw_err *err);
fw_status fw_tok_alloc_ids(fw_tokenizer *t, int32_t n_ids, fw_err *err);

fw_status fw_tok_map_build(fw_tokenizer *t, fw_err *err);
int32_t fw_tok_map_find(const fw_tokenizer *t, const void *p, size_t n);

fw_status fw_tok_merges_init(fw_tok_merges *m, size_t n_expected, fw_err *err);
void fw_tok_merges_put(fw_tok_merges *m, int32_t a, int32_t b, int32_t rank, int32_t id);
void fw_tok_merges_free(fw_tok_merges *m);

/* Per-call scratch for BPE on one word (grown as needed, freed by the caller). */
typedef struct fw_bpe_scratch {
    int32_t *sym, *prev, *next;
    uint64_t *heap;
    size_t cap;
} fw_bpe_scratch;

/* Appends the ids of one pre-tokenized word (raw bytes) to *ids. */
fw_status fw_tok_bpe_word(const fw_tokenizer *t, fw_bpe_scratch *s, const unsigned char *p,
                          size_t n, int32_t **ids, size_t *n_ids, size_t *cap);
void fw_bpe_scratch_free(fw_bpe_scratch *s);
/* Sets FW_TOKF_WHOLE on every vocab token (after merges and the map are final). */
fw_status fw_tok_mark_whole(fw_tokenizer *t, fw_err *err);

/* Normalizes valid UTF-8 with t->norms.  *out is p itself when nothing
 * changes, else a view of scratch. */
fw_status fw_tok_normalize(const fw_tokenizer *t, const char *p, size_t n, fw_buf *scratch,
                           fw_buf *scratch2, const char **out, size_t *out_n, fw_err *err);

/* Compiles a Split/ByteLevel pattern with UTF, UCP and JIT; onig: the
 * pattern is Oniguruma's (tokenizer.json), else Rust regex's (tiktoken). */
fw_status fw_tok_regex_compile(fw_tok_pretok *pt, const char *pattern, int literal, int onig,
                               fw_err *err);

/* Finishes a tokenizer whose ids are set: byte ids, vocab map, added-token
 * matching tables. */
fw_status fw_tok_finish(fw_tokenizer *t, fw_err *err);
/* Adds one added token (content copied). */
fw_status fw_tok_add_added(fw_tokenizer *t, const fw_tok_added *a, fw_err *err);

/* Extra PCRE2 class ranges for \p{name} (code points newer than PCRE2's
 * Unicode tables); NULL for other names.  Generated: tokenizer_unicode.c. */
const char *fw_tok_unicode_extra(const char *name, size_t len);

/* tiktoken.model + tokenizer_config.json (Kimi K2). */
fw_status fw_tok_load_tiktoken(fw_tokenizer *t, const char *dir, fw_err *err);

/* The largest tokenizer file read (fw_file_load). */
#define FW_TOK_MAX_FILE ((size_t)4 << 30)

#endif
