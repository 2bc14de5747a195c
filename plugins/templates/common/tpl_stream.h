/* plugins/templates/common/tpl_stream.h -- helpers for incremental output
 * parsers: finding format markers in a growing buffer and holding back a
 * marker that may be cut at the end of a chunk.
 *
 * Markers are NUL-terminated strings; lists end with NULL. */
#ifndef FW_TPL_STREAM_H
#define FW_TPL_STREAM_H

#include <stddef.h>

#include <fireworks/template.h>

#include "buf.h"

/* Length of the longest proper suffix of s[0..n) that is a prefix of
 * marker: the bytes to hold back because the marker may be completed by the
 * next chunk.  0 when none. */
size_t tpl_partial_marker(const char *s, size_t n, const char *marker);

/* The largest tpl_partial_marker over the list. */
size_t tpl_partial_any(const char *s, size_t n, const char *const *markers);

/* Offset of the first occurrence of marker in s[0..n), or n when absent. */
size_t tpl_find(const char *s, size_t n, const char *marker);

/* Offset of the earliest occurrence of any listed marker (the longest one
 * wins a tie); *which gets its index (-1 when none, offset n). */
size_t tpl_find_any(const char *s, size_t n, const char *const *markers, int *which);

/* Does s[0..n) start with marker? (a complete match; n may be longer) */
int tpl_starts_with(const char *s, size_t n, const char *marker);

/* Emits a CONTENT / REASONING / TOOL_ARGS event (nothing for n == 0). */
fw_status tpl_emit_text(fw_parse_cb cb, void *ctx, fw_parse_kind kind, int32_t tool_index,
                        const char *s, size_t n);

/* Emits TOOL_BEGIN for call tool_index (id may be NULL). */
fw_status tpl_emit_tool_begin(fw_parse_cb cb, void *ctx, int32_t tool_index, const char *id,
                              const char *name);

/* Trims ASCII whitespace at both ends: returns the start and sets *len. */
const char *tpl_trim(const char *s, size_t n, size_t *len);

/* ---- marker-driven parsers (harmony, kimi) ---- */

/* The first marker in s[0..n), trying the list in order at each '<':
 * returns its index and sets *at; returns -1 with *at where a marker cut by
 * the chunk end may start (n when none, or when final). */
int tpl_next_marker(const char *s, size_t n, const char *const *markers, int count, int final,
                    size_t *at);

/* The input side of a marker parser: the text not yet consumed, the
 * caller's event callback, and the first callback error (sticky). */
typedef struct tpl_mstream {
    fw_buf in;
    fw_parse_cb cb;
    void *ctx;
    fw_status st;
} tpl_mstream;

/* The start of parser_feed / parser_finish: FW_ERR_INVALID for a missing
 * parser (m NULL), callback or text, an earlier callback's failure, else
 * text appended (FW_ERR_NOMEM) and cb/ctx kept.  Messages: "WHO parser: ". */
fw_status tpl_mstream_feed(tpl_mstream *m, const char *who, const char *text, size_t n,
                           fw_parse_cb cb, void *ctx, fw_err *err);

/* The end: FW_ERR_NOMEM when oom (the parser's own buffers), the callback's
 * failure, else FW_OK. */
fw_status tpl_mstream_end(const tpl_mstream *m, const char *who, int oom, fw_err *err);

/* Runs m->in through on_text (the text up to each marker, maybe empty) and
 * on_marker (the marker's index), holding back a marker that may be cut at
 * the end (unless final); what was consumed is removed.  Stops once a
 * callback failed (m->st). */
void tpl_marker_run(tpl_mstream *m, const char *const *markers, int count, int final,
                    void (*on_text)(void *p, const char *s, size_t n),
                    void (*on_marker)(void *p, int m), void *p);

/* Where the JSON object of a call's arguments closes. */
typedef struct tpl_json_scan {
    int started; /* the opening '{' was seen (set by the parser) */
    int done;    /* the matching '}' was seen */
    int depth, in_str, esc;
} tpl_json_scan;

/* Scans s[0..n), text of the object from its '{' on: returns how many bytes
 * belong to it (n, or up to and including the closing brace). */
size_t tpl_json_scan_feed(tpl_json_scan *js, const char *s, size_t n);

/* parser_new options: *forced = thinking_forced_open.  -1 when opts_json
 * is given but not a JSON object. */
int tpl_opts_forced_open(const char *opts_json, int *forced);

/* The start of a marker parser's parser_new: checks out and the options
 * (*forced = thinking_forced_open); messages "WHO parser: ". */
fw_status tpl_mparser_opts(const char *who, const void *out, const char *opts_json, int *forced,
                           fw_err *err);

/* The tool call a marker parser is reading: its name, the whitespace before
 * its arguments object, the object scanner, and the index of the next call
 * (events of the current one carry tool_index - 1). */
typedef struct tpl_mcall {
    fw_buf name;
    fw_buf lead;
    tpl_json_scan js;
    int tool_index;
} tpl_mcall;

void tpl_mcall_init(tpl_mcall *c);
void tpl_mcall_deinit(tpl_mcall *c);
/* A new call's arguments: nothing of them read yet. */
void tpl_mcall_reset(tpl_mcall *c);
/* Emits text for the current call unless a callback already failed. */
void tpl_mcall_emit(tpl_mstream *m, const tpl_mcall *c, fw_parse_kind kind, const char *s,
                    size_t n);
/* Feeds arguments text: whitespace is held in c->lead until the '{', where
 * TOOL_BEGIN (id, c->name) is emitted; then the object's text goes out as
 * TOOL_ARGS, and text after its closing brace is dropped.  Returns n, or,
 * when the text is not a JSON object, the offset of its first non-space
 * byte with nothing emitted (c->lead holds the whitespace before it). */
size_t tpl_mcall_args(tpl_mstream *m, tpl_mcall *c, const char *id, const char *s, size_t n);

#endif
