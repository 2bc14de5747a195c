/* core/kv_cache.c -- paged KV bookkeeping with prefix reuse. */
#include "kv_cache.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

#define SLOT_EMPTY (-1)

struct fw_kv_cache {
    int32_t n_blocks;
    int32_t block_size;
    int32_t *ref;        /* (n_blocks) references from sequences */
    uint64_t *hash;      /* (n_blocks) registered chain hash, 0 = not registered */
    uint64_t *parent;    /* (n_blocks) chain hash of the previous block */
    uint64_t *salt;      /* (n_blocks) isolation salt */
    int32_t *tokens;     /* (n_blocks, block_size) tokens of registered blocks */
    int32_t *free_ids;   /* stack of never-registered free blocks */
    int32_t n_free;
    int32_t *lru_prev, *lru_next; /* cached (ref 0, registered) blocks, oldest first */
    int32_t lru_head, lru_tail;
    int32_t n_cached;
    int32_t *table;      /* open addressing: hash -> block id */
    uint32_t table_mask;
    uint64_t hit_tokens, lookup_tokens;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint64_t fw_kv_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (!s)
        return 0;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return mix64(h) | 1;
}

static uint64_t block_hash(uint64_t parent, uint64_t salt, const int32_t *tokens, int32_t n)
{
    uint64_t h = mix64(parent ^ 0x9e3779b97f4a7c15ull) ^ mix64(salt + 0x632be59bd9b4e019ull);
    int32_t i;
    for (i = 0; i < n; i++)
        h = mix64(h ^ (uint64_t)(uint32_t)tokens[i]) + (uint64_t)i;
    return h ? h : 1;
}

fw_status fw_kv_cache_create(int32_t n_blocks, int32_t block_size, fw_kv_cache **out, fw_err *err)
{
    fw_kv_cache *kv;
    uint32_t table_size = 16;
    int32_t i;

    *out = NULL;
    if (n_blocks < 1 || block_size < 1 || n_blocks > (1 << 28) || block_size > 4096)
        return fw_err_set(err, FW_ERR_INVALID, "kv cache: bad geometry (%d blocks of %d tokens)",
                          n_blocks, block_size);
    while (table_size < (uint32_t)n_blocks * 2)
        table_size *= 2;
    kv = calloc(1, sizeof *kv);
    if (!kv)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    kv->n_blocks = n_blocks;
    kv->block_size = block_size;
    kv->ref = calloc((size_t)n_blocks, sizeof *kv->ref);
    kv->hash = calloc((size_t)n_blocks, sizeof *kv->hash);
    kv->parent = calloc((size_t)n_blocks, sizeof *kv->parent);
    kv->salt = calloc((size_t)n_blocks, sizeof *kv->salt);
    kv->tokens = calloc((size_t)n_blocks * (size_t)block_size, sizeof *kv->tokens);
    kv->free_ids = calloc((size_t)n_blocks, sizeof *kv->free_ids);
    kv->lru_prev = calloc((size_t)n_blocks, sizeof *kv->lru_prev);
    kv->lru_next = calloc((size_t)n_blocks, sizeof *kv->lru_next);
    kv->table = malloc((size_t)table_size * sizeof *kv->table);
    if (!kv->ref || !kv->hash || !kv->parent || !kv->salt || !kv->tokens || !kv->free_ids ||
        !kv->lru_prev || !kv->lru_next || !kv->table) {
        fw_kv_cache_destroy(kv);
        return fw_err_set(err, FW_ERR_NOMEM, "kv cache: out of memory for %d blocks", n_blocks);
    }
    kv->table_mask = table_size - 1;
    for (i = 0; i < (int32_t)table_size; i++)
        kv->table[i] = SLOT_EMPTY;
    /* Low ids first out of the stack. */
    for (i = 0; i < n_blocks; i++)
        kv->free_ids[i] = n_blocks - 1 - i;
    kv->n_free = n_blocks;
    kv->lru_head = kv->lru_tail = -1;
    *out = kv;
    return FW_OK;
}

void fw_kv_cache_destroy(fw_kv_cache *kv)
{
    if (!kv)
        return;
    free(kv->ref);
    free(kv->hash);
    free(kv->parent);
    free(kv->salt);
    free(kv->tokens);
    free(kv->free_ids);
    free(kv->lru_prev);
    free(kv->lru_next);
    free(kv->table);
    free(kv);
}

int32_t fw_kv_cache_block_size(const fw_kv_cache *kv) { return kv->block_size; }

/* ---- LRU of cached blocks ---- */

static void lru_remove(fw_kv_cache *kv, int32_t b)
{
    int32_t p = kv->lru_prev[b], n = kv->lru_next[b];
    if (p >= 0)
        kv->lru_next[p] = n;
    else
        kv->lru_head = n;
    if (n >= 0)
        kv->lru_prev[n] = p;
    else
        kv->lru_tail = p;
    kv->n_cached--;
}

static void lru_push(fw_kv_cache *kv, int32_t b)
{
    kv->lru_prev[b] = kv->lru_tail;
    kv->lru_next[b] = -1;
    if (kv->lru_tail >= 0)
        kv->lru_next[kv->lru_tail] = b;
    else
        kv->lru_head = b;
    kv->lru_tail = b;
    kv->n_cached++;
}

/* ---- hash table ---- */

static int block_equals(const fw_kv_cache *kv, int32_t b, uint64_t h, uint64_t parent, uint64_t salt,
                        const int32_t *tokens)
{
    return kv->hash[b] == h && kv->parent[b] == parent && kv->salt[b] == salt &&
           !memcmp(&kv->tokens[(size_t)b * (size_t)kv->block_size], tokens,
                   (size_t)kv->block_size * sizeof *tokens);
}

static int32_t table_find(const fw_kv_cache *kv, uint64_t h, uint64_t parent, uint64_t salt,
                          const int32_t *tokens)
{
    uint32_t i = (uint32_t)h & kv->table_mask;
    for (;;) {
        int32_t b = kv->table[i];
        if (b == SLOT_EMPTY)
            return -1;
        if (block_equals(kv, b, h, parent, salt, tokens))
            return b;
        i = (i + 1) & kv->table_mask;
    }
}

static void table_insert(fw_kv_cache *kv, int32_t b)
{
    uint32_t i = (uint32_t)kv->hash[b] & kv->table_mask;
    while (kv->table[i] >= 0)
        i = (i + 1) & kv->table_mask;
    kv->table[i] = b;
}

/* Backward-shift deletion keeps linear probing free of tombstones. */
static void table_remove(fw_kv_cache *kv, int32_t b)
{
    uint32_t i = (uint32_t)kv->hash[b] & kv->table_mask, j, k;
    while (kv->table[i] != b) {
        if (kv->table[i] == SLOT_EMPTY)
            return;
        i = (i + 1) & kv->table_mask;
    }
    kv->table[i] = SLOT_EMPTY;
    j = i;
    for (;;) {
        j = (j + 1) & kv->table_mask;
        if (kv->table[j] == SLOT_EMPTY)
            return;
        k = (uint32_t)kv->hash[kv->table[j]] & kv->table_mask;
        /* Move j's entry into the hole unless its home k lies in (i, j]. */
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            kv->table[i] = kv->table[j];
            kv->table[j] = SLOT_EMPTY;
            i = j;
        }
    }
}

/* ---- blocks ---- */

static int32_t take_block(fw_kv_cache *kv)
{
    int32_t b;
    if (kv->n_free > 0) {
        b = kv->free_ids[--kv->n_free];
    } else if (kv->lru_head >= 0) {
        b = kv->lru_head; /* evict the least recently used cached block */
        lru_remove(kv, b);
        table_remove(kv, b);
        kv->hash[b] = 0;
    } else {
        return -1;
    }
    kv->ref[b] = 1;
    return b;
}

static void ref_block(fw_kv_cache *kv, int32_t b)
{
    if (kv->ref[b]++ == 0 && kv->hash[b])
        lru_remove(kv, b);
}

static void unref_block(fw_kv_cache *kv, int32_t b)
{
    if (--kv->ref[b] > 0)
        return;
    if (kv->hash[b])
        lru_push(kv, b);
    else
        kv->free_ids[kv->n_free++] = b;
}

static int seq_grow(fw_kv_seq *s, int32_t n)
{
    int32_t *p;
    int32_t cap;
    if (n <= s->cap)
        return 0;
    cap = s->cap ? s->cap : 8;
    while (cap < n)
        cap *= 2;
    p = realloc(s->blocks, (size_t)cap * sizeof *p);
    if (!p)
        return -1;
    s->blocks = p;
    s->cap = cap;
    return 0;
}

void fw_kv_seq_init(fw_kv_seq *s, uint64_t salt)
{
    memset(s, 0, sizeof *s);
    s->salt = salt;
}

void fw_kv_seq_release(fw_kv_cache *kv, fw_kv_seq *s)
{
    int32_t i;
    for (i = s->n_blocks - 1; i >= 0; i--)
        unref_block(kv, s->blocks[i]);
    free(s->blocks);
    fw_kv_seq_init(s, s->salt);
}

static int32_t match_prefix(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens, int32_t n_tokens)
{
    int32_t bs = kv->block_size, b;
    uint64_t chain = 0;

    if (s->n_blocks != 0)
        return 0;
    for (b = 0; (int64_t)(b + 1) * bs < n_tokens; b++) {
        uint64_t h = block_hash(chain, s->salt, tokens + (size_t)b * bs, bs);
        int32_t blk = table_find(kv, h, chain, s->salt, tokens + (size_t)b * bs);
        if (blk < 0 || seq_grow(s, b + 1) != 0)
            break;
        ref_block(kv, blk);
        s->blocks[s->n_blocks++] = blk;
        chain = h;
    }
    s->n_registered = s->n_blocks;
    s->chain = chain;
    return s->n_blocks * bs;
}

int32_t fw_kv_seq_match_prefix(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens,
                               int32_t n_tokens)
{
    int32_t hit = match_prefix(kv, s, tokens, n_tokens);
    kv->lookup_tokens += (uint64_t)(n_tokens > 0 ? n_tokens : 0);
    kv->hit_tokens += (uint64_t)hit;
    return hit;
}

int32_t fw_kv_seq_rematch(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens, int32_t n_tokens)
{
    return match_prefix(kv, s, tokens, n_tokens);
}

int32_t fw_kv_cache_available(const fw_kv_cache *kv) { return kv->n_free + kv->n_cached; }

fw_status fw_kv_seq_reserve(fw_kv_cache *kv, fw_kv_seq *s, int32_t n_tokens, fw_err *err)
{
    int32_t need_blocks = (int32_t)(((int64_t)n_tokens + kv->block_size - 1) / kv->block_size);
    int32_t extra = need_blocks - s->n_blocks;

    if (extra <= 0)
        return FW_OK;
    if (extra > kv->n_free + kv->n_cached)
        return fw_err_set(err, FW_ERR_LIMIT, "kv cache full: need %d more blocks, %d available",
                          extra, kv->n_free + kv->n_cached);
    if (seq_grow(s, need_blocks) != 0)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    while (s->n_blocks < need_blocks)
        s->blocks[s->n_blocks++] = take_block(kv);
    return FW_OK;
}

void fw_kv_seq_register(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens, int32_t n_tokens)
{
    int32_t bs = kv->block_size;

    while (s->n_registered < s->n_blocks && (int64_t)(s->n_registered + 1) * bs <= n_tokens) {
        int32_t b = s->n_registered;
        int32_t blk = s->blocks[b];
        const int32_t *t = tokens + (size_t)b * bs;
        uint64_t h = block_hash(s->chain, s->salt, t, bs);

        /* Same content already cached under another block: keep that one. */
        if (kv->hash[blk] == 0 && table_find(kv, h, s->chain, s->salt, t) < 0) {
            kv->hash[blk] = h;
            kv->parent[blk] = s->chain;
            kv->salt[blk] = s->salt;
            memcpy(&kv->tokens[(size_t)blk * (size_t)bs], t, (size_t)bs * sizeof *t);
            table_insert(kv, blk);
        }
        s->chain = h;
        s->n_registered++;
    }
}

fw_status fw_kv_seq_fork(fw_kv_cache *kv, const fw_kv_seq *src, fw_kv_seq *dst, int32_t n_tokens,
                         int32_t *copy_src, int32_t *copy_dst, fw_err *err)
{
    int32_t bs = kv->block_size;
    int32_t full = n_tokens / bs, partial = n_tokens % bs != 0, i;

    *copy_src = *copy_dst = -1;
    if (dst->n_blocks != 0 || full + partial > src->n_blocks)
        return fw_err_set(err, FW_ERR_INTERNAL, "kv fork: bad sequence state");
    if (partial && kv->n_free + kv->n_cached < 1)
        return fw_err_set(err, FW_ERR_LIMIT, "kv cache full: cannot fork a sequence");
    if (seq_grow(dst, full + partial) != 0)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    for (i = 0; i < full; i++) {
        ref_block(kv, src->blocks[i]);
        dst->blocks[dst->n_blocks++] = src->blocks[i];
    }
    if (partial) {
        int32_t b = take_block(kv);
        dst->blocks[dst->n_blocks++] = b;
        *copy_src = src->blocks[full];
        *copy_dst = b;
    }
    if (src->n_registered <= full) {
        dst->n_registered = src->n_registered;
        dst->chain = src->chain;
    }
    return FW_OK;
}

void fw_kv_cache_stats(const fw_kv_cache *kv, fw_kv_stats *out)
{
    out->n_blocks = kv->n_blocks;
    out->n_free = kv->n_free;
    out->n_cached = kv->n_cached;
    out->n_used = kv->n_blocks - kv->n_free - kv->n_cached;
    out->hit_tokens = kv->hit_tokens;
    out->lookup_tokens = kv->lookup_tokens;
}
