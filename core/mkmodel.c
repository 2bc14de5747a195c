/* core/mkmodel.c -- random model folders and FP8 block (de)quantisation (see mkmodel.h). */
#include "mkmodel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "hf_config.h"
#include "log.h"
#include "model.h"
#include "readfile.h"
#include "safetensors.h"
#include "st_writer.h"

#define DEFAULT_SHARD_BYTES 4000000000ull
#define CHUNK_ELEMS (1u << 18) /* elements per generated chunk (and per RNG reseed) */
#define FP8_BLOCK 128

/* ---- number formats ---- */

static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return 0x7fc0;
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16); /* round to nearest even */
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t f32_to_f16(float f)
{
    uint32_t u, sign, mant;
    int32_t exp;
    memcpy(&u, &f, 4);
    sign = (u >> 16) & 0x8000u;
    exp = (int32_t)((u >> 23) & 0xff) - 127 + 15;
    mant = u & 0x7fffffu;
    if (((u >> 23) & 0xff) == 0xff)
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) { /* subnormal or zero */
        uint32_t shift;
        if (exp < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        shift = (uint32_t)(14 - exp);
        {
            uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1)))
                half++;
            return (uint16_t)(sign | half);
        }
    }
    {
        uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
            h++; /* may carry into the exponent: still correct */
        return (uint16_t)h;
    }
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, u;
    float f;
    if (exp == 0)
        return (sign ? -1.0f : 1.0f) * ldexpf((float)mant, -24);
    if (exp == 31)
        u = sign | 0x7f800000u | (mant << 13);
    else
        u = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    memcpy(&f, &u, 4);
    return f;
}

/* Nearest-even rounding of a non-negative value to an integer. */
static float round_even(float x)
{
    float r = floorf(x), d = x - r;
    if (d > 0.5f || (d == 0.5f && fmodf(r, 2.0f) != 0.0f))
        r += 1.0f;
    return r;
}

uint8_t fw_f32_to_e4m3(float x)
{
    uint8_t sign = signbit(x) ? 0x80 : 0;
    float a = fabsf(x), m;
    int e;

    if (isnan(x))
        return 0x7f;
    if (a >= 448.0f)
        return sign | 0x7e; /* saturate */
    if (a < 0.015625f) /* below 2^-6: subnormal steps of 2^-9 (8 rounds up into the first normal) */
        return sign | (uint8_t)round_even(a * 512.0f);
    m = frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    e -= 1;            /* a = (2m) * 2^e, 2m in [1, 2) */
    {
        int q = (int)round_even((2.0f * m - 1.0f) * 8.0f);
        int code;
        if (q == 8) {
            q = 0;
            e++;
        }
        code = ((e + 7) << 3) | q;
        if (code > 0x7e)
            code = 0x7e;
        return sign | (uint8_t)code;
    }
}

float fw_e4m3_to_f32(uint8_t c)
{
    int exp = (c >> 3) & 15, mant = c & 7;
    float v;
    if ((c & 0x7f) == 0x7f)
        return NAN;
    v = exp == 0 ? ldexpf((float)mant, -9) : ldexpf(1.0f + mant / 8.0f, exp - 7);
    return (c & 0x80) ? -v : v;
}

static float load_float(const void *p, uint32_t dtype, uint64_t i)
{
    switch (dtype) {
    case FW_DTYPE_F32: {
        float f;
        memcpy(&f, (const uint8_t *)p + 4 * i, 4);
        return f;
    }
    case FW_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, (const uint8_t *)p + 2 * i, 2);
        return bf16_to_f32(h);
    }
    case FW_DTYPE_F16: {
        uint16_t h;
        memcpy(&h, (const uint8_t *)p + 2 * i, 2);
        return f16_to_f32(h);
    }
    default:
        return 0.0f;
    }
}

static void store_float(void *p, uint32_t dtype, uint64_t i, float f)
{
    uint16_t h;
    switch (dtype) {
    case FW_DTYPE_F32:
        memcpy((uint8_t *)p + 4 * i, &f, 4);
        break;
    case FW_DTYPE_BF16:
        h = f32_to_bf16(f);
        memcpy((uint8_t *)p + 2 * i, &h, 2);
        break;
    case FW_DTYPE_F16:
        h = f32_to_f16(f);
        memcpy((uint8_t *)p + 2 * i, &h, 2);
        break;
    default:
        break;
    }
}

/* ---- random numbers (splitmix64; state lives in the caller) ---- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* Approximately normal(0, 1): the sum of four 16-bit uniforms, centred and scaled. */
static float approx_normal(uint64_t r)
{
    float s = (float)(r & 0xffff) + (float)((r >> 16) & 0xffff) + (float)((r >> 32) & 0xffff) +
              (float)(r >> 48);
    return (s / 65536.0f - 2.0f) * 1.7320508f; /* variance of the sum: 4/12 */
}

/* ---- writing a list of tensors, sharded past shard_bytes ---- */

typedef struct out_tensor {
    char name[224];
    uint32_t dtype;
    uint32_t kind;      /* fw_spec_kind for random tensors; an op for (de)quantisation */
    int32_t n_dims;
    int32_t src;        /* source view (quantisation) */
    int32_t src_scale;  /* its _scale_inv view (dequantisation) */
    int64_t shape[FW_MAX_DIMS];
    uint64_t n_bytes;
} out_tensor;

typedef fw_status (*emit_fn)(void *ctx, const out_tensor *t, fw_st_writer *w, fw_err *err);

typedef struct out_list {
    out_tensor *t;
    int32_t n, cap;
} out_list;

static out_tensor *out_add(out_list *l, const char *name, uint32_t dtype, int32_t n_dims,
                           const int64_t *shape)
{
    out_tensor *t;
    if (l->n == l->cap) {
        int32_t cap = l->cap ? 2 * l->cap : 256;
        out_tensor *p = realloc(l->t, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        l->t = p;
        l->cap = cap;
    }
    t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->n_dims = n_dims;
    memcpy(t->shape, shape, (size_t)n_dims * sizeof *shape);
    t->n_bytes = (uint64_t)fw_shape_numel(shape, n_dims) * fw_dtype_size(dtype);
    return t;
}

/* dir/name in memory, NUL-terminated; NULL when it cannot be read. */
static char *read_in(const char *dir, const char *name, size_t *len)
{
    char *path = fw_path_join(dir, name), *text = path ? fw_read_file(path, len) : NULL;
    free(path);
    return text;
}

static fw_status write_text(const char *dir, const char *name, const char *text, fw_err *err)
{
    char *path = fw_path_join(dir, name);
    FILE *f = path ? fopen(path, "wb") : NULL;
    fw_status st = FW_OK;
    if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0)
        st = fw_err_set(err, FW_ERR_IO, "%s: %s", path ? path : name, strerror(errno));
    if (f && fclose(f) && !st)
        st = fw_err_set(err, FW_ERR_IO, "%s: %s", path, strerror(errno));
    free(path);
    return st;
}

static fw_status write_json(const char *dir, const char *name, const cJSON *j, fw_err *err)
{
    char *text = cJSON_Print(j);
    fw_status st;
    if (!text)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    st = write_text(dir, name, text, err);
    free(text);
    return st;
}

static void remove_in(const char *dir, const char *name)
{
    char *p = fw_path_join(dir, name);
    if (p)
        remove(p);
    free(p);
}

static fw_status write_tensors(const char *dir, const out_list *l, uint64_t shard_bytes,
                               emit_fn emit, void *ctx, fw_err *err)
{
    int32_t n_shards = 1, *shard_of = calloc((size_t)(l->n ? l->n : 1), sizeof *shard_of);
    uint64_t cur = 0, total = 0, done = 0;
    cJSON *index = NULL, *wmap = NULL;
    fw_status st = FW_OK;

    if (!shard_of)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < l->n; i++) {
        if (cur > 0 && cur + l->t[i].n_bytes > shard_bytes) {
            n_shards++;
            cur = 0;
        }
        shard_of[i] = n_shards - 1;
        cur += l->t[i].n_bytes;
        total += l->t[i].n_bytes;
    }
    remove_in(dir, "model.safetensors");
    remove_in(dir, "model.safetensors.index.json");
    if (n_shards > 1) {
        index = cJSON_CreateObject();
        cJSON *meta = cJSON_AddObjectToObject(index, "metadata");
        cJSON_AddNumberToObject(meta, "total_size", (double)total);
        wmap = cJSON_AddObjectToObject(index, "weight_map");
    }
    for (int32_t s = 0, i = 0; s < n_shards && !st; s++) {
        char name[64], *path;
        fw_st_writer *w = NULL;
        int32_t first = i;

        if (n_shards == 1)
            snprintf(name, sizeof name, "model.safetensors");
        else
            snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
        path = fw_path_join(dir, name);
        st = path ? fw_st_writer_create(path, &w, err) : fw_err_set(err, FW_ERR_NOMEM, "oom");
        for (; i < l->n && shard_of[i] == s && !st; i++) {
            st = fw_st_writer_add(w, l->t[i].name, l->t[i].dtype, l->t[i].n_dims, l->t[i].shape,
                                  err);
            if (wmap)
                cJSON_AddStringToObject(wmap, l->t[i].name, name);
        }
        for (int32_t k = first; k < i && !st; k++) {
            st = emit(ctx, &l->t[k], w, err);
            if (st)
                fw_err_prefix(err, "%s: tensor %s: ", name, l->t[k].name);
            done += l->t[k].n_bytes;
        }
        if (!st)
            st = fw_st_writer_finish(w, err);
        fw_st_writer_destroy(w);
        free(path);
        if (!st)
            fw_log(FW_LOG_INFO, "mkmodel", "wrote %s: %d tensors; %.1f of %.1f MB", name,
                   i - first, done / 1e6, total / 1e6);
    }
    if (!st && index)
        st = write_json(dir, "model.safetensors.index.json", index, err);
    cJSON_Delete(index);
    free(shard_of);
    return st;
}

/* ---- presets ---- */

typedef struct preset {
    const char *arch, *name;
    int32_t vocab, hidden, layers, heads, kv_heads, head_dim, inter, max_pos;
    int32_t experts, topk, moe_inter, shared, first_dense;
    int32_t tie;
    double theta;
    int32_t window;                     /* gpt_oss sliding_window */
    int32_t q_lora, kv_lora, nope, rope, v_dim; /* MLA */
    int32_t real_vocab;                 /* the family's padded vocab with its own tokenizer */
} preset;

static const preset presets[] = {
    /* arch        name     vocab   H     L   nh nkv  hd   inter  maxpos  E   k  Im   sh fd tie theta    win  ql  kvl nope rope v  real_vocab */
    {"qwen3", "tiny", 512, 64, 2, 4, 2, 32, 160, 40960, 0, 0, 0, 0, 0, 1, 1e6, 0, 0, 0, 0, 0, 0, 151936},
    {"qwen3", "0.6b", 151936, 1024, 28, 16, 8, 128, 3072, 40960, 0, 0, 0, 0, 0, 1, 1e6, 0, 0, 0, 0, 0, 0, 151936},
    {"qwen3", "8b", 151936, 4096, 36, 32, 8, 128, 12288, 40960, 0, 0, 0, 0, 0, 0, 1e6, 0, 0, 0, 0, 0, 0, 151936},
    {"qwen3_moe", "tiny", 512, 64, 2, 4, 2, 32, 192, 40960, 8, 2, 48, 0, 0, 0, 1e6, 0, 0, 0, 0, 0, 0, 151936},
    {"qwen3_moe", "30b-a3b", 151936, 2048, 48, 32, 4, 128, 6144, 40960, 128, 8, 768, 0, 0, 0, 1e6, 0, 0, 0, 0, 0, 0, 151936},
    {"gpt_oss", "tiny", 512, 64, 2, 4, 2, 16, 64, 131072, 4, 2, 64, 0, 0, 0, 150000, 8, 0, 0, 0, 0, 0, 201088},
    {"gpt_oss", "20b", 201088, 2880, 24, 64, 8, 64, 2880, 131072, 32, 4, 2880, 0, 0, 0, 150000, 128, 0, 0, 0, 0, 0, 201088},
    {"glm4_moe", "tiny", 512, 64, 3, 4, 2, 32, 160, 131072, 8, 2, 48, 1, 1, 0, 1e6, 0, 0, 0, 0, 0, 0, 151552},
    {"deepseek_v3", "tiny", 512, 64, 3, 4, 4, 0, 160, 163840, 8, 2, 48, 1, 1, 0, 10000, 0, 48, 32, 16, 8, 16, 129280},
    {"kimi_k2", "tiny", 512, 64, 3, 4, 4, 0, 160, 131072, 8, 2, 48, 1, 1, 0, 50000, 0, 48, 32, 16, 8, 16, 163840},
};

static const preset *find_preset(const char *arch, const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcmp(presets[i].arch, arch) && !strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}

/* Facts taken from a tokenizer folder. */
typedef struct tok_facts {
    int32_t n_vocab;            /* highest id + 1; 0 when unknown */
    int32_t bos, eos, pad;      /* -1 when unknown */
    int32_t extra_eos;          /* gpt-oss <|call|>, -1 when absent */
} tok_facts;

static int32_t max_id_in(const cJSON *obj_of_ids, int by_key)
{
    const cJSON *e;
    int32_t mx = -1;
    cJSON_ArrayForEach(e, obj_of_ids) {
        double v = by_key ? strtod(e->string ? e->string : "-1", NULL) : e->valuedouble;
        if (!by_key && !cJSON_IsNumber(e))
            continue;
        if (v > mx && v < 2147483647.0)
            mx = (int32_t)v;
    }
    return mx;
}

static fw_status read_tokenizer(const char *dir, tok_facts *tf, fw_err *err)
{
    char *text;
    size_t len;
    int32_t mx = -1;

    tf->n_vocab = 0;
    tf->bos = tf->eos = tf->pad = tf->extra_eos = -1;
    if ((text = read_in(dir, "tokenizer.json", &len))) {
        cJSON *root = cJSON_ParseWithLength(text, len), *model, *added, *e;
        free(text);
        if (!root)
            return fw_err_set(err, FW_ERR_INVALID, "%s/tokenizer.json: not well-formed JSON", dir);
        model = cJSON_GetObjectItemCaseSensitive(root, "model");
        mx = max_id_in(cJSON_GetObjectItemCaseSensitive(model, "vocab"), 0);
        added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
        cJSON_ArrayForEach(e, added) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            if (cJSON_IsNumber(id) && id->valuedouble > mx && id->valuedouble < 2147483647.0)
                mx = (int32_t)id->valuedouble;
        }
        cJSON_Delete(root);
    } else {
        /* tiktoken.model: one "base64 rank" per line. */
        FILE *f;
        char line[1024], *path = fw_path_join(dir, "tiktoken.model");
        f = path ? fopen(path, "r") : NULL;
        free(path);
        if (!f)
            return fw_err_set(err, FW_ERR_NOT_FOUND, "%s: no tokenizer.json or tiktoken.model",
                              dir);
        while (fgets(line, sizeof line, f)) {
            char *sp = strchr(line, ' ');
            long r = sp ? strtol(sp + 1, NULL, 10) : -1;
            if (r > mx && r < 2147483647L)
                mx = (int32_t)r;
        }
        fclose(f);
    }
    if ((text = read_in(dir, "tokenizer_config.json", &len))) {
        fw_hf_tok_config tc;
        cJSON *root = cJSON_ParseWithLength(text, len), *dec, *e;
        if (fw_hf_tok_config_parse(text, len, &tc, err) == FW_OK) {
            tf->bos = tc.bos_id;
            tf->eos = tc.eos_id;
            tf->pad = tc.pad_id;
            fw_hf_tok_config_deinit(&tc);
        }
        dec = cJSON_GetObjectItemCaseSensitive(root, "added_tokens_decoder");
        if (max_id_in(dec, 1) > mx)
            mx = max_id_in(dec, 1);
        cJSON_ArrayForEach(e, dec) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
            if (cJSON_IsString(c) && !strcmp(c->valuestring, "<|call|>"))
                tf->extra_eos = (int32_t)strtol(e->string, NULL, 10);
        }
        cJSON_Delete(root);
        free(text);
    }
    tf->n_vocab = mx + 1;
    return FW_OK;
}

/* Copies the tokenizer files that a real checkpoint folder carries. */
static fw_status copy_tokenizer(const char *from, const char *to, fw_err *err)
{
    static const char *names[] = {
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
        "merges.txt", "tiktoken.model", "chat_template.jinja", "added_tokens.json",
        "tokenization_kimi.py",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *src = fw_path_join(from, names[i]), *dst = fw_path_join(to, names[i]);
        FILE *in = src ? fopen(src, "rb") : NULL, *out;
        char buf[1 << 16];
        size_t n;
        fw_status st = FW_OK;

        if (!in) {
            free(src);
            free(dst);
            continue;
        }
        out = dst ? fopen(dst, "wb") : NULL;
        if (!out)
            st = fw_err_set(err, FW_ERR_IO, "%s: %s", dst ? dst : names[i], strerror(errno));
        while (!st && (n = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, n, out) != n)
                st = fw_err_set(err, FW_ERR_IO, "%s: write failed", dst);
        fclose(in);
        if (out && fclose(out) && !st)
            st = fw_err_set(err, FW_ERR_IO, "%s: %s", dst, strerror(errno));
        free(src);
        free(dst);
        if (st)
            return st;
    }
    return FW_OK;
}

/* ---- config.json with each family's real key names ---- */

static cJSON *ids_json(const int32_t *ids, int n)
{
    if (n == 1)
        return cJSON_CreateNumber(ids[0]);
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    return a;
}

static const char *torch_dtype_name(uint32_t dtype)
{
    return dtype == FW_DTYPE_F32 ? "float32" : dtype == FW_DTYPE_F16 ? "float16" : "bfloat16";
}

static cJSON *make_config(const preset *p, int32_t vocab, uint32_t dtype, int32_t bos,
                          int32_t eos, int32_t pad)
{
    cJSON *c = cJSON_CreateObject(), *a, *rs;
    int is_qwen = !strncmp(p->arch, "qwen3", 5);
    int is_ds = !strcmp(p->arch, "deepseek_v3") || !strcmp(p->arch, "kimi_k2");
    const char *archname = !strcmp(p->arch, "qwen3") ? "Qwen3ForCausalLM"
                           : !strcmp(p->arch, "qwen3_moe") ? "Qwen3MoeForCausalLM"
                           : !strcmp(p->arch, "gpt_oss") ? "GptOssForCausalLM"
                           : !strcmp(p->arch, "glm4_moe") ? "Glm4MoeForCausalLM"
                                                         : "DeepseekV3ForCausalLM";

    a = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(a, cJSON_CreateString(archname));
    cJSON_AddStringToObject(c, "model_type", p->arch);
    cJSON_AddBoolToObject(c, "attention_bias", !strcmp(p->arch, "gpt_oss") ||
                                                   !strcmp(p->arch, "glm4_moe"));
    cJSON_AddNumberToObject(c, "attention_dropout", 0.0);
    if (bos >= 0 && strcmp(p->arch, "gpt_oss"))
        cJSON_AddNumberToObject(c, "bos_token_id", bos);
    cJSON_AddNumberToObject(c, "eos_token_id", eos);
    if (pad >= 0 && !is_qwen)
        cJSON_AddNumberToObject(c, "pad_token_id", pad);
    if (!is_ds)
        cJSON_AddNumberToObject(c, "head_dim", p->head_dim);
    cJSON_AddStringToObject(c, "hidden_act", "silu");
    cJSON_AddNumberToObject(c, "hidden_size", p->hidden);
    cJSON_AddNumberToObject(c, "initializer_range", 0.02);
    cJSON_AddNumberToObject(c, "intermediate_size", p->inter);
    cJSON_AddNumberToObject(c, "max_position_embeddings", p->max_pos);
    cJSON_AddNumberToObject(c, "num_attention_heads", p->heads);
    cJSON_AddNumberToObject(c, "num_hidden_layers", p->layers);
    cJSON_AddNumberToObject(c, "num_key_value_heads", p->kv_heads);
    cJSON_AddNumberToObject(c, "rms_norm_eps", is_qwen || is_ds ? 1e-6 : 1e-5);
    cJSON_AddNumberToObject(c, "rope_theta", p->theta);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", p->tie);
    cJSON_AddStringToObject(c, "torch_dtype", torch_dtype_name(dtype));
    cJSON_AddStringToObject(c, "transformers_version", "4.55.0");
    cJSON_AddBoolToObject(c, "use_cache", 1);
    cJSON_AddNumberToObject(c, "vocab_size", vocab);

    if (is_qwen) {
        cJSON_AddNumberToObject(c, "max_window_layers", p->layers);
        cJSON_AddNullToObject(c, "rope_scaling");
        cJSON_AddNullToObject(c, "sliding_window");
        cJSON_AddBoolToObject(c, "use_sliding_window", 0);
    }
    if (!strcmp(p->arch, "qwen3_moe")) {
        cJSON_AddNumberToObject(c, "decoder_sparse_step", 1);
        cJSON_AddArrayToObject(c, "mlp_only_layers");
        cJSON_AddNumberToObject(c, "moe_intermediate_size", p->moe_inter);
        cJSON_AddBoolToObject(c, "norm_topk_prob", 1);
        cJSON_AddNumberToObject(c, "num_experts", p->experts);
        cJSON_AddNumberToObject(c, "num_experts_per_tok", p->topk);
        cJSON_AddBoolToObject(c, "output_router_logits", 0);
        cJSON_AddNumberToObject(c, "router_aux_loss_coef", 0.001);
    }
    if (!strcmp(p->arch, "gpt_oss")) {
        cJSON *q, *m, *lt = cJSON_AddArrayToObject(c, "layer_types");
        for (int32_t l = 0; l < p->layers; l++)
            cJSON_AddItemToArray(lt, cJSON_CreateString(l % 2 ? "full_attention"
                                                               : "sliding_attention"));
        cJSON_AddNumberToObject(c, "experts_per_token", p->topk);
        cJSON_AddNumberToObject(c, "num_experts_per_tok", p->topk);
        cJSON_AddNumberToObject(c, "num_local_experts", p->experts);
        cJSON_AddNumberToObject(c, "initial_context_length", 4096);
        cJSON_AddBoolToObject(c, "output_router_logits", 0);
        cJSON_AddNumberToObject(c, "router_aux_loss_coef", 0.9);
        cJSON_AddNumberToObject(c, "sliding_window", p->window);
        cJSON_AddNumberToObject(c, "swiglu_limit", 7.0);
        rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddNumberToObject(rs, "beta_fast", 32.0);
        cJSON_AddNumberToObject(rs, "beta_slow", 1.0);
        cJSON_AddNumberToObject(rs, "factor", 32.0);
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings", 4096);
        cJSON_AddStringToObject(rs, "rope_type", "yarn");
        cJSON_AddBoolToObject(rs, "truncate", 0);
        q = cJSON_AddObjectToObject(c, "quantization_config");
        m = cJSON_AddArrayToObject(q, "modules_to_not_convert");
        cJSON_AddItemToArray(m, cJSON_CreateString("model.layers.*.self_attn"));
        cJSON_AddItemToArray(m, cJSON_CreateString("model.layers.*.mlp.router"));
        cJSON_AddItemToArray(m, cJSON_CreateString("model.embed_tokens"));
        cJSON_AddItemToArray(m, cJSON_CreateString("lm_head"));
        cJSON_AddStringToObject(q, "quant_method", "mxfp4");
    }
    if (!strcmp(p->arch, "glm4_moe") || is_ds) {
        cJSON_AddNumberToObject(c, "first_k_dense_replace", p->first_dense);
        cJSON_AddNumberToObject(c, "moe_intermediate_size", p->moe_inter);
        cJSON_AddNumberToObject(c, "n_group", 1);
        cJSON_AddNumberToObject(c, "topk_group", 1);
        cJSON_AddNumberToObject(c, "n_routed_experts", p->experts);
        cJSON_AddNumberToObject(c, "n_shared_experts", p->shared);
        cJSON_AddNumberToObject(c, "num_experts_per_tok", p->topk);
        cJSON_AddBoolToObject(c, "norm_topk_prob", 1);
        cJSON_AddNumberToObject(c, "num_nextn_predict_layers", 0);
        cJSON_AddNumberToObject(c, "routed_scaling_factor", is_ds ? 2.827 : 2.5);
    }
    if (!strcmp(p->arch, "glm4_moe")) {
        cJSON_AddNumberToObject(c, "partial_rotary_factor", 0.5);
        cJSON_AddNullToObject(c, "rope_scaling");
        cJSON_AddBoolToObject(c, "use_qk_norm", 0);
    }
    if (is_ds) {
        cJSON_AddNumberToObject(c, "q_lora_rank", p->q_lora);
        cJSON_AddNumberToObject(c, "kv_lora_rank", p->kv_lora);
        cJSON_AddNumberToObject(c, "qk_nope_head_dim", p->nope);
        cJSON_AddNumberToObject(c, "qk_rope_head_dim", p->rope);
        cJSON_AddNumberToObject(c, "v_head_dim", p->v_dim);
        cJSON_AddNumberToObject(c, "moe_layer_freq", 1);
        cJSON_AddStringToObject(c, "scoring_func", "sigmoid");
        cJSON_AddStringToObject(c, "topk_method", "noaux_tc");
        rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddNumberToObject(rs, "beta_fast", !strcmp(p->arch, "kimi_k2") ? 1.0 : 32.0);
        cJSON_AddNumberToObject(rs, "beta_slow", 1.0);
        cJSON_AddNumberToObject(rs, "factor", !strcmp(p->arch, "kimi_k2") ? 32.0 : 40.0);
        cJSON_AddNumberToObject(rs, "mscale", 1.0);
        cJSON_AddNumberToObject(rs, "mscale_all_dim", 1.0);
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings", 4096);
        cJSON_AddStringToObject(rs, "type", "yarn");
    }
    return c;
}

/* ---- random weights ---- */

typedef struct rand_ctx {
    uint64_t seed;
    uint8_t *buf;               /* CHUNK_ELEMS * 4 bytes */
} rand_ctx;

static fw_status emit_random(void *vctx, const out_tensor *t, fw_st_writer *w, fw_err *err)
{
    rand_ctx *rc = vctx;
    uint64_t numel = (uint64_t)fw_shape_numel(t->shape, t->n_dims), base = fnv1a(t->name) ^ rc->seed;
    size_t esz = fw_dtype_size(t->dtype);
    fw_status st = FW_OK;

    for (uint64_t off = 0, k = 0; off < numel && !st; off += CHUNK_ELEMS, k++) {
        uint64_t n = numel - off < CHUNK_ELEMS ? numel - off : CHUNK_ELEMS;
        uint64_t s = base + k * 0xd1b54a32d192ed03ull;

        for (uint64_t i = 0; i < n; i++) {
            switch (t->kind) {
            case FW_SPEC_NORM:
                store_float(rc->buf, t->dtype, i, 1.0f);
                break;
            case FW_SPEC_MXFP4_BLOCKS:
                rc->buf[i] = (uint8_t)splitmix(&s);
                break;
            case FW_SPEC_MXFP4_SCALES: /* 2^-8 .. 2^-6 around the 0.02 scale */
                rc->buf[i] = (uint8_t)(119 + splitmix(&s) % 3);
                break;
            default:
                store_float(rc->buf, t->dtype, i, 0.02f * approx_normal(splitmix(&s)));
                break;
            }
        }
        st = fw_st_writer_write(w, rc->buf, (size_t)(n * esz), err);
    }
    return st;
}

typedef struct plan_ctx {
    out_list *list;
    uint32_t dtype;
} plan_ctx;

static fw_status plan_spec(void *vctx, const fw_tensor_spec *s, fw_err *err)
{
    plan_ctx *pc = vctx;
    uint32_t dtype = pc->dtype;
    out_tensor *t;

    if (s->optional) /* lm_head with tied embeddings: real checkpoints leave it out */
        return FW_OK;
    if (s->kind == FW_SPEC_MXFP4_BLOCKS || s->kind == FW_SPEC_MXFP4_SCALES)
        dtype = FW_DTYPE_U8;
    else if (s->kind == FW_SPEC_CORR)
        dtype = FW_DTYPE_F32;
    t = out_add(pc->list, s->name, dtype, s->n_dims, s->shape);
    if (!t)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    t->kind = s->kind;
    return FW_OK;
}

static fw_status make_dir(const char *dir, fw_err *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return fw_err_set(err, FW_ERR_IO, "%s: %s", dir, strerror(errno));
    return FW_OK;
}

fw_status fw_mkmodel_write(const fw_mkmodel_opts *o, fw_err *err)
{
    const preset *p = find_preset(o->arch, o->preset);
    uint32_t dtype = o->dtype ? o->dtype : FW_DTYPE_BF16;
    tok_facts tf = {0, -1, -1, -1, -1};
    int32_t vocab, bos = 1, eos = 2, pad = 0, gen_eos[4], n_gen_eos = 0;
    cJSON *cfg = NULL, *gen = NULL;
    fw_hf_config hc;
    out_list list = {0};
    rand_ctx rc = {0};
    char *text = NULL;
    fw_status st;

    memset(&hc, 0, sizeof hc);
    if (!fw_arch_from_model_type(o->arch))
        return fw_err_set(err, FW_ERR_INVALID, "unknown --arch '%s' (qwen3, qwen3_moe, gpt_oss, "
                          "glm4_moe, deepseek_v3, kimi_k2)", o->arch);
    if (!p)
        return fw_err_set(err, FW_ERR_INVALID, "no preset '%s' for %s (tiny for every arch; "
                          "0.6b, 8b: qwen3; 30b-a3b: qwen3_moe; 20b: gpt_oss)", o->preset,
                          o->arch);
    if (dtype != FW_DTYPE_BF16 && dtype != FW_DTYPE_F16 && dtype != FW_DTYPE_F32)
        return fw_err_set(err, FW_ERR_INVALID, "dtype must be bf16, f16 or f32");
    vocab = p->vocab;
    if (o->tokenizer_dir) {
        if ((st = read_tokenizer(o->tokenizer_dir, &tf, err)))
            return st;
        /* The family pads its vocab (Qwen3 151669 -> 151936); others round up to 128. */
        vocab = tf.n_vocab <= p->real_vocab ? p->real_vocab : (tf.n_vocab + 127) / 128 * 128;
        /* Qwen3's tokenizer has no bos_token; its config uses <|endoftext|> (the pad). */
        bos = tf.bos >= 0 ? tf.bos : tf.pad;
        if (tf.eos >= 0)
            eos = tf.eos;
        if (tf.pad >= 0)
            pad = tf.pad;
        else
            pad = -1;
    }
    if (bos >= vocab || eos >= vocab || pad >= vocab)
        return fw_err_set(err, FW_ERR_INVALID, "special token ids do not fit vocab %d", vocab);

    if ((st = make_dir(o->out_dir, err)))
        return st;
    cfg = make_config(p, vocab, dtype, bos, eos, pad);
    text = cJSON_PrintUnformatted(cfg);
    st = text ? fw_hf_config_parse(text, strlen(text), &hc, err)
              : fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    free(text);
    if (!st)
        st = write_json(o->out_dir, "config.json", cfg, err);

    /* generation_config.json: eos (+ pad for Qwen3/gpt-oss, + <|call|>) as the releases do. */
    gen_eos[n_gen_eos++] = eos;
    if (o->tokenizer_dir && pad >= 0 && pad != eos &&
        (!strncmp(o->arch, "qwen3", 5) || !strcmp(o->arch, "gpt_oss")))
        gen_eos[n_gen_eos++] = pad;
    if (tf.extra_eos >= 0 && tf.extra_eos < vocab && !strcmp(o->arch, "gpt_oss"))
        gen_eos[n_gen_eos++] = tf.extra_eos;
    gen = cJSON_CreateObject();
    if (bos >= 0)
        cJSON_AddNumberToObject(gen, "bos_token_id", bos);
    cJSON_AddBoolToObject(gen, "do_sample", 1);
    cJSON_AddItemToObject(gen, "eos_token_id", ids_json(gen_eos, n_gen_eos));
    if (pad >= 0)
        cJSON_AddNumberToObject(gen, "pad_token_id", pad);
    if (!strncmp(o->arch, "qwen3", 5)) {
        cJSON_AddNumberToObject(gen, "temperature", 0.6);
        cJSON_AddNumberToObject(gen, "top_k", 20);
        cJSON_AddNumberToObject(gen, "top_p", 0.95);
    }
    cJSON_AddStringToObject(gen, "transformers_version", "4.55.0");
    if (!st)
        st = write_json(o->out_dir, "generation_config.json", gen, err);
    if (!st && o->tokenizer_dir)
        st = copy_tokenizer(o->tokenizer_dir, o->out_dir, err);

    if (!st) {
        plan_ctx pc = {&list, dtype};
        st = fw_model_layout(&hc.desc, plan_spec, &pc, err);
    }
    if (!st) {
        uint64_t s0 = o->seed;
        rc.seed = splitmix(&s0);
        rc.buf = malloc((size_t)CHUNK_ELEMS * 4);
        st = rc.buf ? write_tensors(o->out_dir, &list, o->shard_bytes ? o->shard_bytes
                                                                       : DEFAULT_SHARD_BYTES,
                                    emit_random, &rc, err)
                    : fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    free(rc.buf);
    free(list.t);
    fw_hf_config_deinit(&hc);
    cJSON_Delete(cfg);
    cJSON_Delete(gen);
    return st;
}

/* ---- FP8 block quantisation ---- */

enum { OP_COPY = 0, OP_FP8 = 1, OP_SCALE = 2, OP_DEQUANT = 3 };

typedef struct quant_ctx {
    const fw_tensor_view *views;
    float *scales;              /* scales of the last OP_FP8 tensor, (rows/128, cols/128) */
    int64_t n_scales;
    uint8_t *buf;
    size_t buf_bytes;
    int64_t block_m, block_n;   /* dequantisation: the model's weight_block_size */
} quant_ctx;

static fw_status grow(quant_ctx *q, size_t n, fw_err *err)
{
    if (n <= q->buf_bytes)
        return FW_OK;
    uint8_t *p = realloc(q->buf, n);
    if (!p)
        return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    q->buf = p;
    q->buf_bytes = n;
    return FW_OK;
}

/* The smallest power of two s with amax / s <= 448. */
static float pow2_scale(float amax)
{
    int e;
    float m;
    if (!(amax > 0))
        return 1.0f;
    m = frexpf(amax / 448.0f, &e);
    return m == 0.5f ? ldexpf(1.0f, e - 1) : ldexpf(1.0f, e);
}

static fw_status emit_quant(void *vctx, const out_tensor *t, fw_st_writer *w, fw_err *err)
{
    quant_ctx *q = vctx;
    const fw_tensor_view *v = &q->views[t->src];
    fw_status st = FW_OK;

    if (t->kind == OP_COPY)
        return fw_st_writer_write(w, v->data, (size_t)v->n_bytes, err);
    if (t->kind == OP_SCALE)
        return fw_st_writer_write(w, q->scales, (size_t)q->n_scales * 4, err);
    if (t->kind == OP_FP8) {
        int64_t rows = v->shape[0], cols = v->shape[1];
        int64_t nbr = (rows + FP8_BLOCK - 1) / FP8_BLOCK, nbc = (cols + FP8_BLOCK - 1) / FP8_BLOCK;
        float *s = realloc(q->scales, (size_t)(nbr * nbc) * sizeof *s);
        if (!s)
            return fw_err_set(err, FW_ERR_NOMEM, "out of memory");
        q->scales = s;
        q->n_scales = nbr * nbc;
        if ((st = grow(q, (size_t)(FP8_BLOCK * cols), err)))
            return st;
        /* One stripe of 128 rows at a time: block maxima, then codes. */
        for (int64_t br = 0; br < nbr && !st; br++) {
            int64_t r0 = br * FP8_BLOCK, r1 = r0 + FP8_BLOCK < rows ? r0 + FP8_BLOCK : rows;
            for (int64_t bc = 0; bc < nbc; bc++) {
                int64_t c0 = bc * FP8_BLOCK, c1 = c0 + FP8_BLOCK < cols ? c0 + FP8_BLOCK : cols;
                float amax = 0, sc;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t c = c0; c < c1; c++) {
                        float x = fabsf(load_float(v->data, v->dtype, (uint64_t)(r * cols + c)));
                        amax = x > amax ? x : amax;
                    }
                sc = pow2_scale(amax);
                s[br * nbc + bc] = sc;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t c = c0; c < c1; c++)
                        q->buf[(r - r0) * cols + c] = fw_f32_to_e4m3(
                            load_float(v->data, v->dtype, (uint64_t)(r * cols + c)) / sc);
            }
            st = fw_st_writer_write(w, q->buf, (size_t)((r1 - r0) * cols), err);
        }
        return st;
    }
    /* OP_DEQUANT: F8 weight times its block scales. */
    {
        const fw_tensor_view *sv = &q->views[t->src_scale];
        int64_t rows = v->shape[0], cols = v->shape[1];
        int64_t nbc = sv->shape[1];
        const uint8_t *codes = v->data;
        if ((st = grow(q, (size_t)cols * 2, err)))
            return st;
        for (int64_t r = 0; r < rows && !st; r++) {
            for (int64_t c = 0; c < cols; c++) {
                float sc = load_float(sv->data, sv->dtype,
                                      (uint64_t)((r / q->block_m) * nbc + c / q->block_n));
                store_float(q->buf, FW_DTYPE_BF16, (uint64_t)c,
                            fw_e4m3_to_f32(codes[r * cols + c]) * sc);
            }
            st = fw_st_writer_write(w, q->buf, (size_t)cols * 2, err);
        }
        return st;
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Copies the side files and writes config.json with quantization_config set or removed. */
static fw_status copy_folder_meta(const char *from, const char *to, int quantize, fw_err *err)
{
    size_t len = 0;
    char *text = read_in(from, "config.json", &len);
    cJSON *cfg;
    fw_status st;

    if (!text)
        return fw_err_set(err, FW_ERR_IO, "%s/config.json: cannot read", from);
    cfg = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cfg)
        return fw_err_set(err, FW_ERR_INVALID, "%s/config.json: not well-formed JSON", from);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "quantization_config");
    if (quantize) {
        cJSON *q = cJSON_AddObjectToObject(cfg, "quantization_config"), *bs;
        cJSON_AddStringToObject(q, "activation_scheme", "dynamic");
        cJSON_AddStringToObject(q, "fmt", "e4m3");
        cJSON_AddStringToObject(q, "quant_method", "fp8");
        bs = cJSON_AddArrayToObject(q, "weight_block_size");
        cJSON_AddItemToArray(bs, cJSON_CreateNumber(FP8_BLOCK));
        cJSON_AddItemToArray(bs, cJSON_CreateNumber(FP8_BLOCK));
    }
    st = make_dir(to, err);
    if (!st)
        st = write_json(to, "config.json", cfg, err);
    cJSON_Delete(cfg);
    if (!st) {
        /* generation_config.json and tokenizer files travel unchanged. */
        char *g = read_in(from, "generation_config.json", &len);
        if (g)
            st = write_text(to, "generation_config.json", g, err);
        free(g);
    }
    if (!st)
        st = copy_tokenizer(from, to, err);
    return st;
}

static fw_status requant(const char *from, const char *to, int quantize, fw_err *err)
{
    fw_model *m = NULL;
    const fw_tensor_view *views;
    out_list list = {0};
    quant_ctx q = {0};
    int32_t n;
    fw_status st;

    if (!strcmp(from, to))
        return fw_err_set(err, FW_ERR_INVALID, "--from and --out must differ");
    if ((st = fw_model_open(from, &m, err)))
        return st;
    if (quantize && fw_model_get_desc(m)->quant != FW_QUANT_NONE) {
        fw_model_close(m);
        return fw_err_set(err, FW_ERR_INVALID, "%s: already quantized", from);
    }
    if (!quantize && fw_model_get_desc(m)->quant != FW_QUANT_FP8_BLOCK) {
        fw_model_close(m);
        return fw_err_set(err, FW_ERR_INVALID, "%s: not an FP8 block-quantized model", from);
    }
    views = fw_model_tensors(m, &n);
    q.views = views;
    q.block_m = fw_model_get_desc(m)->quant_block_m;
    q.block_n = fw_model_get_desc(m)->quant_block_n;
    st = copy_folder_meta(from, to, quantize, err);
    for (int32_t i = 0; i < n && !st; i++) {
        const fw_tensor_view *v = &views[i];
        int is_linear = v->n_dims == 2 && ends_with(v->name, "_proj.weight");
        out_tensor *t;
        char sname[240];

        if (quantize && is_linear && v->dtype != FW_DTYPE_F8_E4M3 &&
            v->dtype != FW_DTYPE_U8) {
            int64_t sshape[2] = {(v->shape[0] + FP8_BLOCK - 1) / FP8_BLOCK,
                                 (v->shape[1] + FP8_BLOCK - 1) / FP8_BLOCK};
            t = out_add(&list, v->name, FW_DTYPE_F8_E4M3, 2, v->shape);
            if (t)
                t->kind = OP_FP8, t->src = i;
            snprintf(sname, sizeof sname, "%s_scale_inv", v->name);
            t = t ? out_add(&list, sname, FW_DTYPE_F32, 2, sshape) : NULL;
            if (t)
                t->kind = OP_SCALE, t->src = i;
        } else if (!quantize && v->dtype == FW_DTYPE_F8_E4M3) {
            const fw_tensor_view *sv;
            snprintf(sname, sizeof sname, "%s_scale_inv", v->name);
            sv = fw_model_find(m, sname);
            if (!sv) {
                st = fw_err_set(err, FW_ERR_NOT_FOUND, "missing tensor %s", sname);
                break;
            }
            if (v->n_dims != 2 || sv->n_dims != 2 ||
                sv->shape[0] != (v->shape[0] + q.block_m - 1) / q.block_m ||
                sv->shape[1] != (v->shape[1] + q.block_n - 1) / q.block_n ||
                (sv->dtype != FW_DTYPE_F32 && sv->dtype != FW_DTYPE_BF16 &&
                 sv->dtype != FW_DTYPE_F16)) {
                st = fw_err_set(err, FW_ERR_INVALID, "tensor %s: shape or dtype does not fit %s",
                                sname, v->name);
                break;
            }
            t = out_add(&list, v->name, FW_DTYPE_BF16, 2, v->shape);
            if (t) {
                t->kind = OP_DEQUANT, t->src = i;
                t->src_scale = (int32_t)(sv - views);
            }
        } else if (!quantize && ends_with(v->name, "_scale_inv")) {
            continue;
        } else {
            t = out_add(&list, v->name, v->dtype, v->n_dims, v->shape);
            if (t)
                t->kind = OP_COPY, t->src = i;
        }
        if (!t)
            st = fw_err_set(err, FW_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = write_tensors(to, &list, DEFAULT_SHARD_BYTES, emit_quant, &q, err);
    free(list.t);
    free(q.scales);
    free(q.buf);
    fw_model_close(m);
    return st;
}

fw_status fw_mkmodel_quantize_fp8(const char *from_dir, const char *out_dir, fw_err *err)
{
    return requant(from_dir, out_dir, 1, err);
}

fw_status fw_mkmodel_dequantize(const char *from_dir, const char *out_dir, fw_err *err)
{
    return requant(from_dir, out_dir, 0, err);
}
