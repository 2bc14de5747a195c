/* core/log.c -- the log sink: stderr or a file, logfmt lines, thread-safe. */
#include "log.h"
#include "err.h"
#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The log sink is one of the few process-wide globals (STYLE.md). */
static struct {
    pthread_mutex_t lock;
    fw_log_level level;
    fw_log_format format;
    FILE *file; /* NULL = stderr */
    char *path;
} g_log = {PTHREAD_MUTEX_INITIALIZER, FW_LOG_INFO, FW_LOG_FORMAT_LOGFMT, NULL, NULL};

static const char *level_names[] = {"error", "warn", "info", "debug"};

void fw_log_set_level(fw_log_level level) { g_log.level = level; }

fw_log_level fw_log_get_level(void) { return g_log.level; }

int fw_log_level_parse(const char *s)
{
    int i;
    for (i = 0; i < 4; i++)
        if (!strcasecmp(s, level_names[i]))
            return i;
    if (!strcasecmp(s, "warning"))
        return FW_LOG_WARN;
    return -1;
}

/* Writes one formatted line (newline added here) to the sink. */
static void write_line(fw_buf *line)
{
    FILE *out;
    fw_buf_putc(line, '\n');
    if (!line->data)
        return; /* out of memory: drop the line */
    pthread_mutex_lock(&g_log.lock);
    out = g_log.file ? g_log.file : stderr;
    fwrite(line->data, 1, line->len, out);
    fflush(out);
    pthread_mutex_unlock(&g_log.lock);
}

void fw_log_set_format(fw_log_format format) { g_log.format = format; }

void fw_log(fw_log_level level, const char *subsys, const char *fmt, ...)
{
    char msg[2048], ts[40];
    va_list ap;
    fw_buf line;

    if ((int)level > (int)g_log.level || (int)level < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fw_logline_timestamp(ts, sizeof ts);
    fw_buf_init(&line);
    fw_logline_format(&line, g_log.format, ts, level_names[level], subsys, msg);
    write_line(&line);
    fw_buf_deinit(&line);
}

void fw_log_request(const fw_reqlog *r)
{
    char ts[40];
    fw_buf line;

    if ((int)g_log.level < (int)FW_LOG_INFO)
        return;
    fw_logline_timestamp(ts, sizeof ts);
    fw_buf_init(&line);
    fw_logline_request(&line, g_log.format, ts, r);
    write_line(&line);
    fw_buf_deinit(&line);
}

fw_status fw_log_open(const char *path, fw_err *err)
{
    FILE *f = NULL;
    char *copy = NULL;

    if (path) {
        f = fopen(path, "a");
        if (!f)
            return fw_err_set(err, FW_ERR_IO, "%s: %s", path, strerror(errno));
        copy = strdup(path);
        if (!copy) {
            fclose(f);
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        }
    }
    pthread_mutex_lock(&g_log.lock);
    if (g_log.file)
        fclose(g_log.file);
    free(g_log.path);
    g_log.file = f;
    g_log.path = copy;
    pthread_mutex_unlock(&g_log.lock);
    return FW_OK;
}

fw_status fw_log_reopen(fw_err *err)
{
    FILE *f;

    if (!g_log.path)
        return FW_OK;
    f = fopen(g_log.path, "a");
    if (!f)
        return fw_err_set(err, FW_ERR_IO, "%s: %s", g_log.path, strerror(errno));
    pthread_mutex_lock(&g_log.lock);
    if (g_log.file)
        fclose(g_log.file);
    g_log.file = f;
    pthread_mutex_unlock(&g_log.lock);
    return FW_OK;
}

void fw_log_close(void)
{
    (void)fw_log_open(NULL, NULL); /* back to stderr: cannot fail */
}
