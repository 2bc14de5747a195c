/* core/config.h -- fireworksd.yaml: a node tree with file:line:column per
 * node (libyaml), checked against declarative field tables.
 *
 * Errors read "FILE:LINE:COLUMN: message" (1-based), like a compiler's.
 */
#ifndef FW_CORE_CONFIG_H
#define FW_CORE_CONFIG_H

#include <stdint.h>

#include <fireworks/plugin.h>

typedef enum fw_config_kind {
    FW_CFG_SCALAR = 1,
    FW_CFG_MAP = 2,
    FW_CFG_SEQ = 3,
} fw_config_kind;

/* A YAML node.  Map entries are children with key != NULL; sequence items
 * are children with key == NULL.  Owned by the tree's root. */
struct fw_config_node {
    fw_config_kind kind;
    char *key;          /* key in the parent map, or NULL */
    char *value;        /* scalar text; NULL for maps and sequences */
    int32_t line, col;  /* 1-based position of the value */
    int32_t key_line, key_col;
    int32_t quoted;     /* scalar was quoted: never a number or bool */
    struct fw_config_node *child, *next;
    const char *file;   /* shared by the whole tree */
};

/* Model entry of `models:` (strings point into the tree). */
typedef struct fw_model_config {
    const char *name;           /* as clients send it in "model" */
    const char *path;           /* Hugging Face folder */
    const char *backend;        /* plugin name, or "auto" (best probe score) */
    const char *template_name;  /* plugin name, NULL = infer from the model */
    const char *template_variant;
    const char *sampler;        /* sampler plugin, default "standard" */
    const char *dtype;          /* "auto", "f32", "bf16", "f16" */
    int64_t max_context;        /* 0 = the model's */
    int64_t kv_cache_bytes;
    int64_t kv_block_size;      /* tokens per KV block */
    int64_t max_batch_tokens;   /* per step */
    int64_t max_batch_seqs;
    int64_t prefill_chunk;      /* tokens per prefill chunk */
    int64_t default_max_tokens;
    int64_t reasoning_low_budget; /* reasoning_effort "low": reasoning-token cap; 0 = none */
    double temperature, top_p, min_p; /* defaults; NAN = the model's */
    int64_t top_k;                    /* -1 = the model's */
    const fw_config_node *backend_options;  /* handed to backend init (may be NULL) */
    const fw_config_node *template_options; /* handed to template create (may be NULL) */
    const fw_config_node *node;
} fw_model_config;

typedef struct fw_server_config {
    const char *host;
    int64_t port;
    const char **api_keys;      /* (n_api_keys) */
    int32_t n_api_keys;
    const char *api_key_file;
    int64_t max_body_bytes;
    int64_t max_header_bytes;
    int64_t max_concurrent;     /* sequences running at once */
    int64_t queue_depth;        /* waiting requests before 429 */
    int64_t request_timeout_s;
    int64_t header_timeout_s;   /* read timeout: slow or idle clients are cut */
    const char *log_level;
    const char *log_file;
    const char *log_format;     /* "logfmt" or "json" */
} fw_server_config;

typedef struct fw_plugins_config {
    const char *dir;            /* searched first; NULL = search path only */
    const char **load;          /* (n_load) plugin names to keep; NULL = all */
    int32_t n_load;
} fw_plugins_config;

typedef struct fw_config {
    fw_config_node *root;
    char *file;
    fw_server_config server;
    fw_plugins_config plugins;
    fw_model_config *models;    /* (n_models) */
    int32_t n_models;
} fw_config;

/* Parses and validates a file; on error err->msg is "FILE:LINE:COL: ...". */
fw_status fw_config_load(const char *path, fw_config **out, fw_err *err);
/* The same from memory (name is used in messages). */
fw_status fw_config_load_string(const char *name, const char *text, size_t len,
                                fw_config **out, fw_err *err);
/* A config with every default and no models (fireworksd --model without -c). */
fw_status fw_config_defaults(fw_config **out, fw_err *err);
void fw_config_destroy(fw_config *c);
/* Appends a model entry with every default (name and path unset). */
fw_model_config *fw_config_add_model(fw_config *c, fw_err *err);

/* Host-API getters on any map node: 0 found, 1 absent, <0 wrong type. */
int fw_config_get_str(const fw_config_node *n, const char *key, const char **out);
int fw_config_get_i64(const fw_config_node *n, const char *key, int64_t *out);
int fw_config_get_f64(const fw_config_node *n, const char *key, double *out);
const fw_config_node *fw_config_find(const fw_config_node *map, const char *key);

/* "8MiB", "512k", "4 GiB", "1000" -> bytes; -1 on bad syntax. */
int64_t fw_config_parse_size(const char *s);

#endif
