/* core/kv_cache.h -- paged KV bookkeeping: block allocator with reference
 * counts, per-sequence block tables, and prefix reuse.
 *
 * The memory itself belongs to the backend (fw_backend_vtable.kv_alloc);
 * this module only decides which block ids a sequence uses.  A full block
 * whose tokens are known is registered under a hash chain
 * (hash(parent hash, its tokens, isolation salt)); a later prompt with the
 * same prefix and salt takes the same blocks instead of recomputing them.
 * Unreferenced registered blocks stay cached until memory is needed (LRU).
 *
 * Not thread-safe: owned by the scheduler thread.
 */
#ifndef FW_CORE_KV_CACHE_H
#define FW_CORE_KV_CACHE_H

#include <stdint.h>

#include <fireworks/plugin.h>

typedef struct fw_kv_cache fw_kv_cache;

/* One sequence's block table. */
typedef struct fw_kv_seq {
    int32_t *blocks;    /* (n_blocks) block ids in position order */
    int32_t n_blocks;
    int32_t cap;
    int32_t n_registered; /* leading full blocks already registered for reuse */
    uint64_t chain;       /* hash of the registered prefix (0 = none) */
    uint64_t salt;        /* isolation key hash */
} fw_kv_seq;

typedef struct fw_kv_stats {
    int32_t n_blocks;     /* total */
    int32_t n_used;       /* referenced by a sequence */
    int32_t n_cached;     /* unreferenced but kept for prefix reuse */
    int32_t n_free;
    uint64_t hit_tokens;  /* prompt tokens served from the prefix cache */
    uint64_t lookup_tokens;
} fw_kv_stats;

fw_status fw_kv_cache_create(int32_t n_blocks, int32_t block_size, fw_kv_cache **out, fw_err *err);
void fw_kv_cache_destroy(fw_kv_cache *kv);
int32_t fw_kv_cache_block_size(const fw_kv_cache *kv);

void fw_kv_seq_init(fw_kv_seq *s, uint64_t salt);
/* Drops every block reference of s and empties it. */
void fw_kv_seq_release(fw_kv_cache *kv, fw_kv_seq *s);

/* Reuses the longest cached prefix of tokens (whole blocks only, and never
 * the whole prompt: at least one token is left to compute, so there are
 * logits).  s must be empty.  Returns the number of tokens reused. */
int32_t fw_kv_seq_match_prefix(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens,
                               int32_t n_tokens);

/* fw_kv_seq_match_prefix for a preempted sequence coming back: its prompt
 * and generated tokens, reused as far as still cached; not counted in the
 * prefix-cache statistics (it is recompute, not a client's prompt). */
int32_t fw_kv_seq_rematch(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens, int32_t n_tokens);

/* Blocks a reservation may take: free ones plus cached ones it may evict. */
int32_t fw_kv_cache_available(const fw_kv_cache *kv);

/* Makes s cover n_tokens positions, allocating blocks (evicting cached ones
 * when needed).  FW_ERR_LIMIT when the cache is full; s is unchanged then. */
fw_status fw_kv_seq_reserve(fw_kv_cache *kv, fw_kv_seq *s, int32_t n_tokens, fw_err *err);

/* Registers s's full blocks, whose tokens are now computed, for reuse.
 * tokens are the sequence's first n_tokens tokens. */
void fw_kv_seq_register(fw_kv_cache *kv, fw_kv_seq *s, const int32_t *tokens, int32_t n_tokens);

/* dst (empty) shares src's first n_tokens positions.  A partially filled
 * last block cannot be shared (both would write it): it is given a fresh
 * block, returned in *copy_src / *copy_dst for the backend to copy
 * (-1 when nothing to copy). */
fw_status fw_kv_seq_fork(fw_kv_cache *kv, const fw_kv_seq *src, fw_kv_seq *dst, int32_t n_tokens,
                         int32_t *copy_src, int32_t *copy_dst, fw_err *err);

void fw_kv_cache_stats(const fw_kv_cache *kv, fw_kv_stats *out);

/* A 64-bit hash of a string (isolation keys). */
uint64_t fw_kv_hash_str(const char *s);

#endif
