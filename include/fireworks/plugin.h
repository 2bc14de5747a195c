/* fireworks/plugin.h -- the root of the fireworksd plugin ABI.
 *
 * A plugin is a shared object exporting exactly one symbol, fw_plugin_entry.
 * The host calls it with its services table (fw_host_api) and gets back a
 * descriptor (fw_plugin_desc) naming the plugin's kind, name and vtable.
 *
 * Versioning:
 *   FW_ABI_MAJOR  must be equal on both sides; bumped on any removal,
 *                 reordering, retyping or change of meaning.
 *   FW_ABI_MINOR  additive only: members are appended at the END of a public
 *                 struct, under a "--- 1.N ---" marker.
 * Every struct that crosses the boundary starts with uint32_t struct_size as
 * its producer compiled it; a reader never touches a member past that size
 * (use FW_HAS).  Only fixed-width C types, float/double, const char * (UTF-8,
 * NUL-terminated) and pointers to opaque types cross the boundary; enums are
 * carried in uint32_t fields.  No #ifdef inside a public struct.
 *
 * Memory that crosses the boundary is allocated with host->alloc and freed
 * with host->free, or lives in caller-provided buffers.
 */
#ifndef FIREWORKS_PLUGIN_H
#define FIREWORKS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_ABI_MAJOR 1
#define FW_ABI_MINOR 1

#if defined(__GNUC__)
#define FW_EXPORT __attribute__((visibility("default")))
#define FW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FW_EXPORT
#define FW_PRINTF(f, a)
#endif

/* Is member m present (and non-NULL) in *p, a struct of type T that its
 * producer may have compiled against an older minor version? */
#define FW_HAS(p, T, m) \
    ((p)->struct_size >= offsetof(T, m) + sizeof(((T *)0)->m) && (p)->m)

/* Is member m inside *p's struct_size (for non-pointer members)? */
#define FW_HAS_FIELD(p, T, m) ((p)->struct_size >= offsetof(T, m) + sizeof(((T *)0)->m))

typedef enum fw_status {
    FW_OK = 0,
    FW_ERR_NOMEM = -1,
    FW_ERR_INVALID = -2,     /* bad argument, request field or config value */
    FW_ERR_UNSUPPORTED = -3, /* e.g. backend cannot run this model, no device */
    FW_ERR_IO = -4,          /* file or device I/O */
    FW_ERR_INTERNAL = -5,    /* a broken invariant; a bug */
    FW_ERR_NOT_FOUND = -6,   /* missing file, tensor, key, model */
    FW_ERR_LIMIT = -7,       /* a configured limit was hit (queue, context, size) */
} fw_status;

typedef enum fw_log_level {
    FW_LOG_ERROR = 0,
    FW_LOG_WARN = 1,
    FW_LOG_INFO = 2,
    FW_LOG_DEBUG = 3,
} fw_log_level;

/* Caller-owned error: the callee writes the specific fact, callers prefix
 * context on the way up ("model qwen: tensor blk.3.q: shape ..."). */
typedef struct fw_err {
    int32_t code; /* fw_status */
    char msg[256];
} fw_err;

typedef struct fw_config_node fw_config_node; /* opaque, owned by the host */

typedef struct fw_host_api {
    uint32_t struct_size; /* sizeof(fw_host_api) as the HOST was compiled */
    uint16_t abi_major, abi_minor;
    /* --- 1.0 --- */
    void (*log)(uint32_t level, const char *plugin, const char *fmt, ...) FW_PRINTF(3, 4);
    void *(*alloc)(size_t size); /* memory that may cross the boundary */
    void (*free)(void *p);
    /* Config lookups in the plugin's YAML subtree.  Return 0 when found,
     * 1 when absent, negative (fw_status) on a type error.  *out strings live
     * as long as the config tree (the whole run). */
    int (*cfg_str)(const fw_config_node *n, const char *key, const char **out);
    int (*cfg_i64)(const fw_config_node *n, const char *key, int64_t *out);
    int (*cfg_f64)(const fw_config_node *n, const char *key, double *out);
    uint64_t (*clock_ns)(void); /* monotonic clock */
    /* Add delta to a counter "fireworksd_plugin_<name>" (created on first use). */
    void (*metric_add)(const char *name, double delta);
    /* --- 1.1+: append here only --- */
} fw_host_api;

typedef enum fw_plugin_kind {
    FW_PLUGIN_BACKEND = 1,
    FW_PLUGIN_TEMPLATE = 2,
    FW_PLUGIN_SAMPLER = 3,
    FW_PLUGIN_GRAMMAR = 4,
} fw_plugin_kind;

typedef struct fw_plugin_desc {
    uint32_t struct_size;          /* sizeof(fw_plugin_desc) as the PLUGIN was compiled */
    uint16_t abi_major, abi_minor; /* FW_ABI_* the plugin was compiled against */
    uint32_t kind;                 /* fw_plugin_kind */
    const char *name;              /* "cpu", "qwen3", "standard": unique per kind */
    const char *version;           /* the plugin's own version, informational */
    const void *vtable;            /* fw_backend_vtable * etc., chosen by kind */
} fw_plugin_desc;

/* The one exported symbol.  It must do no work: no threads, devices or
 * allocations.  Returning NULL refuses this host (e.g. its major differs). */
typedef const fw_plugin_desc *(*fw_plugin_entry_fn)(const fw_host_api *host);
#define FW_PLUGIN_ENTRY_SYMBOL "fw_plugin_entry"

/* Each plugin defines a uniquely named fw_<kind>_<name>_desc(host) and ends
 * with FW_PLUGIN_DEFINE(that_function).  In a dynamic build (-DFW_PLUGIN_DYNAMIC)
 * this emits fw_plugin_entry; in static/test builds it expands to nothing and
 * the host registers fw_<kind>_<name>_desc directly: the same code path. */
#ifdef FW_PLUGIN_DYNAMIC
#define FW_PLUGIN_DEFINE(fn)                                                           \
    FW_EXPORT const fw_plugin_desc *fw_plugin_entry(const fw_host_api *h);             \
    FW_EXPORT const fw_plugin_desc *fw_plugin_entry(const fw_host_api *h) { return fn(h); }
#else
#define FW_PLUGIN_DEFINE(fn)
#endif

#ifdef __cplusplus
}
#endif
#endif
