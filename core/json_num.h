/* core/json_num.h -- the source spelling of every number of a parsed JSON
 * text.
 *
 * cJSON keeps a number as a double: integers past 2^53 lose digits and 1
 * cannot be told from 1.0.  fw_json_keep_numbers() stores each number's text
 * in its node's valuestring (freed by cJSON_Delete; cJSON itself never reads
 * it for numbers), so a reader can parse it exactly: 64-bit seeds in the
 * request validator, Python's int / float repr in the template plugins.
 * Compiled into libfwcore and, as a private copy like core/buf.c, into each
 * template plugin. */
#ifndef FW_CORE_JSON_NUM_H
#define FW_CORE_JSON_NUM_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* root: what cJSON parsed from text[0..n).  0, or -1 when out of memory
 * (then some numbers have no spelling and read by value). */
int fw_json_keep_numbers(cJSON *root, const char *text, size_t n);

#endif
