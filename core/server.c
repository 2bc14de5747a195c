/* core/server.c -- libevent evhttp: listener, routes, auth, limits, signals.
 *
 * Routes: GET /health, GET /v1/models, POST /v1/chat/completions.  Errors
 * other than validation (422) use one shape:
 *   {"error": {"object": "error", "type": "...", "code": "...", "message": "..."}}
 */
#include "fwbuild.h"

#include "server.h"
#include "api_error.h"
#include "buf.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "sdnotify.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

typedef struct fw_server {
    const fw_config *cfg;
    char **file_keys;     /* keys read from server.api_key_file, (n_file_keys) */
    int32_t n_file_keys;
    struct event_base *base;
    struct evhttp *http;
    fw_engine *engine;
    struct event *sig_term, *sig_int, *sig_hup;
    struct event *ready_poll; /* until sd_notify READY=1 */
    int draining;
} fw_server;

void fw_http_send_error(struct evhttp_request *req, int status, const char *type, const char *code,
                        const char *message)
{
    struct evbuffer *out = evbuffer_new();
    fw_buf b;

    fw_buf_init(&b);
    fw_buf_puts(&b, "{\"error\":{\"object\":\"error\",\"type\":");
    fw_buf_json_str(&b, type, strlen(type));
    fw_buf_puts(&b, ",\"code\":");
    fw_buf_json_str(&b, code, strlen(code));
    fw_buf_puts(&b, ",\"message\":");
    fw_buf_json_str(&b, message, strlen(message));
    fw_buf_puts(&b, "}}");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (out) {
        evbuffer_add(out, b.data, b.len);
        evhttp_send_reply(req, status, NULL, out);
        evbuffer_free(out);
    }
    fw_buf_deinit(&b);
}

void fw_http_send_json(struct evhttp_request *req, int status, const char *json, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (out) {
        evbuffer_add(out, json, len);
        evhttp_send_reply(req, status, NULL, out);
        evbuffer_free(out);
    }
}

/* The server's own errors: the Fireworks body of fw_api_error_write, whose
 * "type" follows the status (invalid_request_error below 500,
 * internal_server_error from 500 up), as docs/api.md promises. */
static void send_error(struct evhttp_request *req, int status, const char *code, const char *message)
{
    fw_buf b;

    fw_buf_init(&b);
    fw_api_error_write(&b, status, code, message);
    if (b.oom)
        fw_http_send_error(req, 500, "internal_server_error", "out_of_memory", "out of memory");
    else
        fw_http_send_json(req, status, b.data, b.len);
    fw_buf_deinit(&b);
}

/* Constant-time comparison: the time taken does not depend on where the
 * first differing byte is. */
static int key_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char diff = (unsigned char)(la != lb);
    for (i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static int authorized(const fw_server *s, struct evhttp_request *req)
{
    const char *h;
    int32_t i;
    int ok = 0;

    if (s->cfg->server.n_api_keys == 0 && s->n_file_keys == 0)
        return 1;
    h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    for (i = 0; i < s->cfg->server.n_api_keys; i++)
        ok |= key_equal(h + 7, s->cfg->server.api_keys[i]);
    for (i = 0; i < s->n_file_keys; i++)
        ok |= key_equal(h + 7, s->file_keys[i]);
    return ok;
}

static void on_health(fw_server *s, struct evhttp_request *req)
{
    if (s->draining) {
        fw_http_send_json(req, 503, "{\"status\":\"draining\"}", 21);
        return;
    }
    if (!fw_engine_ready(s->engine)) {
        const char *why = NULL;
        if (fw_engine_failed(s->engine, &why)) {
            send_error(req, 503, "model_load_failed", why);
            return;
        }
        fw_http_send_json(req, 503, "{\"status\":\"loading\"}", 20);
        return;
    }
    fw_http_send_json(req, 200, "{\"status\":\"ok\"}", 15);
}

static void on_models(fw_server *s, struct evhttp_request *req)
{
    fw_buf b;
    int32_t i;
    long now = (long)time(NULL);

    fw_buf_init(&b);
    fw_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (i = 0; i < s->cfg->n_models; i++) {
        const char *name = s->cfg->models[i].name;
        fw_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        fw_buf_json_str(&b, name, strlen(name));
        fw_buf_printf(&b, ",\"object\":\"model\",\"created\":%ld,\"owned_by\":\"fireworksd\"}", now);
    }
    fw_buf_puts(&b, "]}");
    fw_http_send_json(req, 200, b.data, b.len);
    fw_buf_deinit(&b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    fw_server *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);

    if (!path)
        path = "/";
    if (!strcmp(path, "/health")) {
        if (method != EVHTTP_REQ_GET)
            goto bad_method;
        on_health(s, req);
        return;
    }
    if (!strcmp(path, "/metrics")) {
        fw_buf b;
        struct evbuffer *out;
        if (method != EVHTTP_REQ_GET)
            goto bad_method;
        out = evbuffer_new();
        fw_buf_init(&b);
        fw_engine_metrics(s->engine, &b);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4");
        if (out) {
            evbuffer_add(out, b.data ? b.data : "", b.len);
            evhttp_send_reply(req, 200, NULL, out);
            evbuffer_free(out);
        }
        fw_buf_deinit(&b);
        return;
    }
    if (!strcmp(path, "/v1/models") || !strcmp(path, "/v1/chat/completions")) {
        if (!authorized(s, req)) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
            send_error(req, 401, "invalid_api_key",
                       "missing or invalid API key (Authorization: Bearer KEY)");
            return;
        }
        if (!strcmp(path, "/v1/models")) {
            if (method != EVHTTP_REQ_GET)
                goto bad_method;
            on_models(s, req);
            return;
        }
        if (method != EVHTTP_REQ_POST)
            goto bad_method;
        if (s->draining) {
            send_error(req, 503, "shutting_down", "the server is shutting down");
            return;
        }
        fw_engine_chat(s->engine, req);
        return;
    }
    send_error(req, 404, "not_found", "no such route");
    return;
bad_method:
    send_error(req, 405, "method_not_allowed", "method not allowed for this route");
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    fw_server *s = arg;
    fw_err err = {0};
    (void)events;

    if (sig == SIGHUP) {
        if (fw_log_reopen(&err) != FW_OK)
            fw_log(FW_LOG_ERROR, "server", "SIGHUP: %s", err.msg);
        else
            fw_log(FW_LOG_INFO, "server", "SIGHUP: log reopened");
        return;
    }
    if (s->draining)
        return;
    s->draining = 1;
    fw_log(FW_LOG_INFO, "server", "signal %d: draining in-flight requests", (int)sig);
    fw_sd_notify("STOPPING=1", NULL);
    fw_engine_drain(s->engine, s->base);
}

/* server.api_key_file: one key per line ('#' comments).  A key file others
 * can read is refused: the keys would not be secret. */
static fw_status load_key_file(fw_server *s, const char *path, fw_err *err)
{
    struct stat st;
    FILE *f;
    char line[1024];

    if (stat(path, &st) != 0)
        return fw_err_set(err, FW_ERR_IO, "server.api_key_file: %s: %s", path, strerror(errno));
    if (st.st_mode & (S_IROTH | S_IWOTH))
        return fw_err_set(err, FW_ERR_INVALID,
                          "server.api_key_file: %s is readable by other users (mode %03o); "
                          "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
    f = fopen(path, "r");
    if (!f)
        return fw_err_set(err, FW_ERR_IO, "server.api_key_file: %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        char **p;
        line[n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        p = realloc(s->file_keys, ((size_t)s->n_file_keys + 1) * sizeof *p);
        if (!p || !(p[s->n_file_keys] = strdup(line))) {
            if (p)
                s->file_keys = p;
            fclose(f);
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        }
        s->file_keys = p;
        s->n_file_keys++;
    }
    fclose(f);
    if (s->n_file_keys == 0)
        return fw_err_set(err, FW_ERR_INVALID, "server.api_key_file: %s holds no key", path);
    return FW_OK;
}

/* systemd Type=notify: READY=1 once every model is loaded.  Models load on
 * the engine's threads, so the event loop polls (10 Hz) until then. */
static void on_ready_poll(evutil_socket_t fd, short events, void *arg)
{
    fw_server *s = arg;
    struct timeval tv = {0, 100000};
    const char *why = NULL;
    fw_err err = {0};
    (void)fd;
    (void)events;

    if (fw_engine_ready(s->engine)) {
        if (fw_sd_notifyf(&err, "READY=1\nSTATUS=serving %d model%s", (int)s->cfg->n_models,
                          s->cfg->n_models == 1 ? "" : "s") < 0)
            fw_log(FW_LOG_WARN, "server", "sd_notify: %s", err.msg);
        return;
    }
    if (fw_engine_failed(s->engine, &why)) {
        fw_sd_notifyf(NULL, "STATUS=model load failed: %s", why ? why : "?");
        return;
    }
    evtimer_add(s->ready_poll, &tv);
}

fw_status fw_server_main(const fw_config *cfg, fw_registry *reg, fw_err *err)
{
    fw_server s = {0};
    fw_status st = FW_OK;
    const char *host = cfg->server.host;

    s.cfg = cfg;
    if (cfg->server.api_key_file && (st = load_key_file(&s, cfg->server.api_key_file, err)) != FW_OK)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0)
        return fw_err_set(err, FW_ERR_INTERNAL, "libevent: no pthreads support");
    s.base = event_base_new();
    s.http = s.base ? evhttp_new(s.base) : NULL;
    if (!s.http) {
        st = fw_err_set(err, FW_ERR_NOMEM, "libevent: cannot create the HTTP server");
        goto out;
    }
    evhttp_set_max_body_size(s.http, (ev_ssize_t)cfg->server.max_body_bytes);
    evhttp_set_max_headers_size(s.http, (ev_ssize_t)cfg->server.max_header_bytes);
    evhttp_set_timeout(s.http, (int)cfg->server.header_timeout_s);
    evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                           EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
                                           EVHTTP_REQ_PATCH);
    evhttp_set_gencb(s.http, on_request, &s);
    if (evhttp_bind_socket(s.http, host, (ev_uint16_t)cfg->server.port) != 0) {
        st = fw_err_set(err, FW_ERR_IO, "cannot listen on %s:%lld (address in use or not permitted)",
                        host, (long long)cfg->server.port);
        goto out;
    }
    s.sig_term = evsignal_new(s.base, SIGTERM, on_signal, &s);
    s.sig_int = evsignal_new(s.base, SIGINT, on_signal, &s);
    s.sig_hup = evsignal_new(s.base, SIGHUP, on_signal, &s);
    if (!s.sig_term || !s.sig_int || !s.sig_hup) {
        st = fw_err_set(err, FW_ERR_NOMEM, "libevent: cannot install signal handlers");
        goto out;
    }
    event_add(s.sig_term, NULL);
    event_add(s.sig_int, NULL);
    event_add(s.sig_hup, NULL);

    /* Models load on the engine's thread; /health says 503 until ready. */
    if ((st = fw_engine_create(cfg, reg, s.base, &s.engine, err)) != FW_OK)
        goto out;
    fw_log(FW_LOG_INFO, "server", "fireworksd %s listening on http://%s:%lld", PACKAGE_VERSION, host,
           (long long)cfg->server.port);
    s.ready_poll = evtimer_new(s.base, on_ready_poll, &s);
    if (s.ready_poll)
        on_ready_poll(-1, 0, &s);
    event_base_dispatch(s.base);
    fw_log(FW_LOG_INFO, "server", "stopped");

out:
    fw_engine_destroy(s.engine);
    if (s.ready_poll)
        event_free(s.ready_poll);
    if (s.sig_hup)
        event_free(s.sig_hup);
    if (s.sig_int)
        event_free(s.sig_int);
    if (s.sig_term)
        event_free(s.sig_term);
    if (s.http)
        evhttp_free(s.http);
    if (s.base)
        event_base_free(s.base);
    while (s.n_file_keys > 0)
        free(s.file_keys[--s.n_file_keys]);
    free(s.file_keys);
    return st;
}
