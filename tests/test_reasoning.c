/* tests/test_reasoning.c -- reasoning budgets (core/reasoning.c) with the
 * qwen3 template's reasoning_tags (ABI 1.1) and the real Qwen3 tokenizer:
 * the close text is the official template's bytes, the state follows the
 * output like the parser (opens only at the start), counts reasoning tokens,
 * forces the close at the budget; 1.0 templates and templates without
 * budgets leave budgets without effect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "host_api.h"
#include "reasoning.h"
#include "testutil.h"
#include "tokenizer.h"
#include "tpl_testutil.h"
#include "../plugins/templates/glm/glm.h"
#include "../plugins/templates/qwen3/qwen3.h"

static const fw_template_vtable *qwen3_vt(void)
{
    return fw_template_qwen3_desc(fw_host_api_get())->vtable;
}

static fw_tokenizer *qwen3_tok(void)
{
    const char *dir = fw_test_fixture_path("tokenizers/qwen3");
    fw_tokenizer *tok = NULL;
    fw_err err = {0};
    if (!dir)
        return NULL;
    ck_assert_msg(fw_tokenizer_load(dir, &tok, &err) == FW_OK, "%s", err.msg);
    return tok;
}

static int32_t id_of(const fw_tokenizer *tok, const char *text)
{
    int32_t *ids = NULL, id;
    size_t n = 0;
    fw_err err = {0};
    ck_assert_int_eq(fw_tokenizer_encode(tok, text, strlen(text), 1, &ids, &n, &err), FW_OK);
    ck_assert_msg(n == 1, "'%s' is %zu tokens", text, n);
    id = ids[0];
    free(ids);
    return id;
}

/* ---- the template member ---- */

static const char *const qwen3_specials[] = {"<|im_start|>", "<|im_end|>", "<tool_call>",
                                             "</tool_call>", "<think>", "</think>", NULL};
static const tpl_test_plugin qwen3 = {fw_template_qwen3_desc, "qwen3", qwen3_specials};

START_TEST(test_qwen3_tags)
{
    const fw_template_vtable *vt = qwen3_vt();
    fw_template *t = NULL;
    fw_err err = {0};
    const char *open = NULL, *close = NULL;
    tpl_sink_out out;
    fw_buf want;

    ck_assert(FW_HAS(vt, fw_template_vtable, reasoning_tags));
    ck_assert_int_eq(vt->create(NULL, NULL, &t, &err), FW_OK);
    ck_assert_int_eq(vt->reasoning_tags(t, &open, &close, &err), FW_OK);
    ck_assert_str_eq(open, "<think>");
    ck_assert_str_eq(close, "\n</think>\n\n");
    /* the close is what the template itself writes after reasoning */
    fw_buf_init(&want);
    ck_assert_int_eq(tpl_test_render(&qwen3, t,
                                     "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                                     "{\"role\":\"assistant\",\"content\":\"A\","
                                     "\"reasoning_content\":\"R\"}],\"add_generation_prompt\":false}",
                                     &out, &err),
                     FW_OK);
    fw_buf_puts(&want, open);
    fw_buf_puts(&want, "\nR");
    fw_buf_puts(&want, close);
    fw_buf_puts(&want, "A"); /* a final assistant turn is a prefill: left open */
    ck_assert_msg(strstr(out.all.data, want.data), "render: %s", out.all.data);
    fw_buf_deinit(&out.all);
    fw_buf_deinit(&want);
    vt->destroy(t);
}
END_TEST

START_TEST(test_no_budgets)
{
    const fw_template_vtable *glm = fw_template_glm_desc(fw_host_api_get())->vtable;
    fw_template_vtable v10 = *qwen3_vt();
    fw_reasoning_rules rules;
    fw_reasoning st;
    fw_err err = {0};

    /* GLM: integers have no effect (no member) */
    ck_assert(!FW_HAS(glm, fw_template_vtable, reasoning_tags));
    ck_assert_int_eq(fw_reasoning_rules_init(&rules, glm, NULL, NULL, &err), FW_OK);
    ck_assert_int_eq(rules.supported, 0);
    /* a plugin built at 1.0: its vtable ends before the member */
    v10.struct_size = (uint32_t)offsetof(fw_template_vtable, reasoning_tags);
    ck_assert_int_eq(fw_reasoning_rules_init(&rules, &v10, NULL, NULL, &err), FW_OK);
    ck_assert_int_eq(rules.supported, 0);
    /* then nothing is tracked or forced */
    fw_reasoning_start(&st, &rules, 1, 5);
    ck_assert_int_eq(fw_reasoning_active(&st), 0);
    ck_assert_int_eq(fw_reasoning_forced(&st, &rules), -1);
    fw_reasoning_rules_deinit(&rules);
}
END_TEST

static fw_status tags_unsupported(fw_template *t, const char **o, const char **c, fw_err *err)
{
    (void)t, (void)o, (void)c;
    return fw_err_set(err, FW_ERR_UNSUPPORTED, "no budgets");
}

static fw_status tags_blank(fw_template *t, const char **o, const char **c, fw_err *err)
{
    (void)t, (void)err;
    *o = "<think>";
    *c = " \n ";
    return FW_OK;
}

START_TEST(test_bad_tags)
{
    fw_template_vtable v = *qwen3_vt();
    fw_reasoning_rules rules;
    fw_err err = {0};

    v.reasoning_tags = tags_unsupported;
    ck_assert_int_eq(fw_reasoning_rules_init(&rules, &v, NULL, NULL, &err), FW_OK);
    ck_assert_int_eq(rules.supported, 0);
    v.reasoning_tags = tags_blank;
    ck_assert_int_eq(fw_reasoning_rules_init(&rules, &v, NULL, NULL, &err), FW_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "close text"));
}
END_TEST

/* ---- the state machine on real tokens ---- */

static void rules_qwen3(fw_reasoning_rules *rules, const fw_tokenizer *tok)
{
    fw_template *t = NULL;
    fw_err err = {0};
    ck_assert_int_eq(qwen3_vt()->create(NULL, NULL, &t, &err), FW_OK);
    ck_assert_int_eq(fw_reasoning_rules_init(rules, qwen3_vt(), t, tok, &err), FW_OK);
    qwen3_vt()->destroy(t);
}

/* Feeds text token by token (as the tokenizer splits it); returns how many
 * tokens it took. */
static int feed(fw_reasoning *st, const fw_reasoning_rules *rules, const fw_tokenizer *tok,
                const char *text)
{
    int32_t *ids = NULL;
    size_t n = 0, i;
    fw_err err = {0};
    ck_assert_int_eq(fw_tokenizer_encode(tok, text, strlen(text), 1, &ids, &n, &err), FW_OK);
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(fw_reasoning_forced(st, rules), -1);
        fw_reasoning_accept(st, rules, tok, ids[i]);
    }
    free(ids);
    return (int)n;
}

START_TEST(test_budget_forces_close)
{
    fw_tokenizer *tok = qwen3_tok();
    fw_reasoning_rules rules;
    fw_reasoning st;
    int32_t want[3], k, n;

    if (!tok && fw_test_skip("fixtures absent"))
        return;
    rules_qwen3(&rules, tok);
    ck_assert_int_eq(rules.supported, 1);
    ck_assert_str_eq(rules.close_core, "</think>");
    want[0] = id_of(tok, "\n");
    want[1] = id_of(tok, "</think>");
    want[2] = id_of(tok, "\n\n");
    ck_assert_int_eq(rules.n_close, 3);
    for (k = 0; k < 3; k++)
        ck_assert_int_eq(rules.close_ids[k], want[k]);

    /* "<think>" at the start opens; 4 reasoning tokens; then the close */
    fw_reasoning_start(&st, &rules, 0, 4);
    ck_assert_int_eq(fw_reasoning_active(&st), 0);
    feed(&st, &rules, tok, "\n<think>");
    ck_assert_int_eq(fw_reasoning_active(&st), 1);
    n = feed(&st, &rules, tok, "\nlet");
    ck_assert_int_eq(st.n_tokens, n);
    ck_assert_int_lt(n, 4);
    while (n++ < 4) {
        ck_assert_int_eq(fw_reasoning_forced(&st, &rules), -1);
        fw_reasoning_accept(&st, &rules, tok, id_of(tok, " see"));
    }
    ck_assert_int_eq(st.n_tokens, 4);
    for (k = 0; k < 3; k++) {
        ck_assert_int_eq(fw_reasoning_active(&st), 1); /* grammar still waits */
        ck_assert_int_eq(fw_reasoning_forced(&st, &rules), want[k]);
        fw_reasoning_accept(&st, &rules, tok, want[k]);
    }
    ck_assert_int_eq(fw_reasoning_active(&st), 0);
    ck_assert_int_eq(fw_reasoning_forced(&st, &rules), -1);
    ck_assert_int_eq(st.n_tokens, 4);

    /* the model closes by itself before the budget: nothing forced */
    fw_reasoning_start(&st, &rules, 0, 100);
    feed(&st, &rules, tok, "<think>\nshort\n</think>\n\nanswer and more answer");
    ck_assert_int_eq(fw_reasoning_active(&st), 0);
    ck_assert_int_eq(fw_reasoning_forced(&st, &rules), -1);

    /* content first: a later <think> does not open reasoning (as the parser) */
    fw_reasoning_start(&st, &rules, 0, 1);
    feed(&st, &rules, tok, "Hi <think> a b c d e");
    ck_assert_int_eq(fw_reasoning_active(&st), 0);

    /* the prompt opened it: every output token counts; budget 1 */
    fw_reasoning_start(&st, &rules, 1, 1);
    ck_assert_int_eq(fw_reasoning_active(&st), 1);
    fw_reasoning_accept(&st, &rules, tok, id_of(tok, "Hmm"));
    ck_assert_int_eq(fw_reasoning_forced(&st, &rules), want[0]);

    /* no budget: tracked, never forced */
    fw_reasoning_start(&st, &rules, 1, -1);
    feed(&st, &rules, tok, "a b c d e f g h i j k l m n o p q r s t u v w x y z");
    ck_assert_int_eq(fw_reasoning_active(&st), 1);
    ck_assert_int_eq(st.n_tokens, 26);
    fw_reasoning_accept(&st, &rules, tok, want[1]);
    ck_assert_int_eq(fw_reasoning_active(&st), 0);

    /* thinking disabled in the prompt: nothing opens */
    fw_reasoning_start(&st, &rules, -1, 1);
    feed(&st, &rules, tok, "<think> a b c");
    ck_assert_int_eq(fw_reasoning_active(&st), 0);

    fw_reasoning_rules_deinit(&rules);
    fw_tokenizer_destroy(tok);
}
END_TEST

/* A grammar at the start of the output still lets the model open reasoning. */
START_TEST(test_allow_open)
{
    fw_tokenizer *tok = qwen3_tok();
    fw_reasoning_rules rules;
    fw_reasoning st;
    uint32_t *mask;
    int32_t nv, think;

    if (!tok && fw_test_skip("fixtures absent"))
        return;
    rules_qwen3(&rules, tok);
    think = id_of(tok, "<think>");
    ck_assert_int_eq(rules.open_id, think);
    nv = think + 100;
    mask = calloc((size_t)(nv + 31) / 32, sizeof *mask);
    ck_assert_ptr_nonnull(mask);
    fw_reasoning_start(&st, &rules, 0, 10);
    fw_reasoning_allow_open(&st, &rules, mask, nv);
    ck_assert_uint_eq(mask[think / 32] >> (think % 32) & 1, 1);
    /* once the output is content, or the prompt disabled thinking: not */
    mask[think / 32] = 0;
    feed(&st, &rules, tok, "{");
    fw_reasoning_allow_open(&st, &rules, mask, nv);
    ck_assert_uint_eq(mask[think / 32], 0);
    fw_reasoning_start(&st, &rules, -1, 10);
    fw_reasoning_allow_open(&st, &rules, mask, nv);
    ck_assert_uint_eq(mask[think / 32], 0);
    free(mask);
    fw_reasoning_rules_deinit(&rules);
    fw_tokenizer_destroy(tok);
}
END_TEST

START_TEST(test_force_mask)
{
    uint32_t mask[4];
    int32_t t, on = 0;
    memset(mask, 0xff, sizeof mask);
    fw_reasoning_force_mask(mask, 100, 37);
    for (t = 0; t < 100; t++)
        on += (int)(mask[t / 32] >> (t % 32) & 1);
    ck_assert_int_eq(on, 1);
    ck_assert_uint_eq(mask[1], 1u << 5);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("reasoning");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_qwen3_tags);
    tcase_add_test(tc, test_no_budgets);
    tcase_add_test(tc, test_bad_tags);
    tcase_add_test(tc, test_budget_forces_close);
    tcase_add_test(tc, test_force_mask);
    tcase_add_test(tc, test_allow_open);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return fw_test_run(suite()); }
