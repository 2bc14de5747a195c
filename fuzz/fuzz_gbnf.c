/* fuzz/fuzz_gbnf.c -- libFuzzer target: the GBNF parser of the gbnf grammar
 * plugin, through its vtable (compile, matcher, fill_mask, accept_*).
 * Input: grammar text, then the matcher walk of fuzz_grammar_common.h. */
#include "fuzz_grammar_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_grammar_input(FW_GRAMMAR_GBNF, data, size);
}
