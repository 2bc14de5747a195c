/* fireworks/template.h -- chat-template plugins (ABI 1.1).
 *
 * A template plugin knows one chat format: it renders a validated request
 * into prompt pieces, and parses the model's output text, incrementally,
 * into content / reasoning_content / tool-call deltas.
 *
 * The request crosses the boundary as one JSON document (UTF-8), the same
 * shape `fwctl render` reads:
 *   {"messages": [...], "tools": [...] | null, "add_generation_prompt": bool,
 *    "kwargs": {"enable_thinking": .., "reasoning_effort": .., "clear_thinking": ..},
 *    "reasoning_effort": ..., "thinking": {...}, "reasoning_history": "...",
 *    "tool_choice": ..., "parallel_tool_calls": bool, "date": "YYYY-MM-DD"}
 * Message content is already a string (null -> "", text parts joined) and
 * tool-call arguments are JSON objects.  The API fields (reasoning_effort,
 * thinking, reasoning_history) are mapped by the plugin onto its format;
 * "kwargs", when given, are the template variables themselves and win.
 * "parallel_tool_calls" (absent = true): false limits a forced tool call
 * (tool_grammar) to one call.  "developer" messages are for the plugin to map
 * (system where the format has no developer role).  A final assistant
 * message with "add_generation_prompt" false is a prefill the model
 * continues: render it without its end-of-turn marker (the host sends false
 * exactly then).
 *
 * Threads: an instance is used from one thread; parsers are per request.
 */
#ifndef FIREWORKS_TEMPLATE_H
#define FIREWORKS_TEMPLATE_H

#include <fireworks/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where render writes the prompt.  Text pieces are tokenized with special
 * tokens NOT matched, so user text can never spoof one; special pieces are
 * the literal text of one special token ("<|im_start|>"). */
typedef struct fw_prompt_sink {
    uint32_t struct_size;
    void *ctx;
    fw_status (*text)(void *ctx, const char *s, size_t n);
    fw_status (*special)(void *ctx, const char *token);
} fw_prompt_sink;

typedef enum fw_parse_kind {
    FW_PARSE_CONTENT = 1,   /* text: a content delta */
    FW_PARSE_REASONING = 2, /* text: a reasoning_content delta */
    FW_PARSE_TOOL_BEGIN = 3,/* tool_index, id, name: a new tool call */
    FW_PARSE_TOOL_ARGS = 4, /* tool_index, text: a fragment of the arguments JSON */
} fw_parse_kind;

/* Valid only during the callback. */
typedef struct fw_parse_event {
    uint32_t struct_size;
    uint32_t kind;        /* fw_parse_kind */
    int32_t tool_index;   /* 0, 1, ... in order of appearance */
    int32_t reserved;
    const char *id;       /* TOOL_BEGIN: call id ("functions.get_weather:0"), or NULL */
    const char *name;     /* TOOL_BEGIN: function name */
    const char *text;     /* CONTENT, REASONING, TOOL_ARGS: not NUL-terminated */
    size_t text_len;
} fw_parse_event;

typedef fw_status (*fw_parse_cb)(void *ctx, const fw_parse_event *ev);

typedef struct fw_template fw_template;      /* opaque: one per model */
typedef struct fw_chat_parser fw_chat_parser;/* opaque: one per request */

typedef struct fw_template_vtable {
    uint32_t struct_size;
    /* --- 1.0 --- */
    /* variant: e.g. "glm-4.7", "kimi-k2-thinking"; NULL = the plugin's default. */
    fw_status (*create)(const char *variant, const fw_config_node *cfg, fw_template **out,
                        fw_err *err);
    void (*destroy)(fw_template *t);
    /* FW_ERR_INVALID with a message for a request this format cannot express
     * (the server answers 422). */
    fw_status (*render)(fw_template *t, const char *request_json, const fw_prompt_sink *sink,
                        fw_err *err);
    /* opts_json: {"tools": [...], "thinking_forced_open": bool,
     * "continue_final_message": bool} (may be NULL).  continue_final_message:
     * the prompt ends inside an open assistant turn (a prefill); the output is
     * its continuation, parsed as content (or reasoning, when the prefill left
     * a think block open) without trimming.  Parsers may ignore keys they do
     * not know. */
    fw_status (*parser_new)(fw_template *t, const char *opts_json, fw_chat_parser **out,
                            fw_err *err);
    fw_status (*parser_feed)(fw_chat_parser *p, const char *text, size_t n, fw_parse_cb cb,
                             void *ctx, fw_err *err);
    /* Flushes what was held back (partial markers) and ends the message. */
    fw_status (*parser_finish)(fw_chat_parser *p, fw_parse_cb cb, void *ctx, fw_err *err);
    void (*parser_free)(fw_chat_parser *p);
    /* NULL-terminated, static: strings that end the assistant's turn. */
    const char *const *(*stop_strings)(fw_template *t);
    /* GBNF for a valid tool-call output given the request's tools and
     * tool_choice (forced tool use); *out is host->alloc'd, NULL if none. */
    fw_status (*tool_grammar)(fw_template *t, const char *request_json, char **out, fw_err *err);
    /* --- 1.1 --- */
    /* Reasoning budgets (an integer reasoning_effort, thinking.budget_tokens).
     * FW_OK when the format can cap reasoning: *open is the text that opens
     * the reasoning section at the start of the output, as the model writes
     * it ("<think>"); *close is the text the host forces into the output
     * once the budget is spent ("\n</think>\n\n"), and its text without the
     * surrounding whitespace marks a close the model writes itself.  Both
     * static UTF-8.  FW_ERR_UNSUPPORTED (or a NULL member, or a 1.0 plugin):
     * budgets have no effect for this format. */
    fw_status (*reasoning_tags)(fw_template *t, const char **open, const char **close,
                                fw_err *err);
    /* --- 1.2+: append here only --- */
} fw_template_vtable;

#ifdef __cplusplus
}
#endif
#endif
