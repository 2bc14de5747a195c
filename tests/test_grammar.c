/* tests/test_grammar.c -- the gbnf grammar plugin: GBNF features and errors,
 * JSON Schema, the token mask against a brute-force check, random-walk
 * property tests (every finished document parses and validates), the Qwen3
 * vocabulary, and `fwctl grammar`. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gbnf.h"
#include "grammar_gbnf.h"
#include "host_api.h"
#include "vocab_load.h"

static const fw_grammar_vtable *vt(void)
{
    const fw_plugin_desc *d = fw_grammar_gbnf_desc(fw_host_api_get());
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->kind, FW_PLUGIN_GRAMMAR);
    ck_assert_str_eq(d->name, "gbnf");
    return d->vtable;
}

/* 1 = the whole text is a sentence of the grammar, 0 = not, -1 = no compile */
static int matches(uint32_t source, const char *grammar, const char *text, size_t n)
{
    fw_grammar *g = NULL;
    fw_matcher *m = NULL;
    fw_err err = {0};
    int ok;

    if (vt()->compile(source, grammar, NULL, &g, &err) != FW_OK)
        return -1;
    ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
    ok = vt()->accept_bytes(m, text, n, &err) == FW_OK && vt()->is_accepting(m);
    vt()->matcher_free(m);
    vt()->grammar_free(g);
    return ok;
}

static fw_status compile_err(uint32_t source, const char *text, fw_err *err)
{
    fw_grammar *g = NULL;
    fw_status st;
    memset(err, 0, sizeof *err);
    st = vt()->compile(source, text, NULL, &g, err);
    vt()->grammar_free(g);
    return st;
}

/* ---- GBNF features ---- */

/* A grammar (GBNF, or a JSON Schema) and a text: want 1 = a sentence of it. */
typedef struct gcase {
    const char *grammar;
    const char *text;
    int want;
} gcase;

static const gcase GBNF_CASES[] = {
    /* literals, sequences, alternatives */
    {"root ::= \"abc\"", "abc", 1},
    {"root ::= \"abc\"", "ab", 0},
    {"root ::= \"abc\"", "abcd", 0},
    {"root ::= \"a\" | \"b\" \"c\"", "bc", 1},
    {"root ::= \"a\" | \"b\" \"c\"", "b", 0},
    /* groups and repetition */
    {"root ::= (\"a\" | \"b\")* \"c\"", "ababbc", 1},
    {"root ::= (\"a\" | \"b\")* \"c\"", "c", 1},
    {"root ::= (\"ab\")+", "", 0},
    {"root ::= (\"ab\")+", "ababab", 1},
    {"root ::= (\"ab\")+", "aba", 0},
    {"root ::= \"x\"? \"y\"", "y", 1},
    {"root ::= \"x\"? \"y\"", "xy", 1},
    {"root ::= \"x\"? \"y\"", "xxy", 0},
    {"root ::= \"a\"{3}", "aaa", 1},
    {"root ::= \"a\"{3}", "aa", 0},
    {"root ::= \"a\"{3}", "aaaa", 0},
    {"root ::= \"a\"{2,}", "aa", 1},
    {"root ::= \"a\"{2,}", "aaaaaaa", 1},
    {"root ::= \"a\"{2,}", "a", 0},
    {"root ::= \"a\"{1,3}", "aaa", 1},
    {"root ::= \"a\"{1,3}", "aaaa", 0},
    {"root ::= \"a\"{0,2} \"b\"", "b", 1},
    {"root ::= (\"ab\" | \"c\"){2,3}", "abcab", 1},
    {"root ::= (\"ab\" | \"c\"){2,3}", "ab", 0},
    /* escapes */
    {"root ::= \"\\n\\t\\r\\\\\\\"\"", "\n\t\r\\\"", 1},
    {"root ::= \"\\x41\\u00e9\\U0001F600\"", "A\xc3\xa9\xf0\x9f\x98\x80", 1},
    {"root ::= \"\\x41\"", "B", 0},
    /* character classes, UTF-8 aware */
    {"root ::= [a-c0-9_]+", "ab0_9c", 1},
    {"root ::= [a-c0-9_]+", "abd", 0},
    {"root ::= [^a-z]", "A", 1},
    {"root ::= [^a-z]", "q", 0},
    {"root ::= [^a-z]", "\xc3\xa9", 1},   /* é: one code point */
    {"root ::= [^a-z]", "\xe4\xb8\xad", 1},
    {"root ::= [^a-z]", "\xf0\x9f\x98\x80", 1},
    {"root ::= [^a-z]", "\xc3", 0},       /* a cut character */
    {"root ::= [^a-z]", "\xc3\xa9\xc3\xa9", 0},
    {"root ::= [\xc3\xa0-\xc3\xbf]", "\xc3\xa9", 1},
    {"root ::= [\xc3\xa0-\xc3\xbf]", "\xc3\x9f", 0},
    {"root ::= [\\u4e00-\\u9fff]+", "\xe4\xb8\xad\xe6\x96\x87", 1},
    {"root ::= [\\u4e00-\\u9fff]+", "a", 0},
    {"root ::= [\\]\\[\\-]+", "[]-", 1},
    {"root ::= [-a]+", "-a-", 1},
    {"root ::= [\\x00-\\x7f]*", "\x7f", 1},
    {"root ::= [\\x00-\\x7f]*", "\xc2\x80", 0},
    /* any character */
    {"root ::= . . .", "a\xc3\xa9\n", 1},
    {"root ::= .", "\xff", 0}, /* not UTF-8 */
    {"root ::= .", "\xed\xa0\x80", 0}, /* a surrogate */
    /* comments, rule references, multi-line bodies */
    {"# a comment\nroot ::= a b # trailing\na ::= \"x\"\nb ::= \"y\" | a\n", "xy", 1},
    {"# a comment\nroot ::= a b # trailing\na ::= \"x\"\nb ::= \"y\" | a\n", "xx", 1},
    {"root ::=\n  \"a\"\n  | \"b\"\n", "b", 1},
    {"root ::= (\n  \"a\" |\n  \"b\"\n) \"c\"\n", "bc", 1},
    {"list ::=\n  \"[\" (\n    num\n    (\",\" num)*\n  )? \"]\"\n\n# numbers\n"
     "num ::= [0-9]+\nroot ::= list ws\nws ::= | \" \" | \"\\n\" [ \\t]{0,4}\n", "[1,22]\n  ", 1},
    {"list ::=\n  \"[\" (\n    num\n    (\",\" num)*\n  )? \"]\"\n\n# numbers\n"
     "num ::= [0-9]+\nroot ::= list ws\nws ::= | \" \" | \"\\n\" [ \\t]{0,4}\n", "[1,]", 0},
    /* right recursion, nesting */
    {"root ::= list\nlist ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= [0-9]+ | list\n",
     "[1,[2,[]],[[3]]]", 1},
    {"root ::= list\nlist ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= [0-9]+ | list\n",
     "[1,[2,[]]", 0},
    /* empty alternatives, nullable stars */
    {"root ::= \"a\" |", "", 1},
    {"root ::= (\"a\"?)* \"b\"", "aab", 1},
    {"root ::= (\"a\"? \"b\"?)*", "abba", 1},
};

/* Each case's text against its grammar (GBNF or a JSON Schema, as source). */
static void check_cases(uint32_t source, const gcase *cases, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const gcase *c = &cases[i];
        int got = matches(source, c->grammar, c->text, strlen(c->text));
        if (got != c->want) {
            fw_err err;
            compile_err(source, c->grammar, &err);
            ck_abort_msg("case %zu: grammar %s on \"%s\": got %d want %d (%s)", i, c->grammar,
                         c->text, got, c->want, err.msg);
        }
    }
}

START_TEST(test_gbnf_features)
{
    check_cases(FW_GRAMMAR_GBNF, GBNF_CASES, sizeof GBNF_CASES / sizeof GBNF_CASES[0]);
}
END_TEST

/* ---- GBNF errors ---- */

typedef struct ecase {
    const char *grammar;
    const char *want; /* substring of the message */
} ecase;

static const ecase GBNF_ERRORS[] = {
    {"root ::= \"abc", "line 1 col 10: unterminated string"},
    {"root ::= [abc", "line 1 col 10: unterminated character class"},
    {"root ::= [z-a]", "line 1 col 11: invalid range"},
    {"root ::= (\"a\"", "line 1 col 14: expected ')'"},
    {"root ::= \"a\"\nx ::= (\"b\"\ny ::= \"c\"\n", "line 3 col 1: expected ')'"},
    {"root ::= \"a\")", "line 1 col 13: unexpected ')'"},
    {"root ::= * \"a\"", "line 1 col 10: '*' without a preceding item"},
    {"root ::= \"a\"{", "line 1 col 14: expected a number"},
    {"root ::= \"a\"{2", "line 1 col 15: expected '}'"},
    {"root ::= \"a\"{3,2}", "line 1 col 13: repetition {3,2}"},
    {"root ::= \"a\"{99999}", "repetition count too large"},
    {"root ::= \"\\q\"", "line 1 col 11: unknown escape"},
    {"root ::= \"\\x4\"", "line 1 col 11: expected 2 hex digits"},
    {"root ::= \"\\uD800\"", "line 1 col 11: escape is not a valid code point"},
    {"root ::= \"a\" @", "line 1 col 14: unexpected character '@'"},
    {"root \"a\"", "line 1 col 6: expected '::='"},
    {"::= \"a\"", "line 1 col 1: expected a rule name"},
    {"root ::= \"a\"\nroot ::= \"b\"", "line 2 col 1: rule 'root' defined twice"},
    {"root ::= item\n", "line 1 col 10: undefined rule 'item'"},
    {"start ::= \"a\"", "missing rule 'root'"},
    {"root ::= [^\\x00-\\U0010FFFF]", "matches nothing"},
    {"root ::= \"\xff\"", "line 1 col 11: invalid UTF-8"},
    {"root ::= e\ne ::= e \"+\" \"1\" | \"1\"\n", "left recursion in rule 'e'"},
    {"root ::= a\na ::= b \"x\"\nb ::= a \"y\" | \"z\"\n", "left recursion"},
    {"root ::= a\na ::= \"b\"? a \"x\" | \"y\"\n", "left recursion"},
    {"", "missing rule 'root'"},
};

START_TEST(test_gbnf_errors)
{
    size_t i;
    for (i = 0; i < sizeof GBNF_ERRORS / sizeof GBNF_ERRORS[0]; i++) {
        fw_err err;
        fw_status st = compile_err(FW_GRAMMAR_GBNF, GBNF_ERRORS[i].grammar, &err);
        ck_assert_msg(st == FW_ERR_INVALID, "case %zu: status %d", i, (int)st);
        ck_assert_msg(strstr(err.msg, GBNF_ERRORS[i].want) != NULL,
                      "case %zu: message \"%s\" lacks \"%s\"", i, err.msg, GBNF_ERRORS[i].want);
    }
}
END_TEST

/* Garbage in never crashes or hangs: prefixes and byte flips of a grammar. */
START_TEST(test_gbnf_garbage)
{
    static const char base[] =
        "root ::= obj\nobj ::= \"{\" (kv (\",\" kv)*)? \"}\" # c\nkv ::= [a-z]+ \":\" "
        "(obj | [0-9]{1,3} | \"\\u00e9\"?)\n";
    static const char junk[] = "()[]{}|*+?\"\\#:=^-.,\n a0\xc3\xff";
    char buf[sizeof base];
    uint64_t rng = 42;
    size_t i, n = strlen(base);
    int k;

    for (i = 0; i <= n; i++) {
        fw_err err;
        memcpy(buf, base, i);
        buf[i] = '\0';
        compile_err(FW_GRAMMAR_GBNF, buf, &err);
    }
    for (k = 0; k < 3000; k++) {
        fw_grammar *g = NULL;
        fw_err err = {0};
        int flips = 1 + k % 3, f;
        memcpy(buf, base, sizeof base);
        for (f = 0; f < flips; f++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            buf[(rng >> 33) % n] = junk[(rng >> 17) % (sizeof junk - 1)];
        }
        if (vt()->compile(FW_GRAMMAR_GBNF, buf, NULL, &g, &err) == FW_OK) {
            fw_matcher *m = NULL;
            ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
            {
                static const char text[] = "{ab:{c:1},d:\xc3\xa9}";
                vt()->accept_bytes(m, text, sizeof text - 1, &err);
            }
            vt()->matcher_free(m);
            vt()->grammar_free(g);
        } else {
            ck_assert_int_ne(err.msg[0], '\0');
        }
    }
}
END_TEST

/* ---- JSON Schema ---- */

static const char SCHEMA_PERSON[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
    "\"age\":{\"type\":\"integer\",\"minimum\":0},"
    "\"email\":{\"type\":[\"string\",\"null\"]},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\",3,null,true]},"
    "\"minItems\":1,\"maxItems\":3},"
    "\"kind\":{\"const\":\"person\"}},"
    "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}";

static const char SCHEMA_TREE[] =
    "{\"$ref\":\"#/$defs/node\",\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{"
    "\"v\":{\"type\":\"number\"},"
    "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":2}},"
    "\"required\":[\"v\"]}}}";

static const char SCHEMA_MIX[] =
    "{\"definitions\":{\"pt\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"},"
    "\"y\":{\"type\":\"integer\"}},\"required\":[\"x\",\"y\"]}},"
    "\"type\":\"object\",\"properties\":{"
    "\"shape\":{\"anyOf\":[{\"$ref\":\"#/definitions/pt\"},{\"type\":\"string\","
    "\"maxLength\":4}]},"
    "\"meta\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"boolean\"}},"
    "\"both\":{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},"
    "\"required\":[\"a\"]},{\"properties\":{\"b\":{\"type\":\"null\"}}}]},"
    "\"pair\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"boolean\"},{\"type\":\"string\"}],"
    "\"items\":false},"
    "\"day\":{\"type\":\"string\",\"format\":\"date\"},"
    "\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
    "\"open\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"integer\"}},"
    "\"additionalProperties\":true}},"
    "\"required\":[\"shape\"]}";

static const char INT_RANGE[] =
    "{\"type\":\"integer\",\"minimum\":-15,\"exclusiveMaximum\":250}";

static const char REF_SIBLINGS[] =
    "{\"$ref\":\"#/$defs/base\",\"description\":\"d\",\"properties\":{\"extra\":{\"type\":"
    "\"integer\"}},\"$defs\":{\"base\":{\"type\":\"object\",\"properties\":{\"a\":"
    "{\"type\":\"string\"}},\"required\":[\"a\"]}}}";

/* {schema, document, 1 = valid} */
static const gcase SCHEMA_CASES[] = {
    {SCHEMA_PERSON, "{\"name\":\"bob\",\"age\":3}", 1},
    {SCHEMA_PERSON, "{ \"name\" : \"bob\" ,\n  \"age\" : 0 }", 1},
    {SCHEMA_PERSON, "{\"name\":\"bob\",\"age\":3,\"email\":null,\"tags\":[\"a\",3,null],"
                    "\"kind\":\"person\"}", 1},
    {SCHEMA_PERSON, "{\"name\":\"bob\",\"age\":3,\"tags\":[true]}", 1},
    {SCHEMA_PERSON, "{\"name\":\"bob\"}", 0},                        /* required */
    {SCHEMA_PERSON, "{\"age\":3}", 0},
    {SCHEMA_PERSON, "{\"name\":\"bob\",\"age\":3,\"x\":1}", 0},      /* additionalProperties */
    {SCHEMA_PERSON, "{\"name\":\"\",\"age\":3}", 0},                 /* minLength */
    {SCHEMA_PERSON, "{\"name\":\"abcdefghi\",\"age\":3}", 0},        /* maxLength */
    {SCHEMA_PERSON, "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\",\"age\":3}", 1}, /* 3 chars */
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":-3}", 0},               /* minimum 0 */
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3.5}", 0},              /* integer */
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3,\"tags\":[]}", 0},    /* minItems */
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3,\"tags\":[\"a\",\"a\",\"a\",\"a\"]}", 0},
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3,\"tags\":[\"c\"]}", 0}, /* enum */
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3,\"kind\":\"cat\"}", 0}, /* const */
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3,\"email\":1}", 0},
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3", 0},
    {SCHEMA_PERSON, "{\"name\":\"b\",\"age\":3}                         ", 0}, /* ws bound */
    {SCHEMA_TREE, "{\"v\":1}", 1},
    {SCHEMA_TREE, "{\"v\":1.5e-3,\"kids\":[{\"v\":2,\"kids\":[{\"v\":-0.5},{\"v\":4}]}]}", 1},
    {SCHEMA_TREE, "{\"v\":1,\"kids\":[{\"kids\":[]}]}", 0},
    {SCHEMA_TREE, "{\"v\":1,\"kids\":[{\"v\":1},{\"v\":1},{\"v\":1}]}", 0},
    {SCHEMA_TREE, "{\"v\":01}", 0},
    {SCHEMA_MIX, "{\"shape\":{\"x\":1,\"y\":2}}", 1},
    {SCHEMA_MIX, "{\"shape\":\"sq\"}", 1},
    {SCHEMA_MIX, "{\"shape\":\"square\"}", 0},
    {SCHEMA_MIX, "{\"shape\":{\"x\":1}}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"meta\":{\"p\":true,\"q\":false}}", 1},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"meta\":{\"p\":1}}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"both\":{\"a\":\"x\",\"b\":null}}", 1},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"both\":{\"b\":null}}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"pair\":[true,\"s\"]}", 1},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"pair\":[true,\"s\",1]}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"pair\":[\"s\"]}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"day\":\"2024-02-29\"}", 1},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"day\":\"2024-2-29\"}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"id\":\"123e4567-e89b-12d3-a456-426614174000\"}", 1},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"id\":\"123e4567\"}", 0},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"open\":{\"k\":1,\"zz\":[1,{}]}}", 1},
    {SCHEMA_MIX, "{\"shape\":\"a\",\"open\":{\"zz\":\"q\"}}", 1},
    {"{\"type\":\"object\"}", "{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\n\"}", 1},
    {"{\"type\":\"object\"}", "[]", 0},
    {"{\"type\":\"string\"}", "\"\\ud83d\\ude00\"", 1},
    {"{\"type\":\"string\"}", "\"\\ud83d\"", 0}, /* lone surrogate */
    {"{\"type\":\"string\"}", "\"a\nb\"", 0},    /* raw control char */
    {"{\"enum\":[\"x\",1,[1,2],{\"k\":null}]}", "{\"k\":null}", 1},
    {"{\"enum\":[\"x\",1,[1,2],{\"k\":null}]}", "2", 0},
    {"{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"boolean\"}]}", "false", 1},
    {"{\"type\":[\"integer\",\"null\"]}", "null", 1},
    {"{\"type\":[\"integer\",\"null\"]}", "1.5", 0},
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":3}",
     "[1, 2, 3]", 1},
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":3}", "[1]",
     0},
    {"true", "[1,\"x\",{\"a\":null}]", 1},
    {"{}", "3", 1},
    {"{\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"#\"}}}",
     "{\"n\":{\"n\":{}}}", 1},
    /* integer ranges are exact */
    {INT_RANGE, "-15", 1},
    {INT_RANGE, "-16", 0},
    {INT_RANGE, "0", 1},
    {INT_RANGE, "249", 1},
    {INT_RANGE, "250", 0},
    {INT_RANGE, "1000", 0},
    {INT_RANGE, "-0", 0},
    {INT_RANGE, "007", 0},
    {"{\"type\":\"integer\",\"minimum\":100}", "99", 0},
    {"{\"type\":\"integer\",\"minimum\":100}", "100", 1},
    {"{\"type\":\"integer\",\"minimum\":100}", "123456", 1},
    {"{\"type\":\"integer\",\"maximum\":-7}", "-7", 1},
    {"{\"type\":\"integer\",\"maximum\":-7}", "-6", 0},
    {"{\"type\":\"integer\",\"maximum\":-7}", "-70000", 1},
    {"{\"type\":\"integer\",\"exclusiveMinimum\":2.5,\"maximum\":3}", "3", 1},
    {"{\"type\":\"integer\",\"exclusiveMinimum\":2.5,\"maximum\":3}", "2", 0},
    /* $ref with constraining siblings: both apply (merged) */
    {REF_SIBLINGS, "{\"extra\":1,\"a\":\"x\"}", 1},
    {REF_SIBLINGS, "{\"a\":\"x\"}", 1},
    {REF_SIBLINGS, "{\"extra\":1}", 0},
    {"{\"$ref\":\"#\",\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"#\"}}}",
     "{\"n\":{\"n\":{}}}", 1},
    {"{\"type\":\"object\",\"properties\":{\"a b\\\"c\":{\"type\":\"integer\"}},"
     "\"required\":[\"a b\\\"c\"]}", "{\"a b\\\"c\":1}", 1},
};

START_TEST(test_json_schema)
{
    check_cases(FW_GRAMMAR_JSON_SCHEMA, SCHEMA_CASES,
                sizeof SCHEMA_CASES / sizeof SCHEMA_CASES[0]);
}
END_TEST

/* Long alternations (anyOf of 150 members) compile and match. */
START_TEST(test_json_schema_wide)
{
    char schema[8192];
    size_t n = 0;
    int i;

    n += (size_t)snprintf(schema + n, sizeof schema - n, "{\"anyOf\":[");
    for (i = 0; i < 150; i++)
        n += (size_t)snprintf(schema + n, sizeof schema - n, "%s{\"const\":\"v%d\"}",
                              i ? "," : "", i);
    snprintf(schema + n, sizeof schema - n, "]}");
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_SCHEMA, schema, "\"v149\"", 6), 1);
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_SCHEMA, schema, "\"v0\"", 4), 1);
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_SCHEMA, schema, "\"v150\"", 6), 0);
}
END_TEST

START_TEST(test_json_object_mode)
{
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_OBJECT, NULL, "{\"a\": [1, 2.5, true]}", 21), 1);
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_OBJECT, "ignored", "{}", 2), 1);
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_OBJECT, NULL, "[1]", 3), 0);
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_OBJECT, NULL, "\"s\"", 3), 0);
    ck_assert_int_eq(matches(FW_GRAMMAR_JSON_OBJECT, NULL, "{\"a\":}", 6), 0);
}
END_TEST

static const ecase SCHEMA_ERRORS[] = {
    {"{\"type\":\"object\",\"patternProperties\":{}}", "unsupported keyword 'patternProperties' at /"},
    {"{\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"^x\"}}}",
     "unsupported keyword 'pattern' at /properties/a"},
    {"{\"type\":\"array\",\"items\":{\"not\":{}}}", "unsupported keyword 'not' at /items"},
    {"{\"type\":\"array\",\"uniqueItems\":true}", "unsupported keyword 'uniqueItems'"},
    {"{\"type\":\"number\",\"multipleOf\":2}", "unsupported keyword 'multipleOf'"},
    {"{\"anyOf\":[{\"type\":\"string\"},{\"if\":{}}]}", "unsupported keyword 'if' at /anyOf/1"},
    {"{\"type\":\"strin\"}", "unknown type 'strin'"},
    {"{\"$ref\":\"#/$defs/missing\"}", "does not resolve"},
    {"{\"$ref\":\"http://x/y.json\"}", "unsupported $ref"},
    {"{\"type\":\"object\"", "not valid JSON"},
    {"[1]", "must be an object or a boolean"},
    {"{\"type\":\"string\",\"minLength\":-1}", "minLength"},
    {"{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}", "maxItems < minItems"},
    {"{\"enum\":[]}", "'enum' at / must be a non-empty array"},
    {"{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}", "no integer between"},
};

START_TEST(test_json_schema_errors)
{
    size_t i;
    for (i = 0; i < sizeof SCHEMA_ERRORS / sizeof SCHEMA_ERRORS[0]; i++) {
        fw_err err;
        fw_status st = compile_err(FW_GRAMMAR_JSON_SCHEMA, SCHEMA_ERRORS[i].grammar, &err);
        ck_assert_msg(st == FW_ERR_INVALID, "case %zu: status %d (%s)", i, (int)st, err.msg);
        ck_assert_msg(strstr(err.msg, SCHEMA_ERRORS[i].want) != NULL,
                      "case %zu: message \"%s\" lacks \"%s\"", i, err.msg, SCHEMA_ERRORS[i].want);
    }
}
END_TEST

/* ---- a small vocabulary for mask and walk tests ---- */

typedef struct small_vocab {
    fw_vocab v;
    const char *bytes[160];
    int32_t len[160];
    int32_t eos[1];
} small_vocab;

static void small_vocab_init(small_vocab *sv)
{
    static char singles[95][2];
    static const char *const multi[] = {
        "{\"", "\":", "\",", "\"}", ", \"", "\": ", "true", "false", "null", "[]", "{}", "[{",
        "}]", "12", "-3", ".5", "e+", "0", "\xc3\xa9", "\xe4\xb8\xad", "\xe4", "\xb8\xad",
        "\xf0\x9f\x98\x80", "abc", "\\n", "\\u00e9", "  ", "\"\"", "\n", "\n  ", "\t", "\"a\"",
        "ab", "\"v\":", "\"kids\":[", "\"name\":\"", "\"age\":", "\x01", "\xff", "-", "<end>",
    };
    int32_t n = 0, i;

    memset(sv, 0, sizeof *sv);
    for (i = 0; i < 95; i++) {
        singles[i][0] = (char)(0x20 + i);
        sv->bytes[n] = singles[i];
        sv->len[n++] = 1;
    }
    for (i = 0; i < (int32_t)(sizeof multi / sizeof multi[0]); i++) {
        sv->bytes[n] = multi[i];
        sv->len[n++] = (int32_t)strlen(multi[i]);
    }
    sv->bytes[n] = NULL; /* a special token */
    sv->len[n++] = 0;
    sv->bytes[n] = "</s>"; /* eos, with text that must not count as bytes */
    sv->len[n] = 4;
    sv->eos[0] = n++;
    sv->v.struct_size = sizeof sv->v;
    sv->v.n_tokens = n;
    sv->v.bytes = sv->bytes;
    sv->v.len = sv->len;
    sv->v.n_eos = 1;
    sv->v.eos_ids = sv->eos;
}

static int bit(const uint32_t *mask, int32_t t) { return (int)(mask[t >> 5] >> (t & 31) & 1); }

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A matcher in the state after hist (fresh caches: an independent oracle). */
static fw_matcher *replay(const fw_grammar *g, const char *hist, size_t n)
{
    fw_matcher *m = NULL;
    fw_err err = {0};
    ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
    ck_assert_int_eq(vt()->accept_bytes(m, hist, n, &err), FW_OK);
    return m;
}

typedef struct mcase {
    uint32_t source;
    const char *text;
} mcase;

static const mcase MASK_GRAMMARS[] = {
    {FW_GRAMMAR_JSON_SCHEMA, SCHEMA_PERSON},
    {FW_GRAMMAR_JSON_SCHEMA, SCHEMA_TREE},
    {FW_GRAMMAR_JSON_SCHEMA, SCHEMA_MIX},
    {FW_GRAMMAR_JSON_OBJECT, NULL},
    {FW_GRAMMAR_GBNF, "root ::= [^<]* \"<end>\""},
    {FW_GRAMMAR_GBNF, "root ::= ([a-c] | \"\\u00e9\" | [\\u4e00-\\u9fff])+ (\"!\" | \"ab\")"},
    {FW_GRAMMAR_GBNF, "root ::= \"{\" [ ]{0,3} \"\\\"\" [^\"]{0,5} \"\\\"\" [ ]? \"}\""},
};

/* fill_mask == { t : accept_bytes(t) succeeds from the current state }, eos
 * iff accepting, the special token never; along random walks. */
START_TEST(test_mask_brute_force)
{
    small_vocab sv;
    uint32_t mask[8];
    size_t gi;
    uint64_t rng = 7;

    small_vocab_init(&sv);
    for (gi = 0; gi < sizeof MASK_GRAMMARS / sizeof MASK_GRAMMARS[0]; gi++) {
        fw_grammar *g = NULL;
        fw_err err = {0};
        int walk;
        ck_assert_msg(vt()->compile(MASK_GRAMMARS[gi].source, MASK_GRAMMARS[gi].text, &sv.v, &g,
                                    &err) == FW_OK, "grammar %zu: %s", gi, err.msg);
        for (walk = 0; walk < 6; walk++) {
            fw_matcher *m = NULL;
            char hist[2048];
            size_t hn = 0;
            int step;
            ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
            for (step = 0; step < 40; step++) {
                int32_t t, allowed[160], n_allowed = 0;
                fw_matcher *oracle = replay(g, hist, hn);
                ck_assert_int_eq(vt()->fill_mask(m, mask, &err), FW_OK);
                for (t = 0; t < sv.v.n_tokens; t++) {
                    int want;
                    if (t == sv.eos[0]) {
                        want = vt()->is_accepting(oracle);
                    } else if (!sv.bytes[t]) {
                        want = 0;
                    } else {
                        fw_matcher *o = replay(g, hist, hn);
                        want = vt()->accept_bytes(o, sv.bytes[t], (size_t)sv.len[t], &err) ==
                               FW_OK;
                        vt()->matcher_free(o);
                    }
                    ck_assert_msg(bit(mask, t) == want,
                                  "grammar %zu walk %d step %d token %d (%.*s): mask %d, oracle %d",
                                  gi, walk, step, (int)t, (int)sv.len[t],
                                  sv.bytes[t] ? sv.bytes[t] : "", bit(mask, t), want);
                    if (want)
                        allowed[n_allowed++] = t;
                }
                vt()->matcher_free(oracle);
                if (n_allowed == 0)
                    break;
                t = allowed[rng_next(&rng) % (uint64_t)n_allowed];
                ck_assert_int_eq(vt()->accept_token(m, t, &err), FW_OK);
                if (t == sv.eos[0])
                    break;
                if (hn + (size_t)sv.len[t] >= sizeof hist)
                    break;
                memcpy(hist + hn, sv.bytes[t], (size_t)sv.len[t]);
                hn += (size_t)sv.len[t];
            }
            vt()->matcher_free(m);
        }
        vt()->grammar_free(g);
    }
}
END_TEST

START_TEST(test_accept_token_rules)
{
    small_vocab sv;
    fw_grammar *g = NULL;
    fw_matcher *m = NULL;
    fw_err err = {0};
    uint32_t mask[8];
    int32_t special, t_a = 'a' - 0x20, t_b = 'b' - 0x20;

    small_vocab_init(&sv);
    special = sv.eos[0] - 1;
    ck_assert_int_eq(vt()->compile(FW_GRAMMAR_GBNF, "root ::= \"a\"+", &sv.v, &g, &err), FW_OK);
    ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
    ck_assert_int_eq(vt()->accept_token(m, sv.eos[0], &err), FW_ERR_INVALID); /* not complete */
    ck_assert_int_eq(vt()->accept_token(m, t_b, &err), FW_ERR_INVALID);
    ck_assert_int_eq(vt()->accept_token(m, special, &err), FW_ERR_INVALID);
    ck_assert_int_eq(vt()->accept_token(m, -1, &err), FW_ERR_INVALID);
    ck_assert_int_eq(vt()->accept_token(m, sv.v.n_tokens, &err), FW_ERR_INVALID);
    ck_assert_int_eq(vt()->is_accepting(m), 0);
    ck_assert_int_eq(vt()->accept_token(m, t_a, &err), FW_OK); /* state unchanged by refusals */
    ck_assert_int_eq(vt()->is_accepting(m), 1);
    ck_assert_int_eq(vt()->fill_mask(m, mask, &err), FW_OK);
    ck_assert_int_eq(bit(mask, sv.eos[0]), 1);
    ck_assert_int_eq(bit(mask, t_a), 1);
    ck_assert_int_eq(bit(mask, special), 0);
    ck_assert_int_eq(vt()->accept_token(m, sv.eos[0], &err), FW_OK);
    ck_assert_int_eq(vt()->accept_token(m, t_a, &err), FW_ERR_INVALID); /* after eos */
    ck_assert_int_eq(vt()->fill_mask(m, mask, &err), FW_OK);
    ck_assert_int_eq(bit(mask, t_a), 0);
    vt()->matcher_free(m);
    vt()->grammar_free(g);

    /* no vocabulary: fill_mask refuses, accept_bytes works */
    ck_assert_int_eq(vt()->compile(FW_GRAMMAR_GBNF, "root ::= \"a\"", NULL, &g, &err), FW_OK);
    ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
    ck_assert_int_eq(vt()->fill_mask(m, mask, &err), FW_ERR_INVALID);
    ck_assert_int_eq(vt()->accept_bytes(m, "a", 1, &err), FW_OK);
    vt()->matcher_free(m);
    vt()->grammar_free(g);
    vt()->grammar_free(NULL);
    vt()->matcher_free(NULL);
}
END_TEST

/* ---- a validator for the keywords the schema compiler enforces ---- */

static const cJSON *resolve(const cJSON *root, const char *ref)
{
    const cJSON *cur = root;
    char tok[128];
    const char *p = ref + 1;
    while (*p == '/') {
        size_t n = 0;
        p++;
        while (*p && *p != '/' && n + 1 < sizeof tok)
            tok[n++] = *p++;
        tok[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cur;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int is_type(const cJSON *v, const char *t)
{
    if (!strcmp(t, "string"))
        return cJSON_IsString(v);
    if (!strcmp(t, "number"))
        return cJSON_IsNumber(v);
    if (!strcmp(t, "integer"))
        return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
    if (!strcmp(t, "boolean"))
        return cJSON_IsBool(v);
    if (!strcmp(t, "null"))
        return cJSON_IsNull(v);
    if (!strcmp(t, "object"))
        return cJSON_IsObject(v);
    if (!strcmp(t, "array"))
        return cJSON_IsArray(v);
    return 0;
}

/* loose: inside allOf, where the compiler merges the members, so a member's
 * missing additionalProperties does not forbid the others' properties */
static int valid(const cJSON *root, const cJSON *s, const cJSON *v, int loose)
{
    const cJSON *k, *it;
    if (cJSON_IsTrue(s))
        return 1;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "$ref")))
        return valid(root, resolve(root, k->valuestring), v, loose);
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "allOf")))
        cJSON_ArrayForEach(it, k) if (!valid(root, it, v, 1)) return 0;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "anyOf")) ||
        (k = cJSON_GetObjectItemCaseSensitive(s, "oneOf"))) {
        int any = 0;
        cJSON_ArrayForEach(it, k) any |= valid(root, it, v, 0);
        if (!any)
            return 0;
    }
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "const")) && !cJSON_Compare(k, v, 1))
        return 0;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        int any = 0;
        cJSON_ArrayForEach(it, k) any |= cJSON_Compare(it, v, 1);
        if (!any)
            return 0;
    }
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "type"))) {
        int any = 0;
        if (cJSON_IsString(k))
            any = is_type(v, k->valuestring);
        else
            cJSON_ArrayForEach(it, k) any |= is_type(v, it->valuestring);
        if (!any)
            return 0;
    }
    if (cJSON_IsString(v)) {
        size_t n = utf8_chars(v->valuestring);
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
        if ((k = cJSON_GetObjectItemCaseSensitive(s, "minLength")) && n < (size_t)k->valueint)
            return 0;
        if ((k = cJSON_GetObjectItemCaseSensitive(s, "maxLength")) && n > (size_t)k->valueint)
            return 0;
        if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "date") &&
            (strlen(v->valuestring) != 10 || v->valuestring[4] != '-'))
            return 0;
    }
    if (cJSON_IsNumber(v)) {
        /* integers: exact bounds; numbers: the sign only (what is enforced) */
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
        double x = v->valuedouble;
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "integer")) {
            if ((k = cJSON_GetObjectItemCaseSensitive(s, "minimum")) && x < k->valuedouble)
                return 0;
            if ((k = cJSON_GetObjectItemCaseSensitive(s, "maximum")) && x > k->valuedouble)
                return 0;
            if ((k = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMinimum")) &&
                x <= k->valuedouble)
                return 0;
            if ((k = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMaximum")) &&
                x >= k->valuedouble)
                return 0;
        } else if ((k = cJSON_GetObjectItemCaseSensitive(s, "minimum")) && k->valuedouble >= 0 &&
                   x < 0) {
            return 0;
        }
    }
    if (cJSON_IsArray(v)) {
        int n = cJSON_GetArraySize(v), i = 0;
        const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
        if ((k = cJSON_GetObjectItemCaseSensitive(s, "minItems")) && n < k->valueint)
            return 0;
        if ((k = cJSON_GetObjectItemCaseSensitive(s, "maxItems")) && n > k->valueint)
            return 0;
        cJSON_ArrayForEach(it, v) {
            const cJSON *sub = i < cJSON_GetArraySize(prefix) ? cJSON_GetArrayItem(prefix, i)
                                                               : items;
            if (sub && cJSON_IsFalse(sub))
                return 0;
            if (sub && !valid(root, sub, it, 0))
                return 0;
            i++;
        }
    }
    if (cJSON_IsObject(v)) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "required"))
            if (!cJSON_GetObjectItemCaseSensitive(v, it->valuestring)) return 0;
        cJSON_ArrayForEach(it, v) {
            const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, it->string);
            if (ps) {
                if (!valid(root, ps, it, 0))
                    return 0;
            } else if (cJSON_IsFalse(addl) || (props && !addl && !loose)) {
                return 0;
            } else if (cJSON_IsObject(addl) && !valid(root, addl, it, 0)) {
                return 0;
            }
        }
    }
    return 1;
}

/* Random walks over the allowed tokens: every finished document is JSON
 * that validates against the schema. */
static int walk_schema(const fw_vocab *v, int32_t eos, const char *schema, int walks,
                       int max_steps, uint64_t seed)
{
    fw_grammar *g = NULL;
    fw_err err = {0};
    cJSON *root = cJSON_Parse(schema);
    uint32_t *mask = calloc((size_t)(v->n_tokens + 31) / 32, 4);
    int32_t *allowed = malloc((size_t)v->n_tokens * sizeof *allowed);
    char *doc = malloc(1 << 16);
    int w, done = 0;

    ck_assert_ptr_nonnull(root);
    ck_assert_msg(vt()->compile(FW_GRAMMAR_JSON_SCHEMA, schema, v, &g, &err) == FW_OK, "%s",
                  err.msg);
    for (w = 0; w < walks; w++) {
        fw_matcher *m = NULL;
        size_t n = 0;
        int step;
        ck_assert_int_eq(vt()->matcher_new(g, &m, &err), FW_OK);
        for (step = 0; step < max_steps; step++) {
            int32_t t, n_allowed = 0;
            ck_assert_int_eq(vt()->fill_mask(m, mask, &err), FW_OK);
            for (t = 0; t < v->n_tokens; t++)
                if (bit(mask, t))
                    allowed[n_allowed++] = t;
            ck_assert_msg(n_allowed > 0, "dead end after \"%.*s\"", (int)n, doc);
            if (bit(mask, eos) && rng_next(&seed) % 4 != 0)
                t = eos;
            else
                t = allowed[rng_next(&seed) % (uint64_t)n_allowed];
            ck_assert_int_eq(vt()->accept_token(m, t, &err), FW_OK);
            if (t == eos) {
                cJSON *parsed;
                doc[n] = '\0';
                parsed = cJSON_Parse(doc);
                ck_assert_msg(parsed != NULL, "not JSON: \"%s\"", doc);
                ck_assert_msg(valid(root, root, parsed, 0), "does not validate: \"%s\"", doc);
                cJSON_Delete(parsed);
                done++;
                break;
            }
            if (n + (size_t)v->len[t] + 1 >= (1 << 16))
                break;
            memcpy(doc + n, v->bytes[t], (size_t)v->len[t]);
            n += (size_t)v->len[t];
        }
        vt()->matcher_free(m);
    }
    vt()->grammar_free(g);
    cJSON_Delete(root);
    free(mask);
    free(allowed);
    free(doc);
    return done;
}

START_TEST(test_walk_property)
{
    static const char *const schemas[] = {
        SCHEMA_PERSON,
        SCHEMA_TREE,
        SCHEMA_MIX,
        "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3},\"maxItems\":4}",
        "{\"anyOf\":[{\"type\":\"integer\"},{\"enum\":[\"ab\",\"c\"]},{\"type\":\"null\"}]}",
        "{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":-3,\"maximum\":120}}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":"
        "\"number\"},\"c\":{\"type\":\"string\"}},\"required\":[\"b\"]}",
    };
    small_vocab sv;
    size_t i;

    small_vocab_init(&sv);
    for (i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        int done = walk_schema(&sv.v, sv.eos[0], schemas[i], 100, 600, 1234 + i);
        ck_assert_msg(done >= 20, "schema %zu: only %d of 100 walks finished", i, done);
    }
}
END_TEST

/* ---- the real Qwen3 vocabulary ---- */

START_TEST(test_qwen3_vocab)
{
    const char *path = fw_test_fixture_path("tokenizers/qwen3/tokenizer.json");
    fw_bench_vocab bv;
    char why[256];
    fw_grammar *g = NULL;
    fw_matcher *m = NULL;
    fw_err err = {0};
    uint32_t *mask;
    static const char *const prefixes[] = {"", "{\"name\": \"b", "{\"name\": \"b\xe4\xb8",
                                           "{\"name\":\"b\",\"age\":12", "{\"name\":\"b\",\"age\":",
                                           "{\"name\":\"b\",\"age\":1,\"email\":\"x\xc3\xa9 "};
    size_t p;
    int done;

    if (!path) {
        fw_test_skip("no tokenizers/qwen3 fixture");
        return;
    }
    ck_assert_msg(fw_bench_vocab_load(path, &bv, why, sizeof why) == 0, "%s", why);
    ck_assert_int_gt(bv.v.n_tokens, 150000);
    ck_assert_int_eq(bv.v.n_eos, 2);
    mask = calloc((size_t)(bv.v.n_tokens + 31) / 32, 4);
    ck_assert_int_eq(vt()->compile(FW_GRAMMAR_JSON_SCHEMA, SCHEMA_PERSON, &bv.v, &g, &err), FW_OK);
    /* the mask equals a per-token check from a few states */
    for (p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        int32_t t, n_allowed = 0;
        fw_matcher *oracle = replay(g, prefixes[p], strlen(prefixes[p]));
        m = replay(g, prefixes[p], strlen(prefixes[p]));
        ck_assert_int_eq(vt()->fill_mask(m, mask, &err), FW_OK);
        for (t = 0; t < bv.v.n_tokens; t++) {
            int want;
            if (!bv.v.bytes[t] || t == bv.eos[0] || t == bv.eos[1]) {
                want = (t == bv.eos[0] || t == bv.eos[1]) && vt()->is_accepting(m);
            } else {
                /* token by token, no trie, on a matcher with its own caches */
                want = gb_matcher_would_accept(oracle, bv.v.bytes[t], (size_t)bv.v.len[t]);
            }
            n_allowed += want;
            ck_assert_msg(bit(mask, t) == want, "prefix %zu token %d: mask %d want %d", p, (int)t,
                          bit(mask, t), want);
        }
        ck_assert_int_gt(n_allowed, 0);
        vt()->matcher_free(oracle);
        vt()->matcher_free(m);
    }
    vt()->grammar_free(g);
    free(mask);

    done = walk_schema(&bv.v, bv.eos[0],
                       "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},"
                       "\"n\":{\"type\":\"integer\"},\"s\":{\"type\":\"string\",\"maxLength\":6}},"
                       "\"required\":[\"ok\",\"n\"],\"additionalProperties\":false}",
                       30, 200, 99);
    ck_assert_int_ge(done, 5);
    fw_bench_vocab_free(&bv);
}
END_TEST

/* ---- fwctl grammar ---- */

START_TEST(test_fwctl_grammar)
{
    char fwctl[4096], gpath[] = "/tmp/fw_gram_g_XXXXXX", spath[] = "/tmp/fw_gram_s_XXXXXX",
                      bpath[] = "/tmp/fw_gram_b_XXXXXX", args[256], out[4096];
    static const char gbnf[] = "root ::= \"a\" [0-9]+\n";
    static const char schema[] = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":"
                                 "\"integer\"}},\"required\":[\"x\"]}";

    snprintf(fwctl, sizeof fwctl, "%s/fwctl", fw_test_builddir());
    if (access(fwctl, X_OK) != 0) {
        fw_test_skip("fwctl not built");
        return;
    }
    snprintf(fwctl, sizeof fwctl, "%s/plugins/grammar/gbnf/.libs", fw_test_builddir());
    setenv("FIREWORKSD_PLUGIN_PATH", fwctl, 1);
    fw_test_write_tmp(gpath, gbnf);
    fw_test_write_tmp(spath, schema);
    fw_test_write_tmp(bpath, "root ::= (");

    snprintf(args, sizeof args, "--gbnf %s", gpath);
    ck_assert_int_eq(fw_test_fwctl("grammar", args,
                                   "{\"text\": \"a12\"}\n{\"text\": \"a\"}\n"
                                   "{\"text\": \"b1\"}\n",
                                   out, sizeof out),
                     0);
    ck_assert_str_eq(out, "{\"accepted\": true}\n{\"accepted\": false}\n{\"accepted\": false}\n");
    snprintf(args, sizeof args, "--json-schema %s", spath);
    ck_assert_int_eq(fw_test_fwctl("grammar", args,
                                   "{\"text\": \"{\\\"x\\\": 3}\"}\n{\"text\": \"{}\"}\n", out,
                                   sizeof out),
                     0);
    ck_assert_str_eq(out, "{\"accepted\": true}\n{\"accepted\": false}\n");
    snprintf(args, sizeof args, "--gbnf %s", bpath);
    ck_assert_int_eq(fw_test_fwctl("grammar", args, "{\"text\": \"a\"}\n", out, sizeof out), 1);
    ck_assert_int_eq(fw_test_fwctl("grammar", "", "", out, sizeof out), 2);
    snprintf(args, sizeof args, "--gbnf %s --json-schema %s", gpath, spath);
    ck_assert_int_eq(fw_test_fwctl("grammar", args, "", out, sizeof out), 2);
    snprintf(args, sizeof args, "--gbnf %s", gpath);
    ck_assert_int_eq(fw_test_fwctl("grammar", args, "not json\n", out, sizeof out), 1);
    unlink(gpath);
    unlink(spath);
    unlink(bpath);
}
END_TEST

static Suite *grammar_suite(void)
{
    Suite *s = suite_create("grammar");
    TCase *tc = tcase_create("gbnf");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gbnf_features);
    tcase_add_test(tc, test_gbnf_errors);
    tcase_add_test(tc, test_gbnf_garbage);
    tcase_add_test(tc, test_json_schema);
    tcase_add_test(tc, test_json_schema_wide);
    tcase_add_test(tc, test_json_object_mode);
    tcase_add_test(tc, test_json_schema_errors);
    tcase_add_test(tc, test_mask_brute_force);
    tcase_add_test(tc, test_accept_token_rules);
    tcase_add_test(tc, test_walk_property);
    tcase_add_test(tc, test_qwen3_vocab);
    tcase_add_test(tc, test_fwctl_grammar);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return fw_test_run(grammar_suite()); }
