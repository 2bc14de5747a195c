/* plugins/templates/common/tpl_json.h -- JSON the way the HF chat templates
 * print it.
 *
 * Jinja's `tojson` in Hugging Face transformers is Python's
 * json.dumps(obj, ensure_ascii=False): separators ", " and ": ", key order
 * kept, strings escaped like Python (UTF-8 kept), ints as ints and floats as
 * Python's repr (1.0, 0.5, 1e-05).  cJSON keeps every number as a double, so
 * tpl_json_parse() records each number's source text in the node's
 * valuestring (core/json_num.h); tpl_json_dump() uses it to tell 1
 * from 1.0 and to print big ints exactly.  Nodes without it (built in code)
 * print integral values as ints.
 *
 * Compiled into each template plugin (private copy, like core/buf.c). */
#ifndef FW_TPL_JSON_H
#define FW_TPL_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "buf.h"

/* Parses text[0..n) (n may be (size_t)-1 for NUL-terminated text) keeping
 * number spellings; NULL when it is not one complete JSON value. */
cJSON *tpl_json_parse(const char *text, size_t n);

/* Appends json.dumps(v, ensure_ascii=False) to b.  NULL prints "null". */
void tpl_json_dump(fw_buf *b, const cJSON *v);

/* Appends a Python float repr of d ("1.0", "0.5", "1e-05", "1.5e+20"). */
void tpl_json_float(fw_buf *b, double d);

/* Appends a JSON string literal escaped like Python json.dumps
 * (ensure_ascii=False). */
void tpl_json_str(fw_buf *b, const char *s, size_t n);

#endif
