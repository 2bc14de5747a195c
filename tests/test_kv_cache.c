/* tests/test_kv_cache.c -- paged KV bookkeeping: allocation limits, prefix
 * reuse and isolation, LRU eviction, forks, preemption's release and
 * rematch, and a random stress run whose invariants must hold at every step. */
#include "kv_cache.h"
#include "testutil.h"

#include <stdlib.h>

static void check_counts(const fw_kv_cache *kv)
{
    fw_kv_stats st;
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used + st.n_cached + st.n_free, st.n_blocks);
    ck_assert_int_ge(st.n_used, 0);
}

START_TEST(test_reserve_and_limit)
{
    fw_kv_cache *kv;
    fw_kv_seq a, b;
    fw_err err = {0};
    fw_kv_stats st;

    ck_assert_int_eq(fw_kv_cache_create(4, 16, &kv, &err), FW_OK);
    fw_kv_seq_init(&a, 0);
    fw_kv_seq_init(&b, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 33, &err), FW_OK); /* 3 blocks */
    ck_assert_int_eq(a.n_blocks, 3);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 48, &err), FW_OK); /* still 3 */
    ck_assert_int_eq(a.n_blocks, 3);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &b, 17, &err), FW_ERR_LIMIT);
    ck_assert_int_eq(b.n_blocks, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &b, 16, &err), FW_OK);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 4);
    ck_assert_int_eq(st.n_free, 0);
    fw_kv_seq_release(kv, &a);
    fw_kv_seq_release(kv, &b);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 0);
    ck_assert_int_eq(st.n_free, 4);
    fw_kv_cache_destroy(kv);
    ck_assert_int_ne(fw_kv_cache_create(0, 16, &kv, &err), FW_OK);
    ck_assert_ptr_null(kv);
}
END_TEST

START_TEST(test_prefix_reuse_and_isolation)
{
    fw_kv_cache *kv;
    fw_kv_seq a, b, c, d;
    fw_err err = {0};
    int32_t toks[40], other[40], i;

    for (i = 0; i < 40; i++) {
        toks[i] = i * 7 + 1;
        other[i] = toks[i];
    }
    other[20] = 999; /* differs in the second block */
    ck_assert_int_eq(fw_kv_cache_create(16, 8, &kv, &err), FW_OK);
    fw_kv_seq_init(&a, 0);
    ck_assert_int_eq(fw_kv_seq_match_prefix(kv, &a, toks, 40), 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 40, &err), FW_OK);
    fw_kv_seq_register(kv, &a, toks, 40);
    ck_assert_int_eq(a.n_registered, 5);

    /* Same prompt: 4 full blocks reused, never the whole prompt. */
    fw_kv_seq_init(&b, 0);
    ck_assert_int_eq(fw_kv_seq_match_prefix(kv, &b, toks, 40), 32);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(b.blocks[i], a.blocks[i]);
    /* Differs at token 20: blocks 0 and 1 only. */
    fw_kv_seq_init(&c, 0);
    ck_assert_int_eq(fw_kv_seq_match_prefix(kv, &c, other, 40), 16);
    /* Another isolation key sees nothing. */
    fw_kv_seq_init(&d, fw_kv_hash_str("tenant-b"));
    ck_assert_int_eq(fw_kv_seq_match_prefix(kv, &d, toks, 40), 0);
    check_counts(kv);
    fw_kv_seq_release(kv, &a);
    fw_kv_seq_release(kv, &b);
    fw_kv_seq_release(kv, &c);
    fw_kv_seq_release(kv, &d);
    /* Released registered blocks stay cached and are found again. */
    fw_kv_seq_init(&a, 0);
    ck_assert_int_eq(fw_kv_seq_match_prefix(kv, &a, toks, 41 > 40 ? 40 : 40), 32);
    fw_kv_seq_release(kv, &a);
    check_counts(kv);
    fw_kv_cache_destroy(kv);
}
END_TEST

START_TEST(test_eviction)
{
    fw_kv_cache *kv;
    fw_kv_seq a, b;
    fw_err err = {0};
    int32_t toks[16], i;
    fw_kv_stats st;

    for (i = 0; i < 16; i++)
        toks[i] = i;
    ck_assert_int_eq(fw_kv_cache_create(2, 8, &kv, &err), FW_OK);
    fw_kv_seq_init(&a, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 16, &err), FW_OK);
    fw_kv_seq_register(kv, &a, toks, 16);
    fw_kv_seq_release(kv, &a);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_cached, 2);
    /* A new sequence needing both blocks evicts the cached ones. */
    fw_kv_seq_init(&b, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &b, 16, &err), FW_OK);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_cached, 0);
    ck_assert_int_eq(st.n_used, 2);
    fw_kv_seq_release(kv, &b);
    fw_kv_seq_init(&a, 0);
    ck_assert_int_eq(fw_kv_seq_match_prefix(kv, &a, toks, 16), 0);
    fw_kv_cache_destroy(kv);
}
END_TEST

START_TEST(test_fork)
{
    fw_kv_cache *kv;
    fw_kv_seq a, b;
    fw_err err = {0};
    int32_t cs, cd;
    fw_kv_stats st;

    ck_assert_int_eq(fw_kv_cache_create(8, 4, &kv, &err), FW_OK);
    fw_kv_seq_init(&a, 0);
    fw_kv_seq_init(&b, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 10, &err), FW_OK); /* 3 blocks, last partial */
    ck_assert_int_eq(fw_kv_seq_fork(kv, &a, &b, 10, &cs, &cd, &err), FW_OK);
    ck_assert_int_eq(b.n_blocks, 3);
    ck_assert_int_eq(b.blocks[0], a.blocks[0]);
    ck_assert_int_eq(b.blocks[1], a.blocks[1]);
    ck_assert_int_ne(b.blocks[2], a.blocks[2]);
    ck_assert_int_eq(cs, a.blocks[2]);
    ck_assert_int_eq(cd, b.blocks[2]);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 4);
    fw_kv_seq_release(kv, &a);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 3); /* b still holds the shared blocks */
    fw_kv_seq_release(kv, &b);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 0);
    fw_kv_cache_destroy(kv);
}
END_TEST

/* Preemption (core/runner.c): a choice of n > 1 gives its blocks back while
 * its sibling keeps running; the shared prompt blocks stay with the sibling,
 * its own ones come free, and when it resumes the rematch takes the shared
 * (still referenced) and cached blocks again without counting prefix hits. */
START_TEST(test_preempt_release_and_rematch)
{
    fw_kv_cache *kv;
    fw_kv_seq a, b, c;
    fw_err err = {0};
    int32_t toks[16], cs, cd, i;
    fw_kv_stats st, st2;

    for (i = 0; i < 16; i++)
        toks[i] = 100 + i;
    ck_assert_int_eq(fw_kv_cache_create(8, 4, &kv, &err), FW_OK);
    fw_kv_seq_init(&a, 0);
    fw_kv_seq_init(&b, 0);
    fw_kv_seq_init(&c, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 10, &err), FW_OK);
    fw_kv_seq_register(kv, &a, toks, 10); /* 2 full prompt blocks */
    ck_assert_int_eq(fw_kv_seq_fork(kv, &a, &b, 10, &cs, &cd, &err), FW_OK);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &a, 16, &err), FW_OK);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &b, 16, &err), FW_OK);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 6);
    ck_assert_int_eq(fw_kv_cache_available(kv), 2);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &c, 12, &err), FW_ERR_LIMIT);

    fw_kv_seq_release(kv, &b); /* preempt b */
    check_counts(kv);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 4); /* a's 4 blocks, 2 of them were shared */
    ck_assert_int_eq(fw_kv_cache_available(kv), 4);
    ck_assert_int_eq(b.n_blocks, 0);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &c, 12, &err), FW_OK); /* its blocks serve another */
    fw_kv_seq_release(kv, &c);

    /* b comes back with prompt + generated tokens: the prompt blocks a
     * still holds are shared again; not a prefix-cache hit in the stats */
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(fw_kv_seq_rematch(kv, &b, toks, 16), 8);
    ck_assert_int_eq(b.n_blocks, 2);
    ck_assert_int_eq(b.blocks[0], a.blocks[0]);
    ck_assert_int_eq(b.blocks[1], a.blocks[1]);
    ck_assert_int_eq(b.n_registered, 2);
    fw_kv_cache_stats(kv, &st2);
    ck_assert_uint_eq(st2.hit_tokens, st.hit_tokens);
    ck_assert_uint_eq(st2.lookup_tokens, st.lookup_tokens);
    ck_assert_int_eq(st2.n_used, 4);
    ck_assert_int_eq(fw_kv_seq_reserve(kv, &b, 16, &err), FW_OK);
    fw_kv_seq_register(kv, &b, toks, 16);

    /* both preempted: registered blocks stay cached (available, reusable) */
    fw_kv_seq_release(kv, &a);
    fw_kv_seq_release(kv, &b);
    check_counts(kv);
    fw_kv_cache_stats(kv, &st);
    ck_assert_int_eq(st.n_used, 0);
    ck_assert_int_eq(fw_kv_cache_available(kv), 8);
    ck_assert_int_gt(st.n_cached, 2);
    ck_assert_int_eq(fw_kv_seq_rematch(kv, &a, toks, 13), 12); /* 3 cached blocks */
    fw_kv_seq_release(kv, &a);
    ck_assert_int_eq(fw_kv_seq_rematch(kv, &a, toks, 12), 8); /* never the whole: logits */
    fw_kv_seq_release(kv, &a);
    fw_kv_cache_destroy(kv);
}
END_TEST

START_TEST(test_random_stress)
{
    enum { NSEQ = 12, STEPS = 20000 };
    fw_kv_cache *kv;
    fw_kv_seq seqs[NSEQ];
    int32_t len[NSEQ] = {0}, toks[256];
    fw_err err = {0};
    unsigned rng = 12345;
    int i, step;

    for (i = 0; i < 256; i++)
        toks[i] = i % 5; /* few distinct blocks: lots of reuse */
    ck_assert_int_eq(fw_kv_cache_create(40, 4, &kv, &err), FW_OK);
    for (i = 0; i < NSEQ; i++)
        fw_kv_seq_init(&seqs[i], (uint64_t)(i % 2));
    for (step = 0; step < STEPS; step++) {
        int s;
        rng = rng * 1103515245u + 12345u;
        s = (int)((rng >> 8) % NSEQ);
        switch ((rng >> 20) % 4) {
        case 0:
            fw_kv_seq_release(kv, &seqs[s]);
            len[s] = 0;
            break;
        case 1:
            if (len[s] == 0)
                len[s] = fw_kv_seq_match_prefix(kv, &seqs[s], toks, 1 + (int32_t)((rng >> 4) % 60));
            break;
        default: {
            int32_t want = len[s] + 1 + (int32_t)((rng >> 3) % 9);
            if (want > 256)
                break;
            if (fw_kv_seq_reserve(kv, &seqs[s], want, &err) == FW_OK) {
                len[s] = want;
                fw_kv_seq_register(kv, &seqs[s], toks, want);
            }
        }
        }
        check_counts(kv);
    }
    for (i = 0; i < NSEQ; i++)
        fw_kv_seq_release(kv, &seqs[i]);
    {
        fw_kv_stats st;
        fw_kv_cache_stats(kv, &st);
        ck_assert_int_eq(st.n_used, 0);
        ck_assert_int_eq(st.n_free + st.n_cached, 40);
    }
    fw_kv_cache_destroy(kv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kv_cache");
    TCase *tc = tcase_create("kv_cache");
    tcase_add_test(tc, test_reserve_and_limit);
    tcase_add_test(tc, test_prefix_reuse_and_isolation);
    tcase_add_test(tc, test_eviction);
    tcase_add_test(tc, test_fork);
    tcase_add_test(tc, test_preempt_release_and_rematch);
    tcase_add_test(tc, test_random_stress);
    suite_add_tcase(s, tc);
    return fw_test_run(s);
}
