/* core/logline.h -- the text of one log line, logfmt or JSON (server.log_format).
 *
 *   logfmt: ts=2026-11-24T23:59:01.123Z level=info subsys=model msg="loading qwen3"
 *   json:   {"ts":"2026-11-24T23:59:01.123Z","level":"info","subsys":"model","msg":"loading qwen3"}
 *
 * Request lines carry their fields as keys of their own (never the prompt
 * text or the API key: fw_reqlog has no place for either):
 *   ts=... level=info subsys=api msg=request id=chatcmpl-1 model=qwen3-demo status=200
 *     prompt_tokens=12 completion_tokens=16 ttft_ms=41.2 duration_ms=84.2 stream=false
 *     metadata="{\"trace\":\"abc\"}"   (the client's metadata, when sent)
 * Pure formatting: the sink (core/log.c) adds the newline and the locking. */
#ifndef FW_CORE_LOGLINE_H
#define FW_CORE_LOGLINE_H

#include <stdint.h>

#include "buf.h"

typedef enum fw_log_format {
    FW_LOG_FORMAT_LOGFMT = 0,
    FW_LOG_FORMAT_JSON = 1,
} fw_log_format;

/* One finished request. */
typedef struct fw_reqlog {
    const char *id;    /* "chatcmpl-..." */
    const char *model; /* as the client sent it */
    int status;        /* HTTP status; 499 = the client went away */
    int64_t prompt_tokens, completion_tokens;
    double ttft_ms;     /* < 0: no token was generated */
    double duration_ms; /* request received -> last byte sent */
    int stream;
    const char *metadata; /* the request's metadata as JSON text; NULL: omitted.
                           * Written as a string, cut to FW_REQLOG_METADATA_MAX bytes */
} fw_reqlog;

#define FW_REQLOG_METADATA_MAX 1024

/* "logfmt" / "json" -> the format; -1 when unknown (NULL = logfmt). */
int fw_log_format_parse(const char *s);
/* Writes "2026-11-24T23:59:01.123Z" (UTC, milliseconds) for the realtime
 * clock into ts (at least 32 bytes). */
void fw_logline_timestamp(char *ts, size_t size);
/* Appends one line (no newline) with the given timestamp. */
void fw_logline_format(fw_buf *out, fw_log_format fmt, const char *ts, const char *level,
                       const char *subsys, const char *msg);
/* Appends the request line (level info, subsys api, msg request). */
void fw_logline_request(fw_buf *out, fw_log_format fmt, const char *ts, const fw_reqlog *r);

#endif
