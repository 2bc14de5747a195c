/* tests/test_tokenizer.c -- the tokenizer against the Hugging Face goldens,
 * the streaming detokenizer, tiktoken files, errors and fwctl tokenize. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utf8proc.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "tokenizer.h"
#include "tokenizer_int.h"
#include "tokenizer_jsonl.h"
#include "testutil.h"

static fw_tokenizer *qwen, *gptoss;   /* loaded once per test case (unchecked fixture) */

static void load_both(void)
{
    const char *q = fw_test_fixture_path("tokenizers/qwen3");
    const char *g;
    fw_err err;

    if (q && fw_tokenizer_load(q, &qwen, &err) != FW_OK) {
        fprintf(stderr, "qwen3: %s\n", err.msg);
        qwen = NULL;
    }
    g = fw_test_fixture_path("tokenizers/gpt-oss");
    if (g && fw_tokenizer_load(g, &gptoss, &err) != FW_OK) {
        fprintf(stderr, "gpt-oss: %s\n", err.msg);
        gptoss = NULL;
    }
}

static void free_both(void)
{
    fw_tokenizer_destroy(qwen);
    fw_tokenizer_destroy(gptoss);
    qwen = gptoss = NULL;
}

/* xorshift64*: deterministic randomness for property tests. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static const fw_tokenizer *need(const char *name)
{
    const fw_tokenizer *t = !strcmp(name, "qwen3") ? qwen : gptoss;
    if (!fw_test_fixtures())
        return NULL;
    ck_assert_msg(t != NULL, "%s tokenizer failed to load", name);
    return t;
}

/* ids streamed through a detokenizer one at a time, then flushed: every
 * delta is valid UTF-8, and together they are decode()'s text dec. */
static void expect_stream(const fw_tokenizer *t, int skip_special, const int32_t *ids, size_t n,
                          const char *dec, size_t dlen)
{
    char *acc = malloc(dlen + 1);
    size_t i, acc_len = 0;
    fw_err err;
    fw_detok d;

    ck_assert_ptr_nonnull(acc);
    fw_detok_init(&d, t, skip_special);
    for (i = 0; i <= n; i++) {
        const char *delta;
        size_t delta_len;
        if (i < n)
            ck_assert_int_eq(fw_detok_feed(&d, ids[i], &delta, &delta_len, &err), FW_OK);
        else
            ck_assert_int_eq(fw_detok_flush(&d, &delta, &delta_len, &err), FW_OK);
        ck_assert_uint_eq(fw_utf8_valid_prefix((const unsigned char *)delta, delta_len),
                          delta_len);
        ck_assert(acc_len + delta_len <= dlen);
        memcpy(acc + acc_len, delta, delta_len);
        acc_len += delta_len;
    }
    fw_detok_deinit(&d);
    ck_assert_uint_eq(acc_len, dlen);
    ck_assert(memcmp(acc, dec, dlen) == 0);
    free(acc);
}

/* ---------------------------------------------------------------- golden */

static void check_golden(const char *name)
{
    char rel[64], *data, *line, *save = NULL;
    const fw_tokenizer *t = need(name);
    fw_buf text, want_dec;
    size_t n_lines = 0;

    if (!t && fw_test_skip("fixtures absent"))
        return;
    snprintf(rel, sizeof rel, "tokenizers/%s/golden.jsonl", name);
    data = fw_test_read_file(fw_test_fixture_path(rel), NULL);
    ck_assert_ptr_nonnull(data);
    fw_buf_init(&text);
    fw_buf_init(&want_dec);
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *root = cJSON_Parse(line);
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(root, "ids"), *it;
        int32_t *ids;
        size_t n_ids, i = 0, dlen;
        char *dec;
        fw_err err;

        ck_assert_ptr_nonnull(root);
        ck_assert_int_eq(fw_jsonl_get_string(line, strlen(line), "text", &text), 1);
        ck_assert_int_eq(fw_jsonl_get_string(line, strlen(line), "decoded", &want_dec), 1);
        ck_assert_int_eq(fw_tokenizer_encode(t, text.data ? text.data : "", text.len, 1, &ids,
                                             &n_ids, &err), FW_OK);
        ck_assert_msg(n_ids == (size_t)cJSON_GetArraySize(want), "%s line %zu: %zu ids, want %d",
                      name, n_lines + 1, n_ids, cJSON_GetArraySize(want));
        cJSON_ArrayForEach(it, want) {
            ck_assert_msg(ids[i] == it->valueint, "%s line %zu: id[%zu] = %d, want %d", name,
                          n_lines + 1, i, ids[i], it->valueint);
            i++;
        }
        ck_assert_int_eq(fw_tokenizer_decode(t, ids, n_ids, 0, &dec, &dlen, &err), FW_OK);
        ck_assert_uint_eq(dlen, want_dec.len);
        ck_assert(memcmp(dec, want_dec.data ? want_dec.data : "", dlen) == 0);
        /* Streaming one id at a time gives the same text. */
        expect_stream(t, 0, ids, n_ids, dec, dlen);
        free(dec);
        free(ids);
        cJSON_Delete(root);
        n_lines++;
    }
    ck_assert_uint_ge(n_lines, 50);
    fw_buf_deinit(&text);
    fw_buf_deinit(&want_dec);
    free(data);
}

START_TEST(golden_qwen3) { check_golden("qwen3"); }
END_TEST

START_TEST(golden_gpt_oss) { check_golden("gpt-oss"); }
END_TEST

/* Cases where PCRE2 and Oniguruma disagree unless the patterns are
 * rewritten: U+180E is not \s, letters newer than PCRE2's Unicode tables
 * (U+13CEC), scripts vs script extensions.  Expected ids come from the
 * Hugging Face tokenizers npm package 0.23.2. */
static const struct {
    const char *text;
    int32_t qwen3[8], gptoss[8];   /* -1 terminated */
} edge_cases[] = {
    {"\xF0\x93\xB3\xAC's", {124373, 111, 105, 594, -1}, {172, 241, 111, 105, 885, -1}},
    {"x \xE1\xA0\x8E  y", {87, 86089, 254, 236, 220, 379, -1}, {87, 220, 157, 254, 236, 220, 342, -1}},
    {"\xE3\x86\x9B's", {126159, 249, 6, 82, -1}, {159, 228, 249, 6, 82, -1}},
    {"A\xE2\x80\xA8\xE2\x80\xA9 \xC2\xA0\xE3\x80\x80" "b",
     {32, 378, 101, 378, 102, 17091, 22441, 65}, {32, 51008, 318, 102, 35753, 1397, 65, -1}},
    {"\xC7\x85ungla'LL", {131, 227, 2185, 4260, 6, 4086, -1}, {131, 227, 988, 1675, 6, 7454, -1}},
};

static void check_ids(const fw_tokenizer *t, const char *text, const int32_t *want, size_t max)
{
    int32_t *ids;
    size_t n, i, n_want = 0;
    fw_err err;

    while (n_want < max && want[n_want] != -1)
        n_want++;
    ck_assert_int_eq(fw_tokenizer_encode(t, text, strlen(text), 1, &ids, &n, &err), FW_OK);
    ck_assert_msg(n == n_want, "'%s': %zu ids, want %zu", text, n, n_want);
    for (i = 0; i < n; i++)
        ck_assert_msg(ids[i] == want[i], "'%s': id[%zu] = %d, want %d", text, i, ids[i], want[i]);
    free(ids);
}

START_TEST(regex_engine_edges)
{
    const fw_tokenizer *q = need("qwen3"), *g = need("gpt-oss");
    size_t i;

    if (!q && fw_test_skip("fixtures absent"))
        return;
    for (i = 0; i < sizeof edge_cases / sizeof edge_cases[0]; i++) {
        check_ids(q, edge_cases[i].text, edge_cases[i].qwen3, 8);
        check_ids(g, edge_cases[i].text, edge_cases[i].gptoss, 8);
    }
}
END_TEST

/* --------------------------------------------------------- detokenizer */

START_TEST(lossy_utf8_cases)
{
    static const struct { const char *in; size_t n; const char *out; } cases[] = {
        {"abc", 3, "abc"},
        {"\xE0\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},            /* bad second byte */
        {"\xF0\x90\x80" "A", 4, "\xEF\xBF\xBD" "A"},            /* truncated 4-byte */
        {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"\xC3", 1, "\xEF\xBF\xBD"},                            /* cut at the end */
        {"\xFF\xC3\xA9", 3, "\xEF\xBF\xBD\xC3\xA9"},
        {"\xE4\xBD\xA0\xE5", 4, "\xE4\xBD\xA0\xEF\xBF\xBD"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fw_buf out;
        fw_buf_init(&out);
        ck_assert_uint_eq(fw_utf8_lossy_append(&out, (const unsigned char *)cases[i].in,
                                               cases[i].n, 1), cases[i].n);
        ck_assert_uint_eq(out.len, strlen(cases[i].out));
        ck_assert(memcmp(out.data, cases[i].out, out.len) == 0);
        fw_buf_deinit(&out);
    }
    /* Not final: a valid prefix is held back. */
    {
        fw_buf out;
        fw_buf_init(&out);
        ck_assert_uint_eq(fw_utf8_lossy_append(&out, (const unsigned char *)"a\xE4\xBD", 3, 0),
                          1);
        ck_assert_uint_eq(out.len, 1);
        fw_buf_deinit(&out);
    }
}
END_TEST

/* Random id sequences, many of them single bytes that split characters:
 * every delta is valid UTF-8 and the deltas add up to decode(). */
static void detok_property(const fw_tokenizer *t, int skip_special)
{
    int round;
    int32_t n_vocab = fw_tokenizer_vocab_size(t);

    for (round = 0; round < 400; round++) {
        int32_t ids[64];
        size_t n = rnd() % 64, i, dlen;
        char *dec;
        fw_err err;

        for (i = 0; i < n; i++) {
            uint32_t r = rnd() % 4;
            if (r == 0) {
                char b = (char)(rnd() & 0xFF);   /* a lone byte */
                ids[i] = fw_tokenizer_bytes_id(t, &b, 1);
            } else if (r == 1) {
                ids[i] = n_vocab - 1 - (int32_t)(rnd() % 40);   /* added tokens */
            } else if (r == 2) {
                ids[i] = (int32_t)(rnd() % 200) - 5;   /* includes invalid ids */
            } else {
                ids[i] = (int32_t)(rnd() % (uint32_t)n_vocab);
            }
        }
        ck_assert_int_eq(fw_tokenizer_decode(t, ids, n, skip_special, &dec, &dlen, &err), FW_OK);
        ck_assert_uint_eq(fw_utf8_valid_prefix((const unsigned char *)dec, dlen), dlen);
        expect_stream(t, skip_special, ids, n, dec, dlen);
        free(dec);
    }
}

START_TEST(detok_random_ids)
{
    const fw_tokenizer *q = need("qwen3"), *g = need("gpt-oss");

    if (!q && fw_test_skip("fixtures absent"))
        return;
    detok_property(q, 0);
    detok_property(q, 1);
    detok_property(g, 0);
    detok_property(g, 1);
}
END_TEST

/* --------------------------------------------------------- round trips */

/* Appends one random code point from ranges that stress the pipeline. */
static void random_char(fw_buf *b)
{
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x17F}, {0x300, 0x36F}, {0x391, 0x3C9},
        {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x620, 0x64A}, {0x900, 0x97F}, {0xE01, 0xE5B},
        {0x1100, 0x11FF}, {0x1E00, 0x1EFF}, {0x2000, 0x206F}, {0x3040, 0x30FF},
        {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xFB00, 0xFB4F}, {0x1F300, 0x1F64F},
        {0x1D400, 0x1D7FF}, {0x10FFF0, 0x10FFFF},
    };
    size_t k = rnd() % (sizeof ranges / sizeof ranges[0]);
    uint32_t cp = ranges[k][0] + rnd() % (ranges[k][1] - ranges[k][0] + 1);
    utf8proc_uint8_t u[4];
    utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, u);

    fw_buf_append(b, u, (size_t)n);
}

static void roundtrip(const fw_tokenizer *t, int nfc)
{
    int round;

    for (round = 0; round < 300; round++) {
        fw_buf b;
        size_t n = rnd() % 80, i, n_ids, dlen;
        int32_t *ids;
        char *dec;
        utf8proc_uint8_t *want = NULL;
        utf8proc_ssize_t want_len;
        fw_err err;

        fw_buf_init(&b);
        for (i = 0; i < n; i++) {
            if (rnd() % 10 == 0) {
                size_t run = rnd() % 30;
                char c = " \n\ta"[rnd() % 4];
                while (run--)
                    fw_buf_putc(&b, c);
            } else {
                random_char(&b);
            }
        }
        ck_assert_int_eq(fw_tokenizer_encode(t, b.data ? b.data : "", b.len, 0, &ids, &n_ids,
                                             &err), FW_OK);
        ck_assert_int_eq(fw_tokenizer_decode(t, ids, n_ids, 0, &dec, &dlen, &err), FW_OK);
        if (nfc) {
            want_len = utf8proc_map((const utf8proc_uint8_t *)(b.data ? b.data : ""),
                                    (utf8proc_ssize_t)b.len, &want,
                                    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            ck_assert_int_ge(want_len, 0);
            ck_assert_uint_eq(dlen, (size_t)want_len);
            ck_assert(memcmp(dec, want, dlen) == 0);
            free(want);
        } else {
            ck_assert_uint_eq(dlen, b.len);
            ck_assert(memcmp(dec, b.data ? b.data : "", dlen) == 0);
        }
        free(ids);
        free(dec);
        fw_buf_deinit(&b);
    }
}

START_TEST(roundtrip_random_text)
{
    const fw_tokenizer *q = need("qwen3"), *g = need("gpt-oss");

    if (!q && fw_test_skip("fixtures absent"))
        return;
    roundtrip(q, 1);
    roundtrip(g, 0);
}
END_TEST

/* The NFC fast path (only unstable regions through utf8proc) equals
 * normalizing the whole text. */
START_TEST(nfc_matches_utf8proc)
{
    static const uint32_t tricky[] = {
        'a', 'e', 'A', ' ', 0x300, 0x301, 0x323, 0x308, 0xC0, 0xE9, 0x1100, 0x1161, 0x11A8,
        0xAC00, 0x0DCF, 0x0DD9, 0x0CD5, 0x0B3E, 0x212B, 0x2126, 0x1E9B, 0x0344, 0x0F73, 0x2ADC,
        0x1D15E, 0x4E00, 0x3099, 0x304B, 0x0627, 0x0653, 0x09BE, 0x09C7, 0x0915, 0x093C, 0x1B05,
        0x1B35, 0x110A5, 0x110BA, 0xFB2A, 0x05B7,
    };
    fw_tokenizer t;
    int round;

    memset(&t, 0, sizeof t);
    t.norms[0] = FW_NORM_NFC;
    t.n_norms = 1;
    for (round = 0; round < 3000; round++) {
        fw_buf b, s1, s2;
        size_t n = rnd() % 12, i, out_n;
        const char *out;
        utf8proc_uint8_t *want = NULL;
        utf8proc_ssize_t want_len;
        fw_err err;

        fw_buf_init(&b);
        fw_buf_init(&s1);
        fw_buf_init(&s2);
        for (i = 0; i < n; i++) {
            utf8proc_uint8_t u[4];
            uint32_t cp = tricky[rnd() % (sizeof tricky / sizeof tricky[0])];
            fw_buf_append(&b, u, (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, u));
        }
        ck_assert_int_eq(fw_tok_normalize(&t, b.data ? b.data : "", b.len, &s1, &s2, &out,
                                          &out_n, &err), FW_OK);
        want_len = utf8proc_map((const utf8proc_uint8_t *)(b.data ? b.data : ""),
                                (utf8proc_ssize_t)b.len, &want, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        ck_assert_uint_eq(out_n, (size_t)want_len);
        ck_assert(memcmp(out, want, out_n) == 0);
        free(want);
        fw_buf_deinit(&b);
        fw_buf_deinit(&s1);
        fw_buf_deinit(&s2);
    }
}
END_TEST

/* ------------------------------------------------------- special tokens */

static size_t encode_count(const fw_tokenizer *t, const char *s, int match_special, int32_t *first,
                           int contains, int *found)
{
    int32_t *ids;
    size_t n, i;
    fw_err err;

    ck_assert_int_eq(fw_tokenizer_encode(t, s, strlen(s), match_special, &ids, &n, &err), FW_OK);
    *first = n ? ids[0] : -1;
    *found = 0;
    for (i = 0; i < n; i++)
        if (ids[i] == contains)
            *found = 1;
    free(ids);
    return n;
}

START_TEST(plain_text_specials)
{
    const fw_tokenizer *q = need("qwen3"), *g = need("gpt-oss");
    int32_t first;
    int found;

    if (!q && fw_test_skip("fixtures absent"))
        return;
    ck_assert_uint_eq(encode_count(q, "<|im_start|>", 1, &first, 151644, &found), 1);
    ck_assert_int_eq(first, 151644);
    ck_assert_uint_gt(encode_count(q, "<|im_start|>", 0, &first, 151644, &found), 1);
    ck_assert(!found);
    /* <think> is an added token but not special: it still matches, as with
     * Hugging Face's encode_special_tokens. */
    ck_assert_uint_eq(encode_count(q, "<think>", 0, &first, 151667, &found), 1);
    ck_assert_int_eq(first, 151667);
    ck_assert_uint_eq(encode_count(g, "<|start|>", 1, &first, 200006, &found), 1);
    ck_assert_uint_gt(encode_count(g, "<|start|>x<|end|>", 0, &first, 200007, &found), 3);
    ck_assert(!found);
}
END_TEST

START_TEST(api_queries)
{
    const fw_tokenizer *q = need("qwen3"), *g = need("gpt-oss");
    size_t len;
    const char *b;
    int32_t the;

    if (!q && fw_test_skip("fixtures absent"))
        return;
    ck_assert_int_eq(fw_tokenizer_vocab_size(q), 151669);
    ck_assert_int_eq(fw_tokenizer_vocab_size(g), 200019);
    ck_assert_int_eq(fw_tokenizer_token_id(q, "<|im_end|>"), 151645);
    ck_assert_int_eq(fw_tokenizer_token_id(g, "<|return|>"), 200002);
    ck_assert(fw_tokenizer_is_special(q, 151645));
    ck_assert(!fw_tokenizer_is_special(q, 151667));   /* <think> */
    ck_assert(!fw_tokenizer_is_special(q, 100));
    ck_assert(!fw_tokenizer_is_special(q, -1));
    the = fw_tokenizer_token_id(q, "\xC4\xA0the");   /* "Ġthe" */
    ck_assert_int_ge(the, 0);
    ck_assert_int_eq(fw_tokenizer_bytes_id(q, " the", 4), the);
    b = fw_tokenizer_token_bytes(q, the, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(b, " the", 4) == 0);
    b = fw_tokenizer_token_bytes(q, 151644, &len);
    ck_assert_uint_eq(len, 12);
    ck_assert(memcmp(b, "<|im_start|>", 12) == 0);
    ck_assert_ptr_null(fw_tokenizer_token_bytes(q, -1, &len));
    ck_assert_ptr_null(fw_tokenizer_token_bytes(q, 151669, &len));
    ck_assert_int_eq(fw_tokenizer_token_id(q, "no-such-token-xyz-123"), -1);
    ck_assert_int_eq(fw_tokenizer_bytes_id(g, "\n", 1), 198);
}
END_TEST

/* ------------------------------------------------------------- threads */

typedef struct enc_job {
    const fw_tokenizer *t;
    const char *text;
    size_t len;
    int32_t *ids;
    size_t n_ids;
    fw_status st;
} enc_job;

static void *enc_thread(void *arg)
{
    enc_job *j = arg;
    fw_err err;
    int k;

    for (k = 0; k < 3; k++) {
        free(j->ids);
        j->st = fw_tokenizer_encode(j->t, j->text, j->len, 1, &j->ids, &j->n_ids, &err);
    }
    return NULL;
}

START_TEST(encode_from_threads)
{
    const fw_tokenizer *g = need("gpt-oss");
    char *text;
    size_t len, n_ref;
    int32_t *ref;
    enc_job jobs[4];
    pthread_t th[4];
    fw_err err;
    int i;

    if (!g && fw_test_skip("fixtures absent"))
        return;
    text = fw_test_read_file(fw_test_fixture_path("tokenizers/gpt-oss/golden.jsonl"), &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(fw_tokenizer_encode(g, text, len, 1, &ref, &n_ref, &err), FW_OK);
    for (i = 0; i < 4; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].t = g;
        jobs[i].text = text;
        jobs[i].len = len;
        ck_assert_int_eq(pthread_create(&th[i], NULL, enc_thread, &jobs[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(jobs[i].st, FW_OK);
        ck_assert_uint_eq(jobs[i].n_ids, n_ref);
        ck_assert(memcmp(jobs[i].ids, ref, n_ref * sizeof *ref) == 0);
        free(jobs[i].ids);
    }
    free(ref);
    free(text);
}
END_TEST

/* A megabyte without a split point takes the heap path and stays fast. */
START_TEST(long_words)
{
    const fw_tokenizer *q = need("qwen3");
    size_t n = 1 << 20, n_ids, dlen;
    char *s, *dec;
    int32_t *ids;
    fw_err err;

    if (!q && fw_test_skip("fixtures absent"))
        return;
    s = malloc(n);
    memset(s, 'a', n);
    ck_assert_int_eq(fw_tokenizer_encode(q, s, n, 1, &ids, &n_ids, &err), FW_OK);
    ck_assert_int_eq(fw_tokenizer_decode(q, ids, n_ids, 0, &dec, &dlen, &err), FW_OK);
    ck_assert_uint_eq(dlen, n);
    ck_assert(memcmp(dec, s, n) == 0);
    free(ids);
    free(dec);
    memset(s, ' ', n);   /* one regex match a megabyte long */
    ck_assert_int_eq(fw_tokenizer_encode(q, s, n, 1, &ids, &n_ids, &err), FW_OK);
    ck_assert_int_eq(fw_tokenizer_decode(q, ids, n_ids, 0, &dec, &dlen, &err), FW_OK);
    ck_assert_uint_eq(dlen, n);
    free(ids);
    free(dec);
    free(s);
}
END_TEST

/* -------------------------------------------------------------- errors */

static char tmp_root[256];

static const char *make_dir(const char *name)
{
    static char path[512];

    ck_assert_msg(tmp_root[0], "no temporary folder");
    snprintf(path, sizeof path, "%s/%s", tmp_root, name);
    mkdir(path, 0700);
    return path;
}

static void write_file(const char *dir, const char *name, const char *data, size_t n)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static fw_status load_json_text(const char *name, const char *json, fw_err *err)
{
    const char *dir = make_dir(name);
    fw_tokenizer *t = NULL;
    fw_status st;

    write_file(dir, "tokenizer.json", json, strlen(json));
    st = fw_tokenizer_load(dir, &t, err);
    fw_tokenizer_destroy(t);
    return st;
}

#define BL_DECODER "\"decoder\": {\"type\": \"ByteLevel\"}, "

START_TEST(load_errors)
{
    fw_tokenizer *t = NULL;
    fw_err err;
    fw_status st;

    st = fw_tokenizer_load("/nonexistent/tokenizer/dir", &t, &err);
    ck_assert_int_eq(st, FW_ERR_NOT_FOUND);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/tokenizer/dir"));

    /* A NULL fw_err is allowed: the status alone tells. */
    ck_assert_int_eq(fw_tokenizer_load("/nonexistent/tokenizer/dir", &t, NULL), FW_ERR_NOT_FOUND);
    ck_assert_int_eq(load_json_text("nullerr", "{" BL_DECODER
                                    "\"model\": {\"vocab\": {\"a\": 0}}, \"added_tokens\": [5]}",
                                    NULL), FW_ERR_INVALID);

    st = load_json_text("trunc", "{\"model\": {\"vocab\": {\"a\": 0", &err);
    ck_assert_int_eq(st, FW_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid JSON"));
    ck_assert_int_eq(load_json_text("notobj", "[1, 2]", &err), FW_ERR_INVALID);
    ck_assert_int_eq(load_json_text("nomodel", "{" BL_DECODER "\"model\": 5}", &err),
                     FW_ERR_INVALID);
    ck_assert_int_eq(load_json_text("badid", "{" BL_DECODER
                                    "\"model\": {\"vocab\": {\"a\": \"x\"}}}", &err),
                     FW_ERR_INVALID);
    ck_assert_int_eq(load_json_text("negid", "{" BL_DECODER
                                    "\"model\": {\"vocab\": {\"a\": -3}}}", &err),
                     FW_ERR_INVALID);
    st = load_json_text("badmerge", "{" BL_DECODER
                        "\"model\": {\"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}",
                        &err);
    ck_assert_int_eq(st, FW_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "merges[0]"));
    ck_assert_int_eq(load_json_text("wordpiece", "{" BL_DECODER
                                    "\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", &err),
                     FW_ERR_UNSUPPORTED);
    ck_assert_int_eq(load_json_text("badre", "{\"pre_tokenizer\": {\"type\": \"Split\", "
                                    "\"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}, "
                                    BL_DECODER "\"model\": {\"vocab\": {\"a\": 0}}}", &err),
                     FW_ERR_INVALID);
    ck_assert_int_eq(load_json_text("badadded", "{" BL_DECODER "\"model\": {\"vocab\": "
                                    "{\"a\": 0}}, \"added_tokens\": [{\"id\": 1}]}", &err),
                     FW_ERR_INVALID);

    /* The real file cut short fails cleanly, too. */
    if (fw_test_fixtures()) {
        size_t len;
        char *data = fw_test_read_file(fw_test_fixture_path("tokenizers/qwen3/tokenizer.json"),
                                       &len);
        const char *dir = make_dir("realtrunc");
        ck_assert_ptr_nonnull(data);
        write_file(dir, "tokenizer.json", data, len / 3);
        ck_assert_int_eq(fw_tokenizer_load(dir, &t, &err), FW_ERR_INVALID);
        free(data);
    }
}
END_TEST

START_TEST(encode_errors)
{
    const fw_tokenizer *q = need("qwen3");
    int32_t *ids;
    size_t n;
    fw_err err;

    if (!q && fw_test_skip("fixtures absent"))
        return;
    ck_assert_int_eq(fw_tokenizer_encode(q, "ok\xFFno", 5, 1, &ids, &n, &err), FW_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "byte 2"));
    ck_assert_int_eq(fw_tokenizer_encode(q, "\xED\xA0\x80", 3, 1, &ids, &n, &err),
                     FW_ERR_INVALID);   /* a surrogate */
    ck_assert_int_eq(fw_tokenizer_encode(q, "", 0, 1, &ids, &n, &err), FW_OK);
    ck_assert_uint_eq(n, 0);
    free(ids);
}
END_TEST

/* -------------------------------------------------------------- tiktoken */

START_TEST(tiktoken_file)
{
    /* Ranks: 256 single bytes, then "ab" 256, "cd" 257, "abcd" 258, "bc" 259,
     * and "a" + the first byte of U+4F60 at 260. */
    static const char *extra[] = {"ab", "cd", "abcd", "bc", "a\xE4"};
    static const char config[] =
        "{\"added_tokens_decoder\": {\"261\": {\"content\": \"[BOS]\", \"special\": true},"
        " \"262\": {\"content\": \"<|im_end|>\", \"special\": true}}}";
    const char *dir = make_dir("tiktoken");
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fw_buf f;
    fw_tokenizer *t = NULL;
    fw_err err;
    int32_t *ids;
    size_t n, i, len;
    char dirbuf[512];

    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    fw_buf_init(&f);
    for (i = 0; i < 256 + 5; i++) {
        const unsigned char *s;
        unsigned char one;
        size_t sl, k;
        if (i < 256) {
            one = (unsigned char)i;
            s = &one;
            sl = 1;
        } else {
            s = (const unsigned char *)extra[i - 256];
            sl = strlen(extra[i - 256]);
        }
        for (k = 0; k < sl; k += 3) {   /* base64 with padding */
            uint32_t v = (uint32_t)s[k] << 16 | (k + 1 < sl ? (uint32_t)s[k + 1] << 8 : 0) |
                         (k + 2 < sl ? s[k + 2] : 0);
            fw_buf_putc(&f, b64[v >> 18 & 63]);
            fw_buf_putc(&f, b64[v >> 12 & 63]);
            fw_buf_putc(&f, k + 1 < sl ? b64[v >> 6 & 63] : '=');
            fw_buf_putc(&f, k + 2 < sl ? b64[v & 63] : '=');
        }
        fw_buf_printf(&f, " %zu\n", i);
    }
    write_file(dirbuf, "tiktoken.model", f.data, f.len);
    write_file(dirbuf, "tokenizer_config.json", config, strlen(config));
    fw_buf_deinit(&f);

    ck_assert_int_eq(fw_tokenizer_load(dirbuf, &t, &err), FW_OK);
    ck_assert_int_eq(fw_tokenizer_vocab_size(t), 261 + 256);
    ck_assert_int_eq(fw_tokenizer_token_id(t, "<|im_end|>"), 262);
    ck_assert_int_eq(fw_tokenizer_token_id(t, "<|reserved_token_263|>"), 263);
    ck_assert(fw_tokenizer_is_special(t, 300));
    /* "abcde": cd (257) would merge before bc (259); ab (256) first of all. */
    ck_assert_int_eq(fw_tokenizer_encode(t, "abcde", 5, 1, &ids, &n, &err), FW_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ids[0], 258);
    ck_assert_int_eq(ids[1], 'e');
    free(ids);
    ck_assert_int_eq(fw_tokenizer_encode(t, "bcd", 3, 1, &ids, &n, &err), FW_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ids[0], 'b');
    ck_assert_int_eq(ids[1], 257);
    free(ids);
    ck_assert_int_eq(fw_tokenizer_encode(t, "x<|im_end|>y", 12, 1, &ids, &n, &err), FW_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[1], 262);
    free(ids);
    /* Kimi's regex keeps Han apart from letters ([..&&[^\p{Han}]]), so "a" and
     * the first byte of U+4F60 never meet in one piece. */
    ck_assert_int_eq(fw_tokenizer_encode(t, "a\xE4\xBD\xA0", 4, 1, &ids, &n, &err), FW_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(ids[0], 'a');
    ck_assert_int_eq(ids[1], 0xE4);
    free(ids);
    ck_assert_int_eq(fw_tokenizer_encode(t, "a\xE4", 2, 1, &ids, &n, &err), FW_ERR_INVALID);
    ck_assert_int_eq(fw_tokenizer_encode(t, "x<|im_end|>y", 12, 0, &ids, &n, &err), FW_OK);
    ck_assert_uint_gt(n, 3);
    free(ids);
    ck_assert_ptr_nonnull(fw_tokenizer_token_bytes(t, 261, &len));
    ck_assert_uint_eq(len, 5);
    fw_tokenizer_destroy(t);

    write_file(dirbuf, "tiktoken.model", "QQ== x\n", 7);
    ck_assert_int_eq(fw_tokenizer_load(dirbuf, &t, &err), FW_ERR_INVALID);
    write_file(dirbuf, "tiktoken.model", "Q!== 0\n", 7);
    ck_assert_int_eq(fw_tokenizer_load(dirbuf, &t, &err), FW_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ fwctl CLI */

START_TEST(fwctl_tokenize)
{
    char fwctl[600], args[1024], out[8192];
    const char *q = fw_test_fixture_path("tokenizers/qwen3");

    snprintf(fwctl, sizeof fwctl, "%s/fwctl", fw_test_builddir());
    if (access(fwctl, X_OK) != 0 && fw_test_skip("fwctl not built"))
        return;
    if (!q && fw_test_skip("fixtures absent"))
        return;
    snprintf(args, sizeof args, "--tokenizer %s", q);
    ck_assert_int_eq(fw_test_fwctl("tokenize", args,
                                   "{\"text\": \"Hello, world!\"}\n{\"text\": \"<|im_end|>\"}\n",
                                   out, sizeof out),
                     0);
    ck_assert_str_eq(out, "{\"ids\": [9707, 11, 1879, 0], \"decoded\": \"Hello, world!\"}\n"
                          "{\"ids\": [151645], \"decoded\": \"<|im_end|>\"}\n");
    /* A NUL inside the text survives. */
    ck_assert_int_eq(fw_test_fwctl("tokenize", args, "{\"text\": \"a\\u0000b\"}\n", out,
                                   sizeof out),
                     0);
    ck_assert_str_eq(out, "{\"ids\": [64, 188, 65], \"decoded\": \"a\\u0000b\"}\n");
    snprintf(args, sizeof args, "--tokenizer %s --plain", q);
    ck_assert_int_eq(fw_test_fwctl("tokenize", args, "{\"text\": \"<|im_end|>\"}\n", out,
                                   sizeof out),
                     0);
    ck_assert(strstr(out, "151645") == NULL);
    ck_assert_ptr_nonnull(strstr(out, "\"decoded\": \"<|im_end|>\""));
    snprintf(args, sizeof args, "--tokenizer %s", q);
    ck_assert_int_eq(fw_test_fwctl("tokenize", args, "{\"text\": 5}\n", out, sizeof out), 1);
    ck_assert_int_eq(fw_test_fwctl("tokenize", args, "not json\n", out, sizeof out), 1);
    ck_assert_int_eq(fw_test_fwctl("tokenize", "--tokenizer /nonexistent", "", out, sizeof out),
                     1);
    ck_assert_int_eq(fw_test_fwctl("tokenize", "", "", out, sizeof out), 2);
    ck_assert_int_eq(fw_test_fwctl("tokenize", "--bogus", "", out, sizeof out), 2);
}
END_TEST

static Suite *tokenizer_suite(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, load_both, free_both);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, golden_qwen3);
    tcase_add_test(tc, golden_gpt_oss);
    tcase_add_test(tc, regex_engine_edges);
    tcase_add_test(tc, lossy_utf8_cases);
    tcase_add_test(tc, detok_random_ids);
    tcase_add_test(tc, roundtrip_random_text);
    tcase_add_test(tc, nfc_matches_utf8proc);
    tcase_add_test(tc, plain_text_specials);
    tcase_add_test(tc, api_queries);
    tcase_add_test(tc, encode_from_threads);
    tcase_add_test(tc, long_words);
    tcase_add_test(tc, load_errors);
    tcase_add_test(tc, encode_errors);
    tcase_add_test(tc, tiktoken_file);
    tcase_add_test(tc, fwctl_tokenize);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc;

    /* Made here, before the tests fork, so the parent removes it. */
    snprintf(tmp_root, sizeof tmp_root, "/tmp/fw_test_tok_XXXXXX");
    if (!mkdtemp(tmp_root))
        tmp_root[0] = '\0';
    rc = fw_test_run(tokenizer_suite());

    if (tmp_root[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp_root);
    }
    return rc;
}
