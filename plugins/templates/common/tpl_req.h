/* plugins/templates/common/tpl_req.h -- the render request, normalised, and
 * a prompt writer over fw_prompt_sink.
 *
 * tpl_req_parse() reads the request JSON of fireworks/template.h and applies
 * the normalisation the HF templates expect (fixtures README): null content
 * -> "", an array of text parts -> their texts joined, tool-call arguments
 * given as a JSON string -> parsed (kept as the string when it is not JSON),
 * numbers keep their spelling (tpl_json.h).  Plugins then walk the cJSON
 * tree directly. */
#ifndef FW_TPL_REQ_H
#define FW_TPL_REQ_H

#include <cjson/cJSON.h>

#include <fireworks/template.h>

#include "buf.h"

typedef struct tpl_req {
    cJSON *root;          /* owned */
    cJSON *messages;      /* array (may be empty) */
    cJSON *tools;         /* array with >= 1 item, or NULL */
    cJSON *kwargs;        /* object or NULL */
    int add_generation_prompt;
} tpl_req;

/* FW_ERR_INVALID with a message naming the field for a malformed request. */
fw_status tpl_req_parse(tpl_req *r, const char *json, fw_err *err);
void tpl_req_free(tpl_req *r);

/* obj[key] when it is a string, else NULL. */
const char *tpl_get_str(const cJSON *obj, const char *key);
/* A message's content (always a string after normalisation). */
const char *tpl_msg_content(const cJSON *msg);
/* A message's role ("" when absent). */
const char *tpl_msg_role(const cJSON *msg);
/* role "developer" -> "system", in place: the OpenAI role for instructions,
 * which Fireworks treats as system on every model but harmony (which has its
 * own developer turn).  tpl_req_parse does it for every message. */
void tpl_msg_developer_as_system(cJSON *msg);
/* obj[key] as a truth value (Jinja truthiness of bool/number/string), or
 * dflt when the key is absent or null. */
int tpl_get_bool(const cJSON *obj, const char *key, int dflt);

/* The API reasoning fields, validated: *think = -1 (not given), 0 (off:
 * reasoning_effort "none"/false, thinking {"type":"disabled"}), 1 (on);
 * *history = NULL or "disabled" / "interleaved" / "preserved".
 * FW_ERR_INVALID for a bad value or reasoning_effort together with thinking. */
fw_status tpl_req_reasoning(const tpl_req *r, int *think, const char **history, fw_err *err);
/* Removes reasoning_content from every message (reasoning_history "disabled"). */
void tpl_req_strip_reasoning(tpl_req *r);
/* The enable_thinking-style kwarg: -1 absent, else Jinja truthiness (0/1);
 * *is_false is set when the value is exactly false. */
int tpl_kwarg_bool(const tpl_req *r, const char *key, int *is_false);

/* Python-style string helpers over slices. */
typedef struct tpl_slice {
    const char *p;
    size_t n;
} tpl_slice;
tpl_slice tpl_slice_of(const char *s);
tpl_slice tpl_strip(tpl_slice s);                  /* str.strip() (ASCII whitespace) */
tpl_slice tpl_strip_chars(tpl_slice s, char c, int left, int right); /* lstrip/rstrip(c) */
int tpl_slice_contains(tpl_slice s, const char *needle);
/* The HF templates' split of an assistant content at think tags:
 *   reasoning = content.split(close)[0].rstrip('\n').split(open)[-1].lstrip('\n')
 *   content   = content.split(close)[-1].lstrip('\n')
 * Returns 0 (nothing changed) when close does not occur. */
int tpl_split_think(tpl_slice content, const char *open, const char *close, tpl_slice *reasoning,
                    tpl_slice *rest);

/* Sets err (may be NULL) and returns code. */
fw_status tpl_err(fw_err *err, fw_status code, const char *fmt, ...) FW_PRINTF(3, 4);

/* Prompt writer: text is buffered and flushed before each special token,
 * so the sink sees maximal text pieces.  Errors are sticky in st. */
typedef struct tpl_out {
    const fw_prompt_sink *sink;
    fw_buf text;
    fw_status st;
} tpl_out;

void tpl_out_init(tpl_out *o, const fw_prompt_sink *sink);
void tpl_out_text(tpl_out *o, const char *s, size_t n);
void tpl_out_puts(tpl_out *o, const char *s);
void tpl_out_special(tpl_out *o, const char *token);
/* Flushes the pending text; returns the first error (and frees the writer). */
fw_status tpl_out_finish(tpl_out *o, fw_err *err);
/* Writes template-literal text s, turning each listed special token that
 * occurs in it into a special piece (only for trusted template text). */
void tpl_out_literal(tpl_out *o, const char *s, const char *const *specials);


#endif
