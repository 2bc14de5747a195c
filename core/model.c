/* core/model.c -- a Hugging Face model folder: config, sidecars, mmapped
 * safetensors, tensor views, and the per-architecture tensor checks. */
#include "model.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "hf_config.h"
#include "log.h"
#include "readfile.h"
#include "safetensors.h"

#define MAX_EOS 32

struct fw_model {
    char *dir;
    fw_hf_config cfg;            /* owns the desc and its per-layer arrays */
    fw_hf_gen_config gen;
    fw_hf_tok_config tok;
    fw_st_file **files;          /* (n_files) */
    int32_t n_files;
    fw_tensor_view *views;       /* (n_views) in file order, names borrowed from files */
    int32_t n_views;
    int32_t *by_name;            /* (n_views) view indices sorted by name */
    int32_t eos[MAX_EOS];
    int32_t n_eos;
    uint64_t weight_bytes;
};

/* ---- small file helpers ---- */

/* Reads dir/name (at most 64 MiB). FW_ERR_NOT_FOUND when absent. */
static fw_status read_small(const char *dir, const char *name, char **out, size_t *len,
                            fw_err *err)
{
    char *path = fw_path_join(dir, name);
    fw_status st;

    *out = NULL;
    if (!path)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    st = fw_file_load(path, (size_t)64 << 20, out, len, err);
    free(path);
    return st;
}

static int file_exists(const char *dir, const char *name)
{
    char *p = fw_path_join(dir, name);
    struct stat sb;
    int ok = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
    free(p);
    return ok;
}

/* ---- the architecture's tensors ---- */

typedef struct layout_ctx {
    fw_tensor_spec_fn fn;
    void *ctx;
    fw_err *err;
    fw_status st;
} layout_ctx;

static void spec(layout_ctx *lc, uint32_t kind, int32_t optional, int32_t n_dims, int64_t d0,
                 int64_t d1, int64_t d2, int64_t d3, const char *fmt, ...) FW_PRINTF(9, 10);

static void spec(layout_ctx *lc, uint32_t kind, int32_t optional, int32_t n_dims, int64_t d0,
                 int64_t d1, int64_t d2, int64_t d3, const char *fmt, ...)
{
    fw_tensor_spec s;
    va_list ap;

    if (lc->st)
        return;
    memset(&s, 0, sizeof s);
    va_start(ap, fmt);
    vsnprintf(s.name, sizeof s.name, fmt, ap);
    va_end(ap);
    s.kind = kind;
    s.optional = optional;
    s.n_dims = n_dims;
    s.shape[0] = d0;
    s.shape[1] = d1;
    s.shape[2] = d2;
    s.shape[3] = d3;
    lc->st = lc->fn(lc->ctx, &s, lc->err);
}

#define VEC(lc, kind, n, ...) spec(lc, kind, 0, 1, n, 0, 0, 0, __VA_ARGS__)
#define MAT(lc, kind, r, c, ...) spec(lc, kind, 0, 2, r, c, 0, 0, __VA_ARGS__)

/* One SwiGLU MLP (gate, up, down) of inner size n_inner under prefix. */
static void mlp(layout_ctx *lc, int64_t hidden, int64_t n_inner, const char *prefix)
{
    MAT(lc, FW_SPEC_LINEAR, n_inner, hidden, "%s.gate_proj.weight", prefix);
    MAT(lc, FW_SPEC_LINEAR, n_inner, hidden, "%s.up_proj.weight", prefix);
    MAT(lc, FW_SPEC_LINEAR, hidden, n_inner, "%s.down_proj.weight", prefix);
}

static void attention(layout_ctx *lc, const fw_model_desc *d, const char *p)
{
    int64_t H = d->hidden_size, nh = d->n_heads, nkv = d->n_kv_heads, hd = d->head_dim;

    if (d->attn_kind == FW_ATTN_MLA) {
        int64_t qk = d->qk_nope_head_dim + d->qk_rope_head_dim;
        int64_t kva = d->kv_lora_rank + d->qk_rope_head_dim;
        if (d->q_lora_rank > 0) {
            MAT(lc, FW_SPEC_LINEAR, d->q_lora_rank, H, "%s.q_a_proj.weight", p);
            if (d->attn_qkv_bias)
                VEC(lc, FW_SPEC_BIAS, d->q_lora_rank, "%s.q_a_proj.bias", p);
            VEC(lc, FW_SPEC_NORM, d->q_lora_rank, "%s.q_a_layernorm.weight", p);
            MAT(lc, FW_SPEC_LINEAR, nh * qk, d->q_lora_rank, "%s.q_b_proj.weight", p);
        } else {
            MAT(lc, FW_SPEC_LINEAR, nh * qk, H, "%s.q_proj.weight", p);
        }
        MAT(lc, FW_SPEC_LINEAR, kva, H, "%s.kv_a_proj_with_mqa.weight", p);
        if (d->attn_qkv_bias)
            VEC(lc, FW_SPEC_BIAS, kva, "%s.kv_a_proj_with_mqa.bias", p);
        VEC(lc, FW_SPEC_NORM, d->kv_lora_rank, "%s.kv_a_layernorm.weight", p);
        MAT(lc, FW_SPEC_LINEAR, nh * (d->qk_nope_head_dim + d->v_head_dim), d->kv_lora_rank,
            "%s.kv_b_proj.weight", p);
        MAT(lc, FW_SPEC_LINEAR, H, nh * d->v_head_dim, "%s.o_proj.weight", p);
        if (d->attn_o_bias)
            VEC(lc, FW_SPEC_BIAS, H, "%s.o_proj.bias", p);
        return;
    }
    MAT(lc, FW_SPEC_LINEAR, nh * hd, H, "%s.q_proj.weight", p);
    MAT(lc, FW_SPEC_LINEAR, nkv * hd, H, "%s.k_proj.weight", p);
    MAT(lc, FW_SPEC_LINEAR, nkv * hd, H, "%s.v_proj.weight", p);
    MAT(lc, FW_SPEC_LINEAR, H, nh * hd, "%s.o_proj.weight", p);
    if (d->attn_qkv_bias) {
        VEC(lc, FW_SPEC_BIAS, nh * hd, "%s.q_proj.bias", p);
        VEC(lc, FW_SPEC_BIAS, nkv * hd, "%s.k_proj.bias", p);
        VEC(lc, FW_SPEC_BIAS, nkv * hd, "%s.v_proj.bias", p);
    }
    if (d->attn_o_bias)
        VEC(lc, FW_SPEC_BIAS, H, "%s.o_proj.bias", p);
    if (d->qk_norm) {
        VEC(lc, FW_SPEC_NORM, hd, "%s.q_norm.weight", p);
        VEC(lc, FW_SPEC_NORM, hd, "%s.k_norm.weight", p);
    }
    if (d->attn_sinks)
        VEC(lc, FW_SPEC_BIAS, nh, "%s.sinks", p);
}

static void moe(layout_ctx *lc, const fw_model_desc *d, const char *p)
{
    int64_t H = d->hidden_size, E = d->n_experts, I = d->moe_intermediate_size;
    char ep[160];

    if (d->arch == FW_ARCH_GPT_OSS) {
        MAT(lc, FW_SPEC_ROUTER, E, H, "%s.router.weight", p);
        VEC(lc, FW_SPEC_BIAS, E, "%s.router.bias", p);
        if (d->quant == FW_QUANT_MXFP4) {
            /* (E, rows, cols / 32 blocks, 16 bytes) + one e8m0 scale per block */
            spec(lc, FW_SPEC_MXFP4_BLOCKS, 0, 4, E, 2 * I, H / 32, 16,
                 "%s.experts.gate_up_proj_blocks", p);
            spec(lc, FW_SPEC_MXFP4_SCALES, 0, 3, E, 2 * I, H / 32, 0,
                 "%s.experts.gate_up_proj_scales", p);
            MAT(lc, FW_SPEC_BIAS, E, 2 * I, "%s.experts.gate_up_proj_bias", p);
            spec(lc, FW_SPEC_MXFP4_BLOCKS, 0, 4, E, H, I / 32, 16,
                 "%s.experts.down_proj_blocks", p);
            spec(lc, FW_SPEC_MXFP4_SCALES, 0, 3, E, H, I / 32, 0,
                 "%s.experts.down_proj_scales", p);
            MAT(lc, FW_SPEC_BIAS, E, H, "%s.experts.down_proj_bias", p);
        } else {
            /* transformers' unquantized layout: x @ W, (E, in, out) */
            spec(lc, FW_SPEC_EXPERTS, 0, 3, E, H, 2 * I, 0, "%s.experts.gate_up_proj", p);
            MAT(lc, FW_SPEC_BIAS, E, 2 * I, "%s.experts.gate_up_proj_bias", p);
            spec(lc, FW_SPEC_EXPERTS, 0, 3, E, I, H, 0, "%s.experts.down_proj", p);
            MAT(lc, FW_SPEC_BIAS, E, H, "%s.experts.down_proj_bias", p);
        }
        return;
    }
    MAT(lc, FW_SPEC_ROUTER, E, H, "%s.gate.weight", p);
    if (d->router == FW_ROUTER_SIGMOID_GROUP)
        VEC(lc, FW_SPEC_CORR, E, "%s.gate.e_score_correction_bias", p);
    for (int64_t e = 0; e < E && !lc->st; e++) {
        snprintf(ep, sizeof ep, "%s.experts.%lld", p, (long long)e);
        mlp(lc, H, I, ep);
    }
    if (d->n_shared_experts > 0) {
        snprintf(ep, sizeof ep, "%s.shared_experts", p);
        mlp(lc, H, (int64_t)d->n_shared_experts * I, ep);
    }
}

fw_status fw_model_layout(const fw_model_desc *d, fw_tensor_spec_fn fn, void *ctx, fw_err *err)
{
    layout_ctx lc = {fn, ctx, err, FW_OK};
    int64_t V = d->vocab_size, H = d->hidden_size;
    char p[128];

    if (d->quant == FW_QUANT_MXFP4 && (H % 32 || d->moe_intermediate_size % 32))
        return fw_err_set(err, FW_ERR_INVALID, "MXFP4 needs hidden and expert sizes that are "
                          "multiples of 32 (%d, %d)", d->hidden_size, d->moe_intermediate_size);
    MAT(&lc, FW_SPEC_EMBED, V, H, "model.embed_tokens.weight");
    for (int32_t l = 0; l < d->n_layers && !lc.st; l++) {
        snprintf(p, sizeof p, "model.layers.%d", l);
        VEC(&lc, FW_SPEC_NORM, H, "%s.input_layernorm.weight", p);
        snprintf(p, sizeof p, "model.layers.%d.self_attn", l);
        attention(&lc, d, p);
        snprintf(p, sizeof p, "model.layers.%d", l);
        VEC(&lc, FW_SPEC_NORM, H, "%s.post_attention_layernorm.weight", p);
        snprintf(p, sizeof p, "model.layers.%d.mlp", l);
        if (d->layer_moe && d->layer_moe[l])
            moe(&lc, d, p);
        else
            mlp(&lc, H, d->intermediate_size, p);
    }
    VEC(&lc, FW_SPEC_NORM, H, "model.norm.weight");
    spec(&lc, FW_SPEC_EMBED, d->tie_word_embeddings, 2, V, H, 0, 0, "lm_head.weight");
    return lc.st;
}

/* ---- lookups ---- */

static int cmp_view_name(const void *key, const void *elt, const fw_model *m)
{
    return strcmp((const char *)key, m->views[*(const int32_t *)elt].name);
}

const fw_tensor_view *fw_model_find(const fw_model *m, const char *name)
{
    int32_t lo = 0, hi = m->n_views;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = cmp_view_name(name, &m->by_name[mid], m);
        if (c == 0)
            return &m->views[m->by_name[mid]];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* qsort has no context argument in C11: sort (name, index) pairs instead. */
typedef struct name_idx {
    const char *name;
    int32_t idx;
} name_idx;

static int cmp_name_idx(const void *a, const void *b)
{
    return strcmp(((const name_idx *)a)->name, ((const name_idx *)b)->name);
}

static fw_status build_index(fw_model *m, fw_err *err)
{
    name_idx *tmp = malloc((size_t)(m->n_views ? m->n_views : 1) * sizeof *tmp);

    m->by_name = malloc((size_t)(m->n_views ? m->n_views : 1) * sizeof *m->by_name);
    if (!tmp || !m->by_name) {
        free(tmp);
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    for (int32_t i = 0; i < m->n_views; i++)
        tmp[i] = (name_idx){m->views[i].name, i};
    qsort(tmp, (size_t)m->n_views, sizeof *tmp, cmp_name_idx);
    for (int32_t i = 0; i < m->n_views; i++) {
        if (i > 0 && !strcmp(tmp[i - 1].name, tmp[i].name)) {
            fw_err_set(err, FW_ERR_INVALID, "tensor '%.120s' appears in two files", tmp[i].name);
            free(tmp);
            return FW_ERR_INVALID;
        }
        m->by_name[i] = tmp[i].idx;
    }
    free(tmp);
    return FW_OK;
}

/* ---- checks: every tensor the architecture needs, with its shape ---- */

static int is_float(uint32_t dt)
{
    return dt == FW_DTYPE_F32 || dt == FW_DTYPE_BF16 || dt == FW_DTYPE_F16;
}

static void shape_str(char *out, size_t n, const int64_t *shape, int32_t n_dims)
{
    size_t off = 0;
    off += (size_t)snprintf(out + off, n - off, "[");
    for (int32_t i = 0; i < n_dims && off < n; i++)
        off += (size_t)snprintf(out + off, n - off, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (off < n)
        snprintf(out + off, n - off, "]");
}

static fw_status check_shape(const fw_tensor_view *v, int32_t n_dims, const int64_t *shape,
                             fw_err *err)
{
    char got[96], want[96];
    int ok = v->n_dims == n_dims;
    for (int32_t i = 0; ok && i < n_dims; i++)
        ok = v->shape[i] == shape[i];
    if (ok)
        return FW_OK;
    shape_str(got, sizeof got, v->shape, v->n_dims);
    shape_str(want, sizeof want, shape, n_dims);
    return fw_err_set(err, FW_ERR_INVALID, "tensor %.120s: shape %s, expected %s", v->name, got,
                      want);
}

static fw_status check_spec(void *ctx, const fw_tensor_spec *s, fw_err *err)
{
    const fw_model *m = ctx;
    const fw_model_desc *d = &m->cfg.desc;
    const fw_tensor_view *v = fw_model_find(m, s->name);
    fw_status st;

    if (!v)
        return s->optional ? FW_OK
                           : fw_err_set(err, FW_ERR_NOT_FOUND, "missing tensor %s", s->name);
    if ((st = check_shape(v, s->n_dims, s->shape, err)))
        return st;
    switch (s->kind) {
    case FW_SPEC_MXFP4_BLOCKS:
    case FW_SPEC_MXFP4_SCALES:
        if (v->dtype != FW_DTYPE_U8)
            return fw_err_set(err, FW_ERR_INVALID, "tensor %s: dtype %s, expected U8", s->name,
                              fw_dtype_name(v->dtype));
        return FW_OK;
    case FW_SPEC_LINEAR:
        if (v->dtype == FW_DTYPE_F8_E4M3 && d->quant == FW_QUANT_FP8_BLOCK) {
            char sname[224];
            const fw_tensor_view *sv;
            int64_t want[2] = {(s->shape[0] + d->quant_block_m - 1) / d->quant_block_m,
                               (s->shape[1] + d->quant_block_n - 1) / d->quant_block_n};
            snprintf(sname, sizeof sname, "%s_scale_inv", s->name);
            sv = fw_model_find(m, sname);
            if (!sv)
                return fw_err_set(err, FW_ERR_NOT_FOUND, "missing tensor %s", sname);
            if (!is_float(sv->dtype))
                return fw_err_set(err, FW_ERR_INVALID, "tensor %s: dtype %s, expected a float",
                                  sname, fw_dtype_name(sv->dtype));
            return check_shape(sv, 2, want, err);
        }
        /* fall through */
    default:
        if (!is_float(v->dtype))
            return fw_err_set(err, FW_ERR_INVALID, "tensor %s: dtype %s, expected F32, BF16 or "
                              "F16%s", s->name, fw_dtype_name(v->dtype),
                              s->kind == FW_SPEC_LINEAR && d->quant == FW_QUANT_FP8_BLOCK
                                  ? " or F8_E4M3" : "");
        return FW_OK;
    }
}

/* ---- open / close ---- */

static void add_eos(fw_model *m, const int32_t *ids, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        int dup = 0;
        for (int32_t k = 0; k < m->n_eos; k++)
            dup |= m->eos[k] == ids[i];
        if (!dup && ids[i] >= 0 && m->n_eos < MAX_EOS)
            m->eos[m->n_eos++] = ids[i];
    }
}

static fw_status open_sidecars(fw_model *m, fw_err *err)
{
    char *json;
    size_t len;
    fw_status st;

    st = read_small(m->dir, "config.json", &json, &len, err);
    if (st)
        return st;
    st = fw_hf_config_parse(json, len, &m->cfg, err);
    free(json);
    if (st)
        return fw_err_prefix(err, "%s/config.json: ", m->dir);

    st = read_small(m->dir, "generation_config.json", &json, &len, err);
    if (st == FW_OK) {
        st = fw_hf_gen_config_parse(json, len, &m->gen, err);
        free(json);
        if (st)
            return fw_err_prefix(err, "%s/generation_config.json: ", m->dir);
    } else if (st != FW_ERR_NOT_FOUND) {
        return st;
    }
    st = read_small(m->dir, "tokenizer_config.json", &json, &len, err);
    if (st == FW_OK) {
        st = fw_hf_tok_config_parse(json, len, &m->tok, err);
        free(json);
        if (st)
            return fw_err_prefix(err, "%s/tokenizer_config.json: ", m->dir);
    } else if (st != FW_ERR_NOT_FOUND) {
        return st;
    }
    add_eos(m, m->cfg.eos_ids, m->cfg.n_eos);
    add_eos(m, m->gen.eos_ids, m->gen.n_eos);
    add_eos(m, &m->tok.eos_id, 1);
    return FW_OK;
}

static fw_status map_file(fw_model *m, const char *name, int32_t k, int32_t n, uint64_t *done,
                          fw_err *err)
{
    char *path = fw_path_join(m->dir, name);
    fw_st_file *f;
    fw_status st;

    if (!path)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    st = fw_st_open(path, &f, err);
    free(path);
    if (st)
        return st;
    m->files[m->n_files++] = f;
    *done += f->map_bytes;
    fw_log(FW_LOG_INFO, "model", "mapped %s (%d/%d): %d tensors, %.1f MB; %.1f MB so far", name,
           k + 1, n, f->hdr.n_tensors, f->map_bytes / 1e6, *done / 1e6);
    return FW_OK;
}

static fw_status open_weights(fw_model *m, fw_err *err)
{
    fw_st_index ix;
    fw_status st = FW_OK;
    uint64_t done = 0;
    int32_t n_total = 0, k;

    memset(&ix, 0, sizeof ix);
    if (file_exists(m->dir, "model.safetensors.index.json")) {
        char *json;
        size_t len;
        if ((st = read_small(m->dir, "model.safetensors.index.json", &json, &len, err)))
            return st;
        st = fw_st_index_parse(json, len, &ix, err);
        free(json);
        if (st)
            return fw_err_prefix(err, "%s/model.safetensors.index.json: ", m->dir);
        m->files = calloc((size_t)ix.n_files, sizeof *m->files);
        if (!m->files)
            st = fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        for (k = 0; k < ix.n_files && !st; k++)
            st = map_file(m, ix.files[k], k, ix.n_files, &done, err);
    } else if (file_exists(m->dir, "model.safetensors")) {
        m->files = calloc(1, sizeof *m->files);
        st = m->files ? map_file(m, "model.safetensors", 0, 1, &done, err)
                      : fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    } else {
        return fw_err_set(err, FW_ERR_NOT_FOUND, "%s: no model.safetensors or "
                          "model.safetensors.index.json", m->dir);
    }
    for (k = 0; k < m->n_files && !st; k++)
        n_total += m->files[k]->hdr.n_tensors;
    if (!st) {
        m->views = calloc((size_t)(n_total ? n_total : 1), sizeof *m->views);
        if (!m->views)
            st = fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    for (k = 0; k < m->n_files && !st; k++) {
        const fw_st_file *f = m->files[k];
        for (int32_t i = 0; i < f->hdr.n_tensors; i++) {
            const fw_st_tensor *t = &f->hdr.tensors[i];
            fw_tensor_view *v = &m->views[m->n_views++];
            v->struct_size = sizeof *v;
            v->dtype = t->dtype;
            v->name = t->name;
            v->n_dims = t->n_dims;
            memcpy(v->shape, t->shape, sizeof v->shape);
            v->data = fw_st_data(f, i);
            v->n_bytes = t->n_bytes;
            m->weight_bytes += t->n_bytes;
        }
    }
    if (!st)
        st = build_index(m, err);
    /* Every index entry must be where the index says. */
    for (int32_t i = 0; i < ix.n_names && !st; i++) {
        const fw_tensor_view *v = fw_model_find(m, ix.names[i]);
        const fw_st_file *f = m->files[ix.file_of[i]];
        if (!v || (const uint8_t *)v->data < f->map ||
            (const uint8_t *)v->data >= f->map + f->map_bytes + (v->n_bytes == 0))
            st = fw_err_set(err, FW_ERR_INVALID, "%s/model.safetensors.index.json: tensor %.120s "
                            "is not in %s", m->dir, ix.names[i], ix.files[ix.file_of[i]]);
    }
    fw_st_index_deinit(&ix);
    if (!st)
        fw_log(FW_LOG_INFO, "model", "%s: %d tensors, %.1f MB of weights in %d file(s)", m->dir,
               m->n_views, m->weight_bytes / 1e6, m->n_files);
    return st;
}

static fw_status model_open(const char *dir, int with_weights, fw_model **out, fw_err *err)
{
    fw_model *m = calloc(1, sizeof *m);
    fw_status st;

    *out = NULL;
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    fw_hf_gen_config_init(&m->gen);
    fw_hf_tok_config_init(&m->tok);
    st = open_sidecars(m, err);
    if (!st && with_weights)
        st = open_weights(m, err);
    if (!st && with_weights) {
        st = fw_model_layout(&m->cfg.desc, check_spec, m, err);
        if (st)
            fw_err_prefix(err, "%s: ", dir);
    }
    if (!st && !m->cfg.desc.dtype) {
        const fw_tensor_view *e = fw_model_find(m, "model.embed_tokens.weight");
        m->cfg.desc.dtype = e ? e->dtype : FW_DTYPE_BF16;
    }
    if (st) {
        fw_model_close(m);
        return st;
    }
    *out = m;
    return FW_OK;
}

fw_status fw_model_open(const char *dir, fw_model **out, fw_err *err)
{
    return model_open(dir, 1, out, err);
}

fw_status fw_model_open_config(const char *dir, fw_model **out, fw_err *err)
{
    return model_open(dir, 0, out, err);
}

void fw_model_close(fw_model *m)
{
    if (!m)
        return;
    for (int32_t i = 0; i < m->n_files; i++)
        fw_st_close(m->files[i]);
    free(m->files);
    free(m->views);
    free(m->by_name);
    fw_hf_tok_config_deinit(&m->tok);
    fw_hf_config_deinit(&m->cfg);
    free(m->dir);
    free(m);
}

/* ---- accessors ---- */

const fw_model_desc *fw_model_get_desc(const fw_model *m)
{
    return &m->cfg.desc;
}

const fw_tensor_view *fw_model_tensors(const fw_model *m, int32_t *n_out)
{
    *n_out = m->n_views;
    return m->views;
}

const fw_gen_defaults *fw_model_gen_defaults(const fw_model *m)
{
    return &m->gen.defaults;
}

const int32_t *fw_model_eos_ids(const fw_model *m, int32_t *n_out)
{
    *n_out = m->n_eos;
    return m->eos;
}

const char *fw_model_dir(const fw_model *m)
{
    return m->dir;
}

const char *fw_model_hf_architecture(const fw_model *m)
{
    return m->cfg.architecture;
}

const char *fw_model_special_token(const fw_model *m, const char *which)
{
    if (!strcmp(which, "bos"))
        return m->tok.bos_token;
    if (!strcmp(which, "eos"))
        return m->tok.eos_token;
    if (!strcmp(which, "pad"))
        return m->tok.pad_token;
    if (!strcmp(which, "unk"))
        return m->tok.unk_token;
    return NULL;
}

int32_t fw_model_bos_id(const fw_model *m)
{
    return m->cfg.bos_id >= 0 ? m->cfg.bos_id : m->gen.bos_id >= 0 ? m->gen.bos_id : m->tok.bos_id;
}

int32_t fw_model_pad_id(const fw_model *m)
{
    return m->cfg.pad_id >= 0 ? m->cfg.pad_id : m->gen.pad_id >= 0 ? m->gen.pad_id : m->tok.pad_id;
}

const char *fw_model_chat_template(const fw_model *m)
{
    return m->tok.chat_template;
}

uint64_t fw_model_weight_bytes(const fw_model *m)
{
    return m->weight_bytes;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int64_t fw_model_n_params(const fw_model *m)
{
    int64_t n = 0;
    for (int32_t i = 0; i < m->n_views; i++) {
        const fw_tensor_view *v = &m->views[i];
        int64_t k = fw_shape_numel(v->shape, v->n_dims);
        if (ends_with(v->name, "_scales") || ends_with(v->name, "_scale_inv"))
            continue;
        if (ends_with(v->name, "_blocks") && v->dtype == FW_DTYPE_U8)
            k *= 2;
        n += k;
    }
    return n;
}
