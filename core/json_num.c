/* core/json_num.c -- number spellings of a parsed JSON text (json_num.h). */
#include "json_num.h"

#include <stdlib.h>
#include <string.h>

/* Number tokens of the source text, in document order (which is also the
 * order of a depth-first walk of the cJSON tree). */
typedef struct num_tok {
    const char *p;
    size_t n;
} num_tok;

static size_t scan_numbers(const char *s, size_t n, num_tok *out, size_t cap)
{
    size_t i = 0, k = 0;

    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t b = i;
            while (i < n && (s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' ||
                             s[i] == 'E' || (s[i] >= '0' && s[i] <= '9')))
                i++;
            if (k < cap) {
                out[k].p = s + b;
                out[k].n = i - b;
            }
            k++;
        } else {
            i++;
        }
    }
    return k;
}

static int attach_numbers(cJSON *v, const num_tok *toks, size_t count, size_t *k)
{
    int rc = 0;

    for (; v; v = v->next) {
        if (cJSON_IsNumber(v)) {
            if (*k < count && !v->valuestring) {
                char *t = cJSON_malloc(toks[*k].n + 1);
                if (t) {
                    memcpy(t, toks[*k].p, toks[*k].n);
                    t[toks[*k].n] = '\0';
                    v->valuestring = t;
                } else {
                    rc = -1;
                }
            }
            (*k)++;
        }
        if (v->child && attach_numbers(v->child, toks, count, k) != 0)
            rc = -1;
    }
    return rc;
}

int fw_json_keep_numbers(cJSON *root, const char *text, size_t n)
{
    size_t count = scan_numbers(text, n, NULL, 0), k = 0;
    num_tok *toks;
    int rc;

    if (count == 0)
        return 0;
    toks = malloc(count * sizeof *toks);
    if (!toks)
        return -1;
    scan_numbers(text, n, toks, count);
    rc = attach_numbers(root, toks, count, &k);
    free(toks);
    return rc;
}
