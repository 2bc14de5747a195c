/* core/reasoning.h -- reasoning budgets on the scheduler thread.
 *
 * A template that supports budgets (fw_template_vtable.reasoning_tags, ABI
 * 1.1) names the text that opens reasoning at the start of the output and
 * the text that closes it.  Per sequence, the scheduler follows the output
 * the way the template's parser does (reasoning opens only at the start of
 * the output, after whitespace, or in the prompt; it closes at the close
 * text), counts the tokens generated inside reasoning, and once the budget
 * is spent with reasoning still open, forces the close text's tokens, one per
 * step, through the normal decode path.
 *
 * Threads: rules are built once at load and read-only afterwards; a state
 * belongs to one sequence (the scheduler thread). */
#ifndef FW_CORE_REASONING_H
#define FW_CORE_REASONING_H

#include <stdint.h>

#include <fireworks/template.h>

#include "err.h"
#include "tokenizer.h"

#define FW_REASONING_TAIL 32 /* bytes of output kept to spot the close text */

typedef struct fw_reasoning_rules {
    int supported;       /* 0: budgets have no effect for this template */
    char open[32];       /* "<think>" */
    char close_core[32]; /* the close text without surrounding whitespace: "</think>" */
    int32_t open_id;     /* the open text as one token, or -1 */
    int32_t *close_ids;  /* (n_close) the close text as tokens, forced in order */
    int32_t n_close;
} fw_reasoning_rules;

typedef enum fw_reasoning_phase {
    FW_REASONING_START = 0, /* only whitespace so far: the open text may still come */
    FW_REASONING_OPEN = 1,  /* inside reasoning */
    FW_REASONING_DONE = 2,  /* closed, or the output began with something else */
} fw_reasoning_phase;

typedef struct fw_reasoning {
    uint32_t phase;      /* fw_reasoning_phase */
    int64_t budget;      /* tokens of reasoning allowed; -1 = no cap */
    int64_t n_tokens;    /* tokens generated inside reasoning */
    int32_t n_forced;    /* close tokens forced so far; -1 = not forcing */
    char tail[FW_REASONING_TAIL]; /* START: the output so far; OPEN: its last bytes */
    int32_t tail_len;
} fw_reasoning;

/* Asks the template (when it has the 1.1 member) and tokenizes the close
 * text once.  A template without budgets gives rules->supported = 0 and
 * FW_OK; an error is a template that answers with unusable text. */
fw_status fw_reasoning_rules_init(fw_reasoning_rules *rules, const fw_template_vtable *vt,
                                  fw_template *t, const fw_tokenizer *tok, fw_err *err);
void fw_reasoning_rules_deinit(fw_reasoning_rules *rules);

/* A sequence's state: prompt_open 1 when the prompt left reasoning open, -1
 * when it already closed it (thinking disabled: the output is all content),
 * 0 when the output may open it; budget < 0 for no cap (the state still
 * tracks reasoning, for grammars). */
void fw_reasoning_start(fw_reasoning *st, const fw_reasoning_rules *rules, int prompt_open,
                        int64_t budget);

/* The token the budget forces next, or -1 to sample normally. */
int32_t fw_reasoning_forced(const fw_reasoning *st, const fw_reasoning_rules *rules);

/* mask (ceil(n_vocab / 32) words): only token allowed. */
void fw_reasoning_force_mask(uint32_t *mask, int32_t n_vocab, int32_t token);

/* With a grammar: at the start of the output the model may still open
 * reasoning, so the open token joins the grammar's mask there (the grammar
 * then starts after the reasoning). */
void fw_reasoning_allow_open(const fw_reasoning *st, const fw_reasoning_rules *rules,
                             uint32_t *mask, int32_t n_vocab);

/* Records the token just output (sampled or forced). */
void fw_reasoning_accept(fw_reasoning *st, const fw_reasoning_rules *rules,
                         const fw_tokenizer *tok, int32_t token);

/* 1 while the output is reasoning or the forced close is not yet complete:
 * a grammar starts after that. */
int fw_reasoning_active(const fw_reasoning *st);

#endif
