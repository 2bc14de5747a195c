/* tools/fwctl/logits.c -- `fwctl logits` and `fwctl generate`: a model through a backend.
 *
 *   fwctl logits --model DIR [--backend B] [--decode] --ids 1,2,3 --out FILE
 *     writes safetensors with `logits` F32 [n_ids, vocab]: one prefill of all
 *     ids, or with --decode one forward per id through the paged KV cache.
 *   fwctl generate --model DIR [--backend B] --ids 1,2,3 --max-tokens N [--stop-at-eos]
 *     prints {"ids": [...]}: the greedy continuation (prompt not included).
 *
 * The backend is loaded by name through the plugin registry
 * ($FIREWORKSD_PLUGIN_PATH, then the install dir); without --backend the
 * highest-scoring usable backend is used. */
#include "fwctl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "plugin.h"
#include "st_writer.h"

#define KV_BLOCK 16

typedef struct session {
    fw_registry *reg;
    fw_model *model;
    const fw_backend_vtable *vt;
    fw_backend *be;
    const fw_model_desc *desc;
    int32_t *table;      /* block table of the one sequence */
} session;

typedef struct args {
    const char *model, *backend, *ids, *out;
    int decode, stop_eos;
    long max_tokens;
} args;

static int parse_args(const char *cmd, int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->max_tokens = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(o, "--decode") && !strcmp(cmd, "logits")) {
            a->decode = 1;
        } else if (!strcmp(o, "--stop-at-eos") && !strcmp(cmd, "generate")) {
            a->stop_eos = 1;
        } else if (!strcmp(o, "--model") && has_val) {
            a->model = argv[++i];
        } else if (!strcmp(o, "--backend") && has_val) {
            a->backend = argv[++i];
        } else if (!strcmp(o, "--ids") && has_val) {
            a->ids = argv[++i];
        } else if (!strcmp(o, "--out") && has_val && !strcmp(cmd, "logits")) {
            a->out = argv[++i];
        } else if (!strcmp(o, "--max-tokens") && has_val && !strcmp(cmd, "generate")) {
            char *end;
            errno = 0;
            a->max_tokens = strtol(argv[++i], &end, 10);
            if (errno || *end || a->max_tokens < 0 || a->max_tokens > 1000000)
                return fwctl_fail(FWCTL_EUSAGE, cmd, "--max-tokens: expected 0..1000000");
        } else {
            return fwctl_fail(FWCTL_EUSAGE, cmd, "unknown or incomplete option '%s'", o);
        }
    }
    if (!a->model || !a->ids)
        return fwctl_fail(FWCTL_EUSAGE, cmd, "--model and --ids are required");
    if (!strcmp(cmd, "logits") && !a->out)
        return fwctl_fail(FWCTL_EUSAGE, cmd, "--out is required");
    if (!strcmp(cmd, "generate") && a->max_tokens < 0)
        return fwctl_fail(FWCTL_EUSAGE, cmd, "--max-tokens is required");
    return FWCTL_OK;
}

/* "1,2,3" -> ids (malloc'd); -1 on a malformed list. */
static int32_t parse_ids(const char *s, int32_t **out)
{
    int32_t n = 0, cap = 16, *ids = malloc((size_t)cap * sizeof *ids);
    const char *p = s;

    *out = NULL;
    while (ids && *p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ','))
            break;
        if (n == cap) {
            int32_t *q = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
            if (!q)
                break;
            ids = q;
        }
        ids[n++] = (int32_t)v;
        p = *end ? end + 1 : end;
        if (!*p && *end == ',')
            break; /* trailing comma */
        if (!*p) {
            *out = ids;
            return n;
        }
    }
    free(ids);
    return -1;
}

static void session_close(session *s)
{
    if (s->vt && s->be)
        s->vt->destroy(s->be);
    fw_model_close(s->model);
    fw_registry_destroy(s->reg);
    free(s->table);
}

/* Registry -> backend -> model -> weights -> a KV cache for max_tokens positions. */
static int session_open(const char *cmd, const args *a, int32_t max_tokens, session *s)
{
    const fw_plugin_info *info;
    fw_kv_layout kv = {sizeof kv, KV_BLOCK, FW_DTYPE_F32, 64u << 20, 0, 0, 0};
    int32_t n_blocks = (max_tokens + KV_BLOCK - 1) / KV_BLOCK, n_views;
    const fw_tensor_view *views;
    fw_err err = {0};

    memset(s, 0, sizeof *s);
    if (fw_registry_create(&s->reg, &err) || fw_registry_load_default(s->reg, NULL, &err))
        return fwctl_fail(FWCTL_EINPUT, cmd, "plugins: %s", err.msg);
    info = a->backend ? fw_registry_find(s->reg, FW_PLUGIN_BACKEND, a->backend)
                      : fw_registry_best_backend(s->reg);
    if (!info || info->probe_score <= 0)
        return fwctl_fail(FWCTL_EINPUT, cmd, "backend '%s' not found or unusable here "
                          "(FIREWORKSD_PLUGIN_PATH?)", a->backend ? a->backend : "(any)");
    s->vt = fw_plugin_backend(info);
    if (fw_model_open(a->model, &s->model, &err))
        return fwctl_fail(FWCTL_EINPUT, cmd, "%s", err.msg);
    s->desc = fw_model_get_desc(s->model);
    views = fw_model_tensors(s->model, &n_views);
    if (s->vt->init(NULL, &s->be, &err) || s->vt->supports(s->be, s->desc, &err) ||
        s->vt->load_weights(s->be, s->desc, views, n_views, &err))
        return fwctl_fail(FWCTL_EINPUT, cmd, "backend %s: %s", info->desc->name, err.msg);
    /* learn the block size in bytes, then ask for what the run needs */
    for (int tries = 0;; tries++) {
        fw_status st = s->vt->kv_alloc(s->be, &kv, &err);
        if (st == FW_OK && kv.n_blocks >= n_blocks)
            break;
        if (tries == 16 || (st != FW_OK && st != FW_ERR_LIMIT))
            return fwctl_fail(FWCTL_EINPUT, cmd, "kv cache: %s", st ? err.msg : "too small");
        if (st == FW_OK)
            kv.budget_bytes = (uint64_t)n_blocks * kv.bytes_per_block;
        else
            kv.budget_bytes *= 4; /* not even one block: grow until one fits */
    }
    if (!(s->table = malloc((size_t)n_blocks * sizeof *s->table)))
        return fwctl_fail(FWCTL_EINPUT, cmd, "out of memory");
    for (int32_t i = 0; i < n_blocks; i++)
        s->table[i] = i;
    return FWCTL_OK;
}

/* One forward of n tokens at positions pos0..; logits of the last n_out rows. */
static fw_status step(session *s, const int32_t *ids, int32_t n, int32_t pos0, int32_t n_out,
                      float *logits, fw_err *err)
{
    int32_t *pos = malloc((size_t)n * 3 * sizeof(int32_t)), len = pos0 + n;
    const int32_t *tables[1] = {s->table};
    fw_status st;

    if (!pos)
        return FW_ERR_NOMEM;
    int32_t *seq = pos + n, *idx = pos + 2 * n;
    for (int32_t i = 0; i < n; i++) {
        pos[i] = pos0 + i;
        seq[i] = 0;
        idx[i] = i;
    }
    fw_batch b = {sizeof b, n, 1, n_out, ids, pos, seq, &len, tables, idx + (n - n_out)};
    st = s->vt->forward(s->be, &b, logits, err);
    free(pos);
    return st;
}

static int check_ids(const char *cmd, const session *s, const int32_t *ids, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (ids[i] >= s->desc->vocab_size)
            return fwctl_fail(FWCTL_EINPUT, cmd, "--ids: %d is not below vocab_size %d", ids[i],
                              s->desc->vocab_size);
    return FWCTL_OK;
}

/* Options, ids and a session with room for the ids and max_tokens more;
 * on failure nothing is left to release. */
static int begin(const char *cmd, int argc, char **argv, args *a, session *s, int32_t **ids,
                 int32_t *n)
{
    int rc;

    if ((rc = parse_args(cmd, argc, argv, a)))
        return rc;
    if ((*n = parse_ids(a->ids, ids)) <= 0)
        return fwctl_fail(FWCTL_EUSAGE, cmd, "--ids: expected comma-separated ids");
    if ((rc = session_open(cmd, a, *n + (a->max_tokens > 0 ? (int32_t)a->max_tokens : 0), s)) ||
        (rc = check_ids(cmd, s, *ids, *n))) {
        session_close(s);
        free(*ids);
    }
    return rc;
}

int fwctl_logits(int argc, char **argv)
{
    args a;
    session s;
    int32_t *ids, n;
    int rc;
    fw_err err = {0};

    if ((rc = begin("logits", argc, argv, &a, &s, &ids, &n)))
        return rc;
    const int32_t V = s.desc->vocab_size;
    float *logits = malloc((size_t)n * (size_t)V * sizeof(float));
    fw_status st = logits ? FW_OK : FW_ERR_NOMEM;
    if (st == FW_OK && a.decode)
        for (int32_t t = 0; t < n && st == FW_OK; t++)
            st = step(&s, ids + t, 1, t, 1, logits + (size_t)t * V, &err);
    else if (st == FW_OK)
        st = step(&s, ids, n, 0, n, logits, &err);
    if (st == FW_OK) {
        fw_tensor_view v = {sizeof v, FW_DTYPE_F32, "logits", 2, 0, {n, V}, logits,
                            (uint64_t)n * (uint64_t)V * sizeof(float)};
        st = fw_st_write_file(a.out, &v, 1, &err);
    }
    rc = st == FW_OK ? FWCTL_OK : fwctl_fail(FWCTL_EINPUT, "logits", "%s", err.msg);
    free(logits);
    session_close(&s);
    free(ids);
    return rc;
}

static int32_t argmax(const float *v, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int fwctl_generate(int argc, char **argv)
{
    args a;
    session s;
    int32_t *ids, n, n_eos = 0;
    int rc;
    fw_err err = {0};

    if ((rc = begin("generate", argc, argv, &a, &s, &ids, &n)))
        return rc;
    const int32_t V = s.desc->vocab_size, *eos = fw_model_eos_ids(s.model, &n_eos);
    float *logits = malloc((size_t)V * sizeof(float));
    cJSON *root = cJSON_CreateObject(), *out = cJSON_AddArrayToObject(root, "ids");
    fw_status st = logits ? step(&s, ids, n, 0, 1, logits, &err) : FW_ERR_NOMEM;
    for (long i = 0; st == FW_OK && i < a.max_tokens; i++) {
        int32_t tok = argmax(logits, V), stop = 0;
        cJSON_AddItemToArray(out, cJSON_CreateNumber(tok));
        for (int32_t e = 0; a.stop_eos && e < n_eos; e++)
            stop |= eos[e] == tok;
        if (stop || i + 1 == a.max_tokens)
            break;
        st = step(&s, &tok, 1, n + (int32_t)i, 1, logits, &err);
    }
    if (st == FW_OK) {
        fwctl_print_json(root);
        rc = FWCTL_OK;
    } else {
        rc = fwctl_fail(FWCTL_EINPUT, "generate", "%s", err.msg[0] ? err.msg : "out of memory");
    }
    cJSON_Delete(root);
    free(logits);
    session_close(&s);
    free(ids);
    return rc;
}
