/* core/config.c -- libyaml -> node tree -> typed config through field tables.
 *
 * Two steps, kept apart: build_tree() turns YAML events into nodes that
 * remember their line and column; apply_table() walks a map with a static
 * table of {name, type, offset, bounds} (nginx's command tables), so every
 * unknown key, wrong type, bad range and missing key is reported at its
 * position. */
#include "config.h"
#include "err.h"
#include "readfile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

/* ---- tree ---------------------------------------------------------- */

static void node_free(fw_config_node *n)
{
    while (n) {
        fw_config_node *next = n->next;
        node_free(n->child);
        free(n->key);
        free(n->value);
        free(n);
        n = next;
    }
}

typedef struct tree_builder {
    yaml_parser_t parser;
    const char *file;
    fw_err *err;
} tree_builder;

static fw_status yaml_fail(tree_builder *tb)
{
    const yaml_parser_t *p = &tb->parser;
    return fw_err_set(tb->err, FW_ERR_INVALID, "%s:%zu:%zu: %s%s%s", tb->file,
                      p->problem_mark.line + 1, p->problem_mark.column + 1,
                      p->problem ? p->problem : "YAML syntax error",
                      p->context ? " " : "", p->context ? p->context : "");
}

/* Parses the node that starts with ev (already taken); *out gets it. */
static fw_status parse_node(tree_builder *tb, yaml_event_t *ev, fw_config_node **out, int depth);

static fw_status next_event(tree_builder *tb, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&tb->parser, ev))
        return yaml_fail(tb);
    return FW_OK;
}

static fw_config_node *node_new(tree_builder *tb, fw_config_kind kind, const yaml_event_t *ev)
{
    fw_config_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int32_t)ev->start_mark.line + 1;
    n->col = (int32_t)ev->start_mark.column + 1;
    n->file = tb->file;
    return n;
}

static fw_status parse_node(tree_builder *tb, yaml_event_t *ev, fw_config_node **out, int depth)
{
    fw_config_node *n, **tail;
    yaml_event_t e;
    fw_status st;

    *out = NULL;
    if (depth > 64)
        return fw_err_set(tb->err, FW_ERR_INVALID, "%s:%zu:%zu: nesting too deep", tb->file,
                          ev->start_mark.line + 1, ev->start_mark.column + 1);
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return fw_err_set(tb->err, FW_ERR_INVALID, "%s:%zu:%zu: YAML aliases are not supported",
                          tb->file, ev->start_mark.line + 1, ev->start_mark.column + 1);
    case YAML_SCALAR_EVENT:
        n = node_new(tb, FW_CFG_SCALAR, ev);
        if (!n || !(n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length))) {
            free(n);
            return fw_err_set(tb->err, FW_ERR_NOMEM, "out of memory");
        }
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        *out = n;
        return FW_OK;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        n = node_new(tb, is_map ? FW_CFG_MAP : FW_CFG_SEQ, ev);
        if (!n)
            return fw_err_set(tb->err, FW_ERR_NOMEM, "out of memory");
        *out = n;
        tail = &n->child;
        for (;;) {
            fw_config_node *child = NULL;
            char *key = NULL;
            int32_t key_line = 0, key_col = 0;

            if ((st = next_event(tb, &e)) != FW_OK)
                return st;
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                return FW_OK;
            }
            if (is_map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    st = fw_err_set(tb->err, FW_ERR_INVALID, "%s:%zu:%zu: map keys must be scalars",
                                    tb->file, e.start_mark.line + 1, e.start_mark.column + 1);
                    yaml_event_delete(&e);
                    return st;
                }
                key = strndup((const char *)e.data.scalar.value, e.data.scalar.length);
                key_line = (int32_t)e.start_mark.line + 1;
                key_col = (int32_t)e.start_mark.column + 1;
                yaml_event_delete(&e);
                if (!key)
                    return fw_err_set(tb->err, FW_ERR_NOMEM, "out of memory");
                for (child = n->child; child; child = child->next)
                    if (!strcmp(child->key, key)) {
                        free(key);
                        return fw_err_set(tb->err, FW_ERR_INVALID, "%s:%d:%d: duplicate key '%s'",
                                          tb->file, key_line, key_col, child->key);
                    }
                if ((st = next_event(tb, &e)) != FW_OK) {
                    free(key);
                    return st;
                }
            }
            st = parse_node(tb, &e, &child, depth + 1);
            yaml_event_delete(&e);
            if (child) {
                child->key = key;
                child->key_line = key_line;
                child->key_col = key_col;
                *tail = child;
                tail = &child->next;
            } else {
                free(key);
            }
            if (st != FW_OK)
                return st;
        }
    }
    default:
        return fw_err_set(tb->err, FW_ERR_INVALID, "%s:%zu:%zu: unexpected YAML event", tb->file,
                          ev->start_mark.line + 1, ev->start_mark.column + 1);
    }
}

static fw_status build_tree(const char *file, const char *text, size_t len,
                            fw_config_node **root, fw_err *err)
{
    tree_builder tb = {.file = file, .err = err};
    yaml_event_t ev;
    fw_status st = FW_OK;
    int done = 0;

    *root = NULL;
    if (!yaml_parser_initialize(&tb.parser))
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&tb.parser, (const unsigned char *)text, len);
    while (!done && st == FW_OK) {
        if ((st = next_event(&tb, &ev)) != FW_OK)
            break;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        default:
            if (*root) {
                st = fw_err_set(err, FW_ERR_INVALID, "%s:%zu:%zu: only one YAML document is allowed",
                                file, ev.start_mark.line + 1, ev.start_mark.column + 1);
                break;
            }
            st = parse_node(&tb, &ev, root, 0);
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&tb.parser);
    if (st != FW_OK) {
        node_free(*root);
        *root = NULL;
    }
    return st;
}

/* ---- typed access ---------------------------------------------------- */

const fw_config_node *fw_config_find(const fw_config_node *map, const char *key)
{
    const fw_config_node *c;
    if (!map || map->kind != FW_CFG_MAP)
        return NULL;
    for (c = map->child; c; c = c->next)
        if (!strcmp(c->key, key))
            return c;
    return NULL;
}

static int is_null_scalar(const fw_config_node *n)
{
    return n->kind == FW_CFG_SCALAR && !n->quoted &&
           (!strcmp(n->value, "") || !strcmp(n->value, "~") || !strcmp(n->value, "null"));
}

static int scalar_i64(const fw_config_node *n, int64_t *out)
{
    char *end;
    long long v;
    if (n->kind != FW_CFG_SCALAR || n->quoted || !*n->value)
        return -1;
    errno = 0;
    v = strtoll(n->value, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int scalar_f64(const fw_config_node *n, double *out)
{
    char *end;
    double v;
    if (n->kind != FW_CFG_SCALAR || n->quoted || !*n->value)
        return -1;
    errno = 0;
    v = strtod(n->value, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int fw_config_get_str(const fw_config_node *n, const char *key, const char **out)
{
    const fw_config_node *c = fw_config_find(n, key);
    if (!c || is_null_scalar(c))
        return 1;
    if (c->kind != FW_CFG_SCALAR)
        return FW_ERR_INVALID;
    *out = c->value;
    return 0;
}

int fw_config_get_i64(const fw_config_node *n, const char *key, int64_t *out)
{
    const fw_config_node *c = fw_config_find(n, key);
    if (!c || is_null_scalar(c))
        return 1;
    return scalar_i64(c, out) == 0 ? 0 : FW_ERR_INVALID;
}

int fw_config_get_f64(const fw_config_node *n, const char *key, double *out)
{
    const fw_config_node *c = fw_config_find(n, key);
    if (!c || is_null_scalar(c))
        return 1;
    return scalar_f64(c, out) == 0 ? 0 : FW_ERR_INVALID;
}

int64_t fw_config_parse_size(const char *s)
{
    static const struct { const char *suffix; int64_t mult; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1000}, {"kib", 1024}, {"m", 1000000},
        {"mb", 1000000}, {"mib", 1048576}, {"g", 1000000000}, {"gb", 1000000000},
        {"gib", 1073741824}, {"t", 1000000000000}, {"tb", 1000000000000},
        {"tib", 1099511627776},
    };
    char *end;
    double v;
    size_t i;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    for (i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(end, units[i].suffix)) {
            double bytes = v * (double)units[i].mult;
            if (bytes > 9.0e18)
                return -1;
            return (int64_t)bytes;
        }
    return -1;
}

/* ---- field tables ----------------------------------------------------- */

typedef enum field_type {
    F_STR,     /* const char * */
    F_INT,     /* int64_t, bounded */
    F_F64,     /* double, bounded */
    F_SIZE,    /* int64_t bytes: integer or "8MiB" */
    F_STRLIST, /* const char ** + int32_t count at offset2 */
    F_SUBTREE, /* const fw_config_node *: an opaque map for a plugin */
    F_ENUM,    /* const char *, one of a '|'-separated list in help */
} field_type;

typedef struct field {
    const char *name;
    field_type type;
    size_t offset;
    size_t offset2;  /* F_STRLIST: count */
    int required;
    double min, max;
    const char *values; /* F_ENUM choices "a|b|c" */
} field;

#define NOLIM -1e300, 1e300

static const field server_fields[] = {
    {"host", F_STR, offsetof(fw_server_config, host), 0, 0, NOLIM, NULL},
    {"port", F_INT, offsetof(fw_server_config, port), 0, 0, 1, 65535, NULL},
    {"api_keys", F_STRLIST, offsetof(fw_server_config, api_keys),
     offsetof(fw_server_config, n_api_keys), 0, NOLIM, NULL},
    {"api_key_file", F_STR, offsetof(fw_server_config, api_key_file), 0, 0, NOLIM, NULL},
    {"max_body_bytes", F_SIZE, offsetof(fw_server_config, max_body_bytes), 0, 0, 1024, 1e10, NULL},
    {"max_header_bytes", F_SIZE, offsetof(fw_server_config, max_header_bytes), 0, 0, 1024, 1e8, NULL},
    {"max_concurrent_requests", F_INT, offsetof(fw_server_config, max_concurrent), 0, 0, 1, 1e6, NULL},
    {"queue_depth", F_INT, offsetof(fw_server_config, queue_depth), 0, 0, 0, 1e7, NULL},
    {"request_timeout_s", F_INT, offsetof(fw_server_config, request_timeout_s), 0, 0, 1, 1e6, NULL},
    {"header_timeout_s", F_INT, offsetof(fw_server_config, header_timeout_s), 0, 0, 1, 3600, NULL},
    {"log_level", F_ENUM, offsetof(fw_server_config, log_level), 0, 0, NOLIM, "error|warn|info|debug"},
    {"log_file", F_STR, offsetof(fw_server_config, log_file), 0, 0, NOLIM, NULL},
    {"log_format", F_ENUM, offsetof(fw_server_config, log_format), 0, 0, NOLIM, "logfmt|json"},
    {NULL, F_STR, 0, 0, 0, NOLIM, NULL},
};

static const field plugins_fields[] = {
    {"dir", F_STR, offsetof(fw_plugins_config, dir), 0, 0, NOLIM, NULL},
    {"load", F_STRLIST, offsetof(fw_plugins_config, load), offsetof(fw_plugins_config, n_load), 0,
     NOLIM, NULL},
    {NULL, F_STR, 0, 0, 0, NOLIM, NULL},
};

static const field model_fields[] = {
    {"name", F_STR, offsetof(fw_model_config, name), 0, 1, NOLIM, NULL},
    {"path", F_STR, offsetof(fw_model_config, path), 0, 1, NOLIM, NULL},
    {"backend", F_STR, offsetof(fw_model_config, backend), 0, 0, NOLIM, NULL},
    {"template", F_STR, offsetof(fw_model_config, template_name), 0, 0, NOLIM, NULL},
    {"sampler", F_STR, offsetof(fw_model_config, sampler), 0, 0, NOLIM, NULL},
    {"template_variant", F_STR, offsetof(fw_model_config, template_variant), 0, 0, NOLIM, NULL},
    {"dtype", F_ENUM, offsetof(fw_model_config, dtype), 0, 0, NOLIM, "auto|f32|bf16|f16"},
    {"max_context", F_INT, offsetof(fw_model_config, max_context), 0, 0, 0, 1e8, NULL},
    {"kv_cache_bytes", F_SIZE, offsetof(fw_model_config, kv_cache_bytes), 0, 0, 1, 1e15, NULL},
    {"kv_block_size", F_INT, offsetof(fw_model_config, kv_block_size), 0, 0, 1, 1024, NULL},
    {"max_batch_tokens", F_INT, offsetof(fw_model_config, max_batch_tokens), 0, 0, 1, 1e7, NULL},
    {"max_batch_seqs", F_INT, offsetof(fw_model_config, max_batch_seqs), 0, 0, 1, 1e5, NULL},
    {"prefill_chunk", F_INT, offsetof(fw_model_config, prefill_chunk), 0, 0, 1, 1e7, NULL},
    {"default_max_tokens", F_INT, offsetof(fw_model_config, default_max_tokens), 0, 0, 1, 1e8, NULL},
    {"reasoning_low_budget", F_INT, offsetof(fw_model_config, reasoning_low_budget), 0, 0, 0, 1e8,
     NULL},
    {"temperature", F_F64, offsetof(fw_model_config, temperature), 0, 0, 0, 2, NULL},
    {"top_p", F_F64, offsetof(fw_model_config, top_p), 0, 0, 0, 1, NULL},
    {"min_p", F_F64, offsetof(fw_model_config, min_p), 0, 0, 0, 1, NULL},
    {"top_k", F_INT, offsetof(fw_model_config, top_k), 0, 0, 0, 100, NULL},
    {"backend_options", F_SUBTREE, offsetof(fw_model_config, backend_options), 0, 0, NOLIM, NULL},
    {"template_options", F_SUBTREE, offsetof(fw_model_config, template_options), 0, 0, NOLIM, NULL},
    {NULL, F_STR, 0, 0, 0, NOLIM, NULL},
};

static const char *kind_name(const fw_config_node *n)
{
    if (n->kind == FW_CFG_MAP)
        return "a map";
    if (n->kind == FW_CFG_SEQ)
        return "a list";
    return "a scalar";
}

static fw_status at(fw_err *err, const fw_config_node *n, int use_key, const char *fmt, ...)
    FW_PRINTF(4, 5);

static fw_status at(fw_err *err, const fw_config_node *n, int use_key, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fw_err_set(err, FW_ERR_INVALID, "%s:%d:%d: %s", n->file,
                      use_key ? n->key_line : n->line, use_key ? n->key_col : n->col, msg);
}

static int enum_has(const char *values, const char *v)
{
    size_t n = strlen(v);
    const char *p = values;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n))
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static fw_status apply_field(const field *f, const fw_config_node *n, void *obj,
                             const char *section, fw_err *err)
{
    char *base = obj;
    int64_t iv;
    double dv;

    if (is_null_scalar(n) && (f->type != F_STR || f->required))
        return at(err, n, 0, "%s.%s: a value is required", section, f->name);
    switch (f->type) {
    case F_STR:
    case F_ENUM:
        if (n->kind != FW_CFG_SCALAR)
            return at(err, n, 0, "%s.%s: expected a string, got %s", section, f->name, kind_name(n));
        if (f->type == F_ENUM && !enum_has(f->values, n->value))
            return at(err, n, 0, "%s.%s: '%s' is not one of %s", section, f->name, n->value,
                      f->values);
        *(const char **)(base + f->offset) = is_null_scalar(n) ? NULL : n->value;
        return FW_OK;
    case F_INT:
        if (scalar_i64(n, &iv) != 0)
            return at(err, n, 0, "%s.%s: expected an integer, got '%s'", section, f->name,
                      n->value ? n->value : kind_name(n));
        if ((double)iv < f->min || (double)iv > f->max)
            return at(err, n, 0, "%s.%s: %lld is out of range [%.0f, %.0f]", section, f->name,
                      (long long)iv, f->min, f->max);
        *(int64_t *)(base + f->offset) = iv;
        return FW_OK;
    case F_SIZE:
        if (n->kind != FW_CFG_SCALAR || (iv = fw_config_parse_size(n->value)) < 0)
            return at(err, n, 0, "%s.%s: expected a size such as 8388608 or \"8MiB\"", section,
                      f->name);
        if ((double)iv < f->min || (double)iv > f->max)
            return at(err, n, 0, "%s.%s: %lld bytes is out of range [%.0f, %.0f]", section,
                      f->name, (long long)iv, f->min, f->max);
        *(int64_t *)(base + f->offset) = iv;
        return FW_OK;
    case F_F64:
        if (scalar_f64(n, &dv) != 0)
            return at(err, n, 0, "%s.%s: expected a number, got '%s'", section, f->name,
                      n->value ? n->value : kind_name(n));
        if (dv < f->min || dv > f->max)
            return at(err, n, 0, "%s.%s: %g is out of range [%g, %g]", section, f->name, dv,
                      f->min, f->max);
        *(double *)(base + f->offset) = dv;
        return FW_OK;
    case F_STRLIST: {
        const fw_config_node *c;
        const char **list;
        int32_t count = 0;
        if (n->kind != FW_CFG_SEQ)
            return at(err, n, 0, "%s.%s: expected a list of strings, got %s", section, f->name,
                      kind_name(n));
        for (c = n->child; c; c = c->next) {
            if (c->kind != FW_CFG_SCALAR || is_null_scalar(c))
                return at(err, c, 0, "%s.%s: expected a string", section, f->name);
            count++;
        }
        list = calloc((size_t)count + 1, sizeof *list);
        if (!list)
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        count = 0;
        for (c = n->child; c; c = c->next)
            list[count++] = c->value;
        free(*(const char ***)(base + f->offset));
        *(const char ***)(base + f->offset) = list;
        *(int32_t *)(base + f->offset2) = count;
        return FW_OK;
    }
    case F_SUBTREE:
        if (n->kind != FW_CFG_MAP)
            return at(err, n, 0, "%s.%s: expected a map, got %s", section, f->name, kind_name(n));
        *(const fw_config_node **)(base + f->offset) = n;
        return FW_OK;
    }
    return FW_ERR_INTERNAL;
}

/* Applies a map node to obj through a field table. */
static fw_status apply_table(const field *table, const fw_config_node *map, void *obj,
                             const char *section, fw_err *err)
{
    const fw_config_node *c;
    const field *f;
    fw_status st;

    if (map->kind != FW_CFG_MAP)
        return at(err, map, 0, "%s: expected a map, got %s", section, kind_name(map));
    for (c = map->child; c; c = c->next) {
        for (f = table; f->name; f++)
            if (!strcmp(f->name, c->key))
                break;
        if (!f->name)
            return at(err, c, 1, "%s: unknown key '%s'", section, c->key);
        if ((st = apply_field(f, c, obj, section, err)) != FW_OK)
            return st;
    }
    for (f = table; f->name; f++)
        if (f->required && !fw_config_find(map, f->name))
            return at(err, map, 0, "%s: missing required key '%s'", section, f->name);
    return FW_OK;
}

static void set_defaults(fw_config *c)
{
    fw_server_config *s = &c->server;
    s->host = "127.0.0.1";
    s->port = 8000;
    s->max_body_bytes = 8 << 20;
    s->max_header_bytes = 64 << 10;
    s->max_concurrent = 256;
    s->queue_depth = 1024;
    s->request_timeout_s = 600;
    s->header_timeout_s = 10;
    s->log_level = "info";
    s->log_format = "logfmt";
}

static void model_defaults(fw_model_config *m)
{
    memset(m, 0, sizeof *m);
    m->backend = "auto";
    m->sampler = "standard";
    m->dtype = "auto";
    m->kv_cache_bytes = (int64_t)1 << 30;
    m->kv_block_size = 16;
    m->max_batch_tokens = 2048;
    m->max_batch_seqs = 256;
    m->prefill_chunk = 512;
    m->default_max_tokens = 2048;
    m->reasoning_low_budget = 3000;
    m->temperature = NAN;
    m->top_p = NAN;
    m->min_p = NAN;
    m->top_k = -1;
}

static fw_status apply_root(fw_config *c, fw_err *err)
{
    const fw_config_node *root = c->root, *n, *item;
    fw_status st;
    int32_t i;

    if (!root)
        return FW_OK; /* an empty file: all defaults */
    if (root->kind != FW_CFG_MAP)
        return at(err, root, 0, "expected a map with server, plugins and models");
    for (n = root->child; n; n = n->next) {
        if (is_null_scalar(n) && (!strcmp(n->key, "server") || !strcmp(n->key, "plugins") ||
                                  !strcmp(n->key, "models")))
            continue; /* a section with only comments */
        if (!strcmp(n->key, "server")) {
            if ((st = apply_table(server_fields, n, &c->server, "server", err)) != FW_OK)
                return st;
        } else if (!strcmp(n->key, "plugins")) {
            if ((st = apply_table(plugins_fields, n, &c->plugins, "plugins", err)) != FW_OK)
                return st;
        } else if (!strcmp(n->key, "models")) {
            if (n->kind != FW_CFG_SEQ)
                return at(err, n, 0, "models: expected a list of models, got %s", kind_name(n));
            c->n_models = 0;
            for (item = n->child; item; item = item->next)
                c->n_models++;
            free(c->models);
            c->models = calloc((size_t)c->n_models + 1, sizeof *c->models);
            if (!c->models)
                return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
            for (i = 0, item = n->child; item; item = item->next, i++) {
                char section[32];
                snprintf(section, sizeof section, "models[%d]", i);
                model_defaults(&c->models[i]);
                c->models[i].node = item;
                if ((st = apply_table(model_fields, item, &c->models[i], section, err)) != FW_OK)
                    return st;
            }
            for (i = 0; i < c->n_models; i++) {
                int32_t j;
                for (j = 0; j < i; j++)
                    if (!strcmp(c->models[i].name, c->models[j].name))
                        return at(err, c->models[i].node, 0, "models[%d]: duplicate name '%s'", i,
                                  c->models[i].name);
            }
        } else {
            return at(err, n, 1, "unknown top-level key '%s' (expected server, plugins, models)",
                      n->key);
        }
    }
    return FW_OK;
}

fw_status fw_config_load_string(const char *name, const char *text, size_t len,
                                fw_config **out, fw_err *err)
{
    fw_config *c = calloc(1, sizeof *c);
    fw_status st;

    *out = NULL;
    if (!c || !(c->file = strdup(name))) {
        free(c);
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    set_defaults(c);
    st = build_tree(c->file, text, len, &c->root, err);
    if (st == FW_OK)
        st = apply_root(c, err);
    if (st != FW_OK) {
        fw_config_destroy(c);
        return st;
    }
    *out = c;
    return FW_OK;
}

fw_status fw_config_load(const char *path, fw_config **out, fw_err *err)
{
    char *text;
    size_t len;
    fw_status st;

    *out = NULL;
    if ((st = fw_file_load(path, (size_t)64 << 20, &text, &len, err)))
        return st;
    st = fw_config_load_string(path, text, len, out, err);
    free(text);
    return st;
}

fw_model_config *fw_config_add_model(fw_config *c, fw_err *err)
{
    fw_model_config *m = realloc(c->models, ((size_t)c->n_models + 2) * sizeof *m);
    if (!m) {
        fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->models = m;
    m = &c->models[c->n_models++];
    model_defaults(m);
    return m;
}

fw_status fw_config_defaults(fw_config **out, fw_err *err)
{
    return fw_config_load_string("(defaults)", "", 0, out, err);
}

void fw_config_destroy(fw_config *c)
{
    if (!c)
        return;
    free(c->server.api_keys);
    free(c->plugins.load);
    free(c->models);
    node_free(c->root);
    free(c->file);
    free(c);
}
