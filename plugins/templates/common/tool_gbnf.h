/* plugins/templates/common/tool_gbnf.h -- GBNF (llama.cpp dialect) for a
 * tool's arguments from its JSON-schema "parameters", and the forced-call
 * grammar of the formats whose call is a name then an arguments object.
 *
 * Compiled into every template plugin (private copy).
 * Supported: type string/integer/number/boolean/null (and lists of types),
 * enum, const, arrays with items, objects with properties (declared order,
 * required ones mandatory, optional ones skippable), anyOf/oneOf; anything
 * else is any JSON value.  The rules `obj`, `value`, `str`, `num`, `int`,
 * `ws` are expected to be defined by TOOL_GBNF_JSON_RULES. */
#ifndef FW_TOOL_GBNF_H
#define FW_TOOL_GBNF_H

#include <cjson/cJSON.h>

#include <fireworks/plugin.h>

#include "buf.h"

#define TOOL_GBNF_JSON_RULES                                                                    \
    "obj ::= \"{\" ws ( member ( \",\" ws member )* )? \"}\" ws\n"                            \
    "member ::= str \":\" ws value\n"                                                          \
    "value ::= ( obj | arr | str | num | \"true\" ws | \"false\" ws | \"null\" ws )\n"         \
    "arr ::= \"[\" ws ( value ( \",\" ws value )* )? \"]\" ws\n"                               \
    "str ::= \"\\\"\" ( [^\"\\\\\\x00-\\x1f] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F] " \
    "[0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] ) )* \"\\\"\" ws\n"                                   \
    "int ::= \"-\"? ( \"0\" | [1-9] [0-9]* ) ws\n"                                             \
    "num ::= \"-\"? ( \"0\" | [1-9] [0-9]* ) ( \".\" [0-9]+ )? ( [eE] [-+]? [0-9]+ )? ws\n"   \
    "ws ::= [ \\t\\n]*\n"

/* Appends s as a GBNF string literal (quotes included). */
void tool_gbnf_lit(fw_buf *g, const char *s);

/* Appends "RULE ::= ..." lines for a JSON value matching schema (NULL or
 * not an object: any JSON object). */
void tool_gbnf_args(fw_buf *g, const char *rule, const cJSON *schema);

/* The grammar for a forced tool call (tool_choice "required", or a named
 * function: {"function": {"name"}} or {"name"}), into *out (allocated with
 * alloc), or *out = NULL when nothing is forced:
 *   head (head_one when one tool is named or parallel_tool_calls is false)
 *   "call0 | call1 ..." tail
 *   callK ::= "NAME" mid argsK      (argsK: the tool's parameters)
 * then TOOL_GBNF_JSON_RULES.  who prefixes the error messages. */
fw_status tool_gbnf_grammar(const char *request_json, const char *who, const char *head,
                            const char *head_one, const char *mid, const char *tail,
                            void *(*alloc)(size_t), char **out, fw_err *err);

#endif
