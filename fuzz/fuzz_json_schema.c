/* fuzz/fuzz_json_schema.c -- libFuzzer target: the JSON Schema compiler of the gbnf
 * grammar plugin (schema -> grammar), through its vtable; the same walk as fuzz_gbnf.
 * Input: schema JSON text, then the matcher walk of fuzz_grammar_common.h. */
#include "fuzz_grammar_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_grammar_input(FW_GRAMMAR_JSON_SCHEMA, data, size);
}
