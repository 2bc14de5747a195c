/* core/reasoning.c -- reasoning budgets: follow the output, force the close. */
#include "reasoning.h"

#include <stdlib.h>
#include <string.h>

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

fw_status fw_reasoning_rules_init(fw_reasoning_rules *rules, const fw_template_vtable *vt,
                                  fw_template *t, const fw_tokenizer *tok, fw_err *err)
{
    const char *open = NULL, *close = NULL, *core;
    size_t n_core, n_ids = 0;
    int32_t *ids = NULL;
    fw_status st;

    memset(rules, 0, sizeof *rules);
    if (!vt || !FW_HAS(vt, fw_template_vtable, reasoning_tags))
        return FW_OK; /* a 1.0 template: budgets have no effect */
    st = vt->reasoning_tags(t, &open, &close, err);
    if (st == FW_ERR_UNSUPPORTED)
        return FW_OK;
    if (st != FW_OK)
        return st;
    if (!open || !*open || strlen(open) >= sizeof rules->open || !close)
        return fw_err_set(err, FW_ERR_INVALID, "template reasoning_tags: open text must be 1 to "
                          "%d bytes", (int)sizeof rules->open - 1);
    /* the close text without its surrounding whitespace marks a model's own close */
    for (core = close; *core && is_space(*core); core++)
        ;
    n_core = strlen(core);
    while (n_core > 0 && is_space(core[n_core - 1]))
        n_core--;
    if (n_core == 0 || n_core >= sizeof rules->close_core)
        return fw_err_set(err, FW_ERR_INVALID, "template reasoning_tags: close text '%.40s' must "
                          "hold 1 to %d bytes besides whitespace", close,
                          (int)sizeof rules->close_core - 1);
    st = fw_tokenizer_encode(tok, close, strlen(close), 1, &ids, &n_ids, err);
    if (st != FW_OK)
        return fw_err_prefix(err, "template reasoning_tags: close text: ");
    if (n_ids == 0) {
        free(ids);
        return fw_err_set(err, FW_ERR_INVALID, "template reasoning_tags: close text has no tokens");
    }
    memcpy(rules->open, open, strlen(open) + 1);
    memcpy(rules->close_core, core, n_core);
    rules->close_core[n_core] = '\0';
    rules->close_ids = ids;
    rules->n_close = (int32_t)n_ids;
    rules->open_id = -1;
    ids = NULL;
    if (fw_tokenizer_encode(tok, open, strlen(open), 1, &ids, &n_ids, err) == FW_OK && n_ids == 1)
        rules->open_id = ids[0];
    free(ids);
    rules->supported = 1;
    return FW_OK;
}

void fw_reasoning_rules_deinit(fw_reasoning_rules *rules)
{
    free(rules->close_ids);
    memset(rules, 0, sizeof *rules);
}

void fw_reasoning_start(fw_reasoning *st, const fw_reasoning_rules *rules, int prompt_open,
                        int64_t budget)
{
    memset(st, 0, sizeof *st);
    st->n_forced = -1;
    st->budget = budget;
    if (!rules->supported || prompt_open < 0)
        st->phase = FW_REASONING_DONE;
    else
        st->phase = prompt_open ? FW_REASONING_OPEN : FW_REASONING_START;
}

int32_t fw_reasoning_forced(const fw_reasoning *st, const fw_reasoning_rules *rules)
{
    if (st->phase != FW_REASONING_OPEN || st->n_forced < 0 || st->n_forced >= rules->n_close)
        return -1;
    return rules->close_ids[st->n_forced];
}

/* Appends bytes to the tail; OPEN keeps the last FW_REASONING_TAIL - 1. */
static int tail_push(fw_reasoning *st, const char *b, size_t n, int keep_last)
{
    size_t room = sizeof st->tail - 1;
    if (n > room) {
        if (!keep_last)
            return -1;
        b += n - room;
        n = room;
    }
    if ((size_t)st->tail_len + n > room) {
        size_t drop;
        if (!keep_last)
            return -1;
        drop = (size_t)st->tail_len + n - room;
        memmove(st->tail, st->tail + drop, (size_t)st->tail_len - drop);
        st->tail_len -= (int32_t)drop;
    }
    memcpy(st->tail + st->tail_len, b, n);
    st->tail_len += (int32_t)n;
    st->tail[st->tail_len] = '\0';
    return 0;
}

/* START: does the output (after leading whitespace) begin with the open text? */
static void accept_start(fw_reasoning *st, const fw_reasoning_rules *rules, const char *b,
                         size_t n)
{
    const char *v;
    size_t n_open = strlen(rules->open), n_v;

    if (tail_push(st, b, n, 0) != 0) {
        st->phase = FW_REASONING_DONE;
        return;
    }
    for (v = st->tail; is_space(*v); v++)
        ;
    n_v = strlen(v);
    if (n_v >= n_open && !memcmp(v, rules->open, n_open)) {
        /* open: what follows the open text in this token is reasoning text */
        char rest[FW_REASONING_TAIL];
        size_t n_rest = n_v - n_open;
        memcpy(rest, v + n_open, n_rest);
        st->phase = FW_REASONING_OPEN;
        st->tail_len = 0;
        tail_push(st, rest, n_rest, 1);
    } else if (memcmp(v, rules->open, n_v) != 0) {
        st->phase = FW_REASONING_DONE; /* content first: reasoning never opens */
    }
}

void fw_reasoning_accept(fw_reasoning *st, const fw_reasoning_rules *rules,
                         const fw_tokenizer *tok, int32_t token)
{
    size_t n = 0;
    const char *b;

    if (st->phase == FW_REASONING_DONE)
        return;
    b = fw_tokenizer_token_bytes(tok, token, &n);
    if (!b)
        n = 0;
    if (st->phase == FW_REASONING_START) {
        accept_start(st, rules, b ? b : "", n);
        return;
    }
    if (st->n_forced >= 0) {
        /* a forced close token: reasoning ends with the last one */
        if (++st->n_forced >= rules->n_close) {
            st->phase = FW_REASONING_DONE;
            st->n_forced = -1;
        }
        return;
    }
    tail_push(st, b ? b : "", n, 1);
    if (strstr(st->tail, rules->close_core)) {
        st->phase = FW_REASONING_DONE; /* the model closed it */
        return;
    }
    st->n_tokens++;
    if (st->budget >= 0 && st->n_tokens >= st->budget)
        st->n_forced = 0;
}

int fw_reasoning_active(const fw_reasoning *st)
{
    return st->phase == FW_REASONING_OPEN;
}

void fw_reasoning_force_mask(uint32_t *mask, int32_t n_vocab, int32_t token)
{
    memset(mask, 0, ((size_t)n_vocab + 31) / 32 * sizeof *mask);
    if (token >= 0 && token < n_vocab)
        mask[token / 32] = 1u << (token % 32);
}

void fw_reasoning_allow_open(const fw_reasoning *st, const fw_reasoning_rules *rules,
                             uint32_t *mask, int32_t n_vocab)
{
    int32_t t = rules->open_id;
    if (st->phase == FW_REASONING_START && t >= 0 && t < n_vocab)
        mask[t / 32] |= 1u << (t % 32);
}
