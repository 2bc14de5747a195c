/* plugins/templates/common/tpl_tagparse.h -- an incremental output parser for
 * the tag formats: <think>...</think> reasoning and <tool_call>...</tool_call>
 * calls (Qwen3, GLM).  Only the call body differs per format: a callback
 * turns it into a name and an arguments JSON object, or refuses it (then the
 * text is kept as content/reasoning: malformed calls never get lost).
 *
 * Rules:
 *  - forced open: the output starts inside reasoning (a redundant opening
 *    tag there is dropped); otherwise an opening think tag at the very start
 *    (after whitespace) opens reasoning.  A stray closing tag in content is
 *    content.
 *  - calls are recognised in content and in reasoning;
 *  - whitespace around tags is dropped (leading after a tag, trailing before
 *    one, trailing at the end);
 *  - a marker cut at a chunk end is held back until the next feed. */
#ifndef FW_TPL_TAGPARSE_H
#define FW_TPL_TAGPARSE_H

#include <cjson/cJSON.h>

#include <fireworks/template.h>

#include "buf.h"

/* Parses one call body (the text between the call tags).  On success sets
 * *name (malloc'd, the caller frees it) and appends the
 * arguments JSON object to args; returns 0.  Returns -1 when the body is not
 * a valid call. */
typedef int (*tpl_call_fn)(const char *body, size_t n, const cJSON *tools, char **name,
                           fw_buf *args);

typedef struct tpl_tag_format {
    const char *think_open, *think_close, *call_open, *call_close;
    tpl_call_fn parse_call;
    /* At finish, an unclosed call whose body parses is accepted. */
    int accept_unclosed;
    const char *name; /* the plugin, for error messages */
} tpl_tag_format;

typedef struct tpl_tagparse tpl_tagparse;

/* opts_json as in fireworks/template.h parser_new (may be NULL). */
int tpl_tagparse_new(const tpl_tag_format *fmt, const char *opts_json, tpl_tagparse **out);
fw_status tpl_tagparse_feed(tpl_tagparse *p, const char *s, size_t n, fw_parse_cb cb, void *ctx);
fw_status tpl_tagparse_finish(tpl_tagparse *p, fw_parse_cb cb, void *ctx);
void tpl_tagparse_free(tpl_tagparse *p);

/* The template vtable's parser entries over a tpl_tagparse (errors name
 * fmt->name). */
fw_status tpl_tag_parser_new(const tpl_tag_format *fmt, const char *opts_json,
                             fw_chat_parser **out, fw_err *err);
fw_status tpl_tag_parser_feed(fw_chat_parser *p, const char *s, size_t n, fw_parse_cb cb,
                              void *ctx, fw_err *err);
fw_status tpl_tag_parser_finish(fw_chat_parser *p, fw_parse_cb cb, void *ctx, fw_err *err);
void tpl_tag_parser_free(fw_chat_parser *p);

/* The head of a tag-format plugin's template instance (qwen3, glm): its
 * struct fw_template begins with this, so the vtable's parser_new and
 * stop_strings entries are these two. */
typedef struct tpl_tag_template {
    const tpl_tag_format *fmt;
    const char *const *stops; /* NULL-terminated, static */
} tpl_tag_template;

fw_status tpl_tag_vt_parser_new(fw_template *t, const char *opts_json, fw_chat_parser **out,
                                fw_err *err);
const char *const *tpl_tag_vt_stop_strings(fw_template *t);

/* The tools array's entry for name ({"type":"function","function":{..}} or
 * the bare function object); its "parameters" schema or NULL. */
const cJSON *tpl_tool_params(const cJSON *tools, const char *name);

#endif
