/* plugins/templates/common/tpl_json.c -- Python json.dumps of cJSON values. */
#include "tpl_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_num.h"

cJSON *tpl_json_parse(const char *text, size_t n)
{
    const char *end = NULL;
    cJSON *v;

    if (!text)
        return NULL;
    if (n == (size_t)-1)
        n = strlen(text);
    v = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!v)
        return NULL;
    /* Only trailing whitespace may follow the value. */
    while (end && end < text + n && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end && end < text + n && *end != '\0') {
        cJSON_Delete(v);
        return NULL;
    }
    fw_json_keep_numbers(v, text, n); /* out of memory: numbers print by value */
    return v;
}

void tpl_json_str(fw_buf *b, const char *s, size_t n)
{
    /* Python escapes exactly " \ and controls below 0x20 (\n \r \t \b \f
     * short, others \u00xx lowercase): what fw_buf_json_str does. */
    fw_buf_json_str(b, s, n);
}

void tpl_json_float(fw_buf *b, double d)
{
    char tmp[40], digits[24];
    int prec, exp10, nd = 0, i;
    char *e;

    if (isnan(d)) {
        fw_buf_puts(b, "NaN");
        return;
    }
    if (isinf(d)) {
        fw_buf_puts(b, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (d == 0) {
        fw_buf_puts(b, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest %e precision that reads back exactly (Python's repr). */
    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec, d);
    e = strchr(tmp, 'e');
    if (!e)
        return;
    exp10 = atoi(e + 1);
    for (i = 0; tmp + i < e; i++)
        if (tmp[i] >= '0' && tmp[i] <= '9' && nd < (int)sizeof digits - 1)
            digits[nd++] = tmp[i];
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    if (d < 0)
        fw_buf_putc(b, '-');
    if (exp10 < -4 || exp10 >= 16) {
        fw_buf_putc(b, digits[0]);
        if (nd > 1) {
            fw_buf_putc(b, '.');
            fw_buf_append(b, digits + 1, (size_t)nd - 1);
        }
        fw_buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        fw_buf_puts(b, "0.");
        for (i = 0; i < -exp10 - 1; i++)
            fw_buf_putc(b, '0');
        fw_buf_append(b, digits, (size_t)nd);
    } else {
        /* exp10 + 1 integer digits, then the rest (at least ".0"). */
        for (i = 0; i <= exp10; i++)
            fw_buf_putc(b, i < nd ? digits[i] : '0');
        fw_buf_putc(b, '.');
        if (nd > exp10 + 1)
            fw_buf_append(b, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
        else
            fw_buf_putc(b, '0');
    }
}

static int is_float_text(const char *t)
{
    return strpbrk(t, ".eE") != NULL;
}

static void dump_number(fw_buf *b, const cJSON *v)
{
    double d = v->valuedouble;

    if (v->valuestring && v->valuestring[0]) {
        if (is_float_text(v->valuestring))
            tpl_json_float(b, d);
        else if (!strcmp(v->valuestring, "-0"))
            fw_buf_putc(b, '0'); /* Python: int("-0") == 0 */
        else
            fw_buf_puts(b, v->valuestring); /* Python ints are exact */
        return;
    }
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e17)
        fw_buf_printf(b, "%.0f", d == 0 ? 0.0 : d);
    else
        tpl_json_float(b, d);
}

void tpl_json_dump(fw_buf *b, const cJSON *v)
{
    const cJSON *c;

    if (!v) {
        fw_buf_puts(b, "null");
        return;
    }
    if (cJSON_IsNull(v)) {
        fw_buf_puts(b, "null");
    } else if (cJSON_IsTrue(v)) {
        fw_buf_puts(b, "true");
    } else if (cJSON_IsFalse(v)) {
        fw_buf_puts(b, "false");
    } else if (cJSON_IsNumber(v)) {
        dump_number(b, v);
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring ? v->valuestring : "";
        tpl_json_str(b, s, strlen(s));
    } else if (cJSON_IsArray(v)) {
        fw_buf_putc(b, '[');
        for (c = v->child; c; c = c->next) {
            tpl_json_dump(b, c);
            if (c->next)
                fw_buf_puts(b, ", ");
        }
        fw_buf_putc(b, ']');
    } else if (cJSON_IsObject(v)) {
        fw_buf_putc(b, '{');
        for (c = v->child; c; c = c->next) {
            const char *k = c->string ? c->string : "";
            tpl_json_str(b, k, strlen(k));
            fw_buf_puts(b, ": ");
            tpl_json_dump(b, c);
            if (c->next)
                fw_buf_puts(b, ", ");
        }
        fw_buf_putc(b, '}');
    } else if (cJSON_IsRaw(v) && v->valuestring) {
        fw_buf_puts(b, v->valuestring);
    } else {
        fw_buf_puts(b, "null");
    }
}
