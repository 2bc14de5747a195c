/* core/logline.c -- logfmt and JSON log lines (see logline.h). */
#include "logline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int fw_log_format_parse(const char *s)
{
    if (!s || !strcmp(s, "logfmt"))
        return FW_LOG_FORMAT_LOGFMT;
    if (!strcmp(s, "json"))
        return FW_LOG_FORMAT_JSON;
    return -1;
}

void fw_logline_timestamp(char *ts, size_t size)
{
    struct timespec now;
    struct tm tm;
    char sec[24];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, size, "%s.%03ldZ", sec, now.tv_nsec / 1000000);
}

/* A logfmt value: bare when it is a plain token, else quoted with \" \\ \n
 * \r \t escaped and other control bytes as \xHH, so one event is one line. */
static void logfmt_value(fw_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p;
    int quote = *s == '\0';

    for (p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            quote = 1;
    if (!quote) {
        fw_buf_puts(b, s);
        return;
    }
    fw_buf_putc(b, '"');
    for (p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fw_buf_puts(b, "\\\""); break;
        case '\\': fw_buf_puts(b, "\\\\"); break;
        case '\n': fw_buf_puts(b, "\\n"); break;
        case '\r': fw_buf_puts(b, "\\r"); break;
        case '\t': fw_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
                fw_buf_append(b, esc, 4);
            } else {
                fw_buf_putc(b, (char)*p);
            }
        }
    }
    fw_buf_putc(b, '"');
}

/* One "key=value" (logfmt) or "\"key\":value" (json) string field. */
static void field_str(fw_buf *b, fw_log_format fmt, int first, const char *key, const char *v)
{
    if (!v)
        v = "";
    if (fmt == FW_LOG_FORMAT_JSON) {
        fw_buf_puts(b, first ? "{\"" : ",\"");
        fw_buf_puts(b, key);
        fw_buf_puts(b, "\":");
        fw_buf_json_str(b, v, strlen(v));
    } else {
        if (!first)
            fw_buf_putc(b, ' ');
        fw_buf_puts(b, key);
        fw_buf_putc(b, '=');
        logfmt_value(b, v);
    }
}

/* A number or boolean: the same text in both formats. */
static void field_raw(fw_buf *b, fw_log_format fmt, const char *key, const char *v)
{
    if (fmt == FW_LOG_FORMAT_JSON)
        fw_buf_printf(b, ",\"%s\":%s", key, v);
    else
        fw_buf_printf(b, " %s=%s", key, v);
}

static void head(fw_buf *b, fw_log_format fmt, const char *ts, const char *level,
                 const char *subsys, const char *msg)
{
    field_str(b, fmt, 1, "ts", ts);
    field_str(b, fmt, 0, "level", level);
    field_str(b, fmt, 0, "subsys", subsys ? subsys : "core");
    field_str(b, fmt, 0, "msg", msg);
}

void fw_logline_format(fw_buf *out, fw_log_format fmt, const char *ts, const char *level,
                       const char *subsys, const char *msg)
{
    head(out, fmt, ts, level, subsys, msg);
    if (fmt == FW_LOG_FORMAT_JSON)
        fw_buf_putc(out, '}');
}

void fw_logline_request(fw_buf *out, fw_log_format fmt, const char *ts, const fw_reqlog *r)
{
    char num[64];

    head(out, fmt, ts, "info", "api", "request");
    field_str(out, fmt, 0, "id", r->id);
    field_str(out, fmt, 0, "model", r->model);
    snprintf(num, sizeof num, "%d", r->status);
    field_raw(out, fmt, "status", num);
    snprintf(num, sizeof num, "%lld", (long long)r->prompt_tokens);
    field_raw(out, fmt, "prompt_tokens", num);
    snprintf(num, sizeof num, "%lld", (long long)r->completion_tokens);
    field_raw(out, fmt, "completion_tokens", num);
    if (r->ttft_ms >= 0) {
        snprintf(num, sizeof num, "%.1f", r->ttft_ms);
        field_raw(out, fmt, "ttft_ms", num);
    }
    snprintf(num, sizeof num, "%.1f", r->duration_ms >= 0 ? r->duration_ms : 0.0);
    field_raw(out, fmt, "duration_ms", num);
    field_raw(out, fmt, "stream", r->stream ? "true" : "false");
    if (r->metadata) {
        /* client text: bounded, cut on a UTF-8 character boundary */
        size_t n = strlen(r->metadata);
        fw_buf v;
        fw_buf_init(&v);
        if (n > FW_REQLOG_METADATA_MAX) {
            n = FW_REQLOG_METADATA_MAX;
            while (n > 0 && ((unsigned char)r->metadata[n] & 0xc0) == 0x80)
                n--;
        }
        fw_buf_append(&v, r->metadata, n);
        if (n < strlen(r->metadata))
            fw_buf_puts(&v, "...");
        field_str(out, fmt, 0, "metadata", v.data ? v.data : "");
        fw_buf_deinit(&v);
    }
    if (fmt == FW_LOG_FORMAT_JSON)
        fw_buf_putc(out, '}');
}
