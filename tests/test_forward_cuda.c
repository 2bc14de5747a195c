/* tests/test_forward_cuda.c -- the cuda backend (the built plugin, loaded through the
 * registry) against the golden logits of every fixture model.
 *
 * Per architecture: a full prefill, token-by-token decode through the paged
 * KV cache (F32, BF16 and F16 KV), and two sequences in one batch must each
 * land within 1e-3 * max|golden| of transformers' logits with an F32 cache
 * (1e-2 F16, 5e-2 BF16), with the same argmax wherever the golden top-1/top-2
 * margin exceeds 0.1.  Without the plugin or a usable GPU the program exits
 * 77 (automake's SKIP) with the reason.
 *
 * Beside the golden checks, the same batches go through the cpu backend (when its
 * plugin is built) and must agree: a mixed prefill + decode batch over two paged
 * sequences, every KV dtype, FP8 block weights (fw_mkmodel_quantize_fp8 of each
 * fixture) and F16 / F32 weights (fw_mkmodel_write).  Built twice: as
 * test_forward_cuda for the real plugin and as test_forward_cuemu for the same
 * sources on the CPU emulator (tests/cuemu), which runs in every `make check`.
 *
 * Helper modes for tests/check-gpu.sh:
 *   test_forward_cuda --ids GOLDEN          prints the prompt ids "1,2,3"
 *   test_forward_cuda --compare GOLDEN OUT  compares OUT's `logits` with GOLDEN's (exit 0/1)
 *   test_forward_cuda --probe               exit 0 when the plugin can run here, else 77 */
#include "testutil.h"

#include "mkmodel.h"
#include "model.h"
#include "plugin.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#ifndef FW_CUDA_PLUGIN /* relative to the build tree */
#define FW_CUDA_PLUGIN "plugins/backends/cuda/.libs/backend_cuda.so"
#endif
#define FW_CPU_PLUGIN "plugins/backends/cpu/.libs/backend_cpu.so"

#define BLOCK 4
#define MAX_TOK 256 /* past two attention chunks (ATT_CHUNK 128) */
#define TOL 5e-2 /* BF16 KV; the --compare mode (check-gpu.sh) */
#define MARGIN 0.1f

static const char *const archs[] = {"qwen3-a17", "qwen3_moe-a17", "gpt_oss-a17", "glm4_moe-a17",
                                    "kimi_k2-a17"};

static fw_registry *reg;
static const fw_backend_vtable *vt;
static const fw_backend_vtable *cpu_vt; /* NULL without the cpu plugin: cross checks skip */

static int find_tensor(const fw_st_file *f, const char *name)
{
    for (int32_t i = 0; i < f->hdr.n_tensors; i++)
        if (!strcmp(f->hdr.tensors[i].name, name))
            return i;
    return -1;
}

/* Tolerance relative to max|reference| by KV dtype: the F32 paths must stay at F32
 * accuracy (the prefill GEMM keeps ~16 mantissa bits of x), so that a 1% slip in a
 * kernel cannot hide under the BF16 KV allowance. */
static double g_tol = TOL;

static double tol_for(uint32_t kv_dtype)
{
    return kv_dtype == FW_DTYPE_F32 ? 1e-3 : kv_dtype == FW_DTYPE_F16 ? 1e-2 : TOL;
}

/* max|got - want| <= g_tol * max|want| over n rows of V, and equal argmax where the
 * golden margin is clear.  Writes a description of the first failure to why. */
static int compare(const float *got, const float *want, int32_t n, int32_t V, char *why,
                   size_t cap)
{
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < (size_t)n * V; i++) {
        double dd = fabs((double)got[i] - want[i]);
        if (!(dd <= max_diff)) /* NaN counts as a failure */
            max_diff = dd;
        if (fabs(want[i]) > max_abs)
            max_abs = fabs(want[i]);
    }
    if (!(max_diff <= g_tol * max_abs)) {
        snprintf(why, cap, "max|diff| %g > %g * max|golden| %g", max_diff, g_tol, max_abs);
        return 0;
    }
    for (int32_t r = 0; r < n; r++) {
        const float *g = got + (size_t)r * V, *w = want + (size_t)r * V;
        int32_t a = 0, b = 0, top = 0;
        float m1 = -INFINITY, m2 = -INFINITY;
        for (int32_t i = 0; i < V; i++) {
            if (g[i] > g[a])
                a = i;
            if (w[i] > m1) {
                m2 = m1;
                m1 = w[i];
                top = i;
            } else if (w[i] > m2) {
                m2 = w[i];
            }
        }
        b = top;
        if (m1 - m2 > MARGIN && a != b) {
            snprintf(why, cap, "row %d: argmax %d, golden %d (margin %g)", r, a, b, m1 - m2);
            return 0;
        }
    }
    snprintf(why, cap, "max|diff| %g (%.2e of max|golden| %g)", max_diff,
             max_abs > 0 ? max_diff / max_abs : 0.0, max_abs);
    return 1;
}

typedef struct golden {
    fw_st_file *file;
    const int32_t *ids;
    int32_t n_ids;
    const float *logits;
    int32_t vocab;
} golden;

static int golden_open(const char *path, golden *g)
{
    fw_err err = {0};
    int i, j;
    memset(g, 0, sizeof *g);
    if (fw_st_open(path, &g->file, &err) != FW_OK) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return 0;
    }
    if ((i = find_tensor(g->file, "input_ids")) < 0 || (j = find_tensor(g->file, "logits")) < 0 ||
        g->file->hdr.tensors[j].n_dims != 2) {
        fprintf(stderr, "%s: no input_ids / logits\n", path);
        fw_st_close(g->file);
        return 0;
    }
    g->ids = fw_st_data(g->file, i);
    g->n_ids = (int32_t)g->file->hdr.tensors[i].shape[0];
    g->logits = fw_st_data(g->file, j);
    g->vocab = (int32_t)g->file->hdr.tensors[j].shape[1];
    return 1;
}

static const char *kv_name(uint32_t dt)
{
    return dt == FW_DTYPE_F32 ? "F32" : dt == FW_DTYPE_BF16 ? "BF16" : "F16";
}

/* ---- the suite ------------------------------------------------------------ */

typedef struct runner {
    const fw_backend_vtable *vt;
    fw_backend *b;
    fw_model *model;
    int32_t vocab;
    int32_t tables[2][MAX_TOK / BLOCK];
} runner;

static void runner_open_vt(runner *r, const fw_backend_vtable *bvt, const char *dir,
                           uint32_t kv_dtype)
{
    fw_err err = {0};
    int32_t n_views;
    fw_kv_layout kv = {sizeof kv, BLOCK, kv_dtype, 0, 0, 0, 0};

    memset(r, 0, sizeof *r);
    r->vt = bvt;
    ck_assert_msg(fw_model_open(dir, &r->model, &err) == FW_OK, "%s", err.msg);
    const fw_model_desc *d = fw_model_get_desc(r->model);
    const fw_tensor_view *views = fw_model_tensors(r->model, &n_views);
    ck_assert_msg(bvt->init(NULL, &r->b, &err) == FW_OK, "%s", err.msg);
    ck_assert_msg(bvt->supports(r->b, d, &err) == FW_OK, "%s", err.msg);
    ck_assert_msg(bvt->load_weights(r->b, d, views, n_views, &err) == FW_OK, "%s", err.msg);
    kv.budget_bytes = 1;
    ck_assert_int_eq(bvt->kv_alloc(r->b, &kv, &err), FW_ERR_LIMIT); /* learn the block size */
    kv.budget_bytes = kv.bytes_per_block * (2 * MAX_TOK / BLOCK);
    ck_assert_msg(bvt->kv_alloc(r->b, &kv, &err) == FW_OK, "%s", err.msg);
    ck_assert_int_eq(kv.n_blocks, 2 * MAX_TOK / BLOCK);
    for (int32_t i = 0; i < MAX_TOK / BLOCK; i++) { /* interleaved, so tables matter */
        r->tables[0][i] = 2 * i + 1;
        r->tables[1][i] = 2 * i;
    }
    r->vocab = d->vocab_size;
}

static void runner_open(runner *r, const char *dir, uint32_t kv_dtype)
{
    runner_open_vt(r, vt, dir, kv_dtype);
}

static void runner_close(runner *r)
{
    r->vt->destroy(r->b);
    fw_model_close(r->model);
}

/* n tokens of sequence s (or of both sequences when both) at positions pos0... */
static void step(runner *r, const int32_t *ids, int32_t n, int32_t pos0, int both, float *logits)
{
    int32_t tok[2 * MAX_TOK], pos[2 * MAX_TOK], seq[2 * MAX_TOK], idx[2 * MAX_TOK];
    int32_t len[2] = {pos0 + n, pos0 + n}, n_seq = both ? 2 : 1, T = n * n_seq;
    const int32_t *tables[2] = {r->tables[0], r->tables[1]};
    fw_err err = {0};

    for (int32_t s = 0; s < n_seq; s++)
        for (int32_t i = 0; i < n; i++) {
            tok[s * n + i] = ids[i];
            pos[s * n + i] = pos0 + i;
            seq[s * n + i] = s;
        }
    for (int32_t i = 0; i < T; i++)
        idx[i] = i;
    fw_batch b = {sizeof b, T, n_seq, T, tok, pos, seq, len, tables, idx};
    ck_assert_msg(r->vt->forward(r->b, &b, logits, &err) == FW_OK, "%s", err.msg);
}

static void check_arch(int i, uint32_t kv_dtype, int mode)
{
    char dir[4096], gpath[4200], why[256];
    golden g;
    runner r;

    if (!fw_test_fixtures() && fw_test_skip("no fixtures (FW_FIXTURES)"))
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", fw_test_fixtures(), archs[i]);
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", dir);
    ck_assert(golden_open(gpath, &g));
    ck_assert_int_le(g.n_ids, MAX_TOK);
    runner_open(&r, dir, kv_dtype);
    ck_assert_int_eq(r.vocab, g.vocab);
    g_tol = tol_for(kv_dtype);
    const size_t V = (size_t)r.vocab, n = (size_t)g.n_ids;
    float *out = malloc(2 * n * V * sizeof(float));
    ck_assert_ptr_nonnull(out);
    if (mode == 0) { /* prefill */
        step(&r, g.ids, g.n_ids, 0, 0, out);
        ck_assert_msg(compare(out, g.logits, g.n_ids, r.vocab, why, sizeof why), "%s prefill: %s",
                      archs[i], why);
    } else if (mode == 1) { /* decode, one token per forward */
        for (int32_t t = 0; t < g.n_ids; t++)
            step(&r, g.ids + t, 1, t, 0, out + (size_t)t * V);
        ck_assert_msg(compare(out, g.logits, g.n_ids, r.vocab, why, sizeof why), "%s decode: %s",
                      archs[i], why);
    } else { /* two sequences in one batch: half prefill, then decode both together */
        int32_t h = g.n_ids / 2;
        float *tmp = malloc(2 * n * V * sizeof(float));
        ck_assert_ptr_nonnull(tmp);
        step(&r, g.ids, h, 0, 1, tmp);
        for (int32_t s = 0; s < 2; s++)
            memcpy(out + ((size_t)s * n) * V, tmp + (size_t)s * h * V, (size_t)h * V * 4);
        for (int32_t t = h; t < g.n_ids; t++) {
            step(&r, g.ids + t, 1, t, 1, tmp);
            for (int32_t s = 0; s < 2; s++)
                memcpy(out + ((size_t)s * n + t) * V, tmp + (size_t)s * V, V * 4);
        }
        for (int32_t s = 0; s < 2; s++)
            ck_assert_msg(compare(out + (size_t)s * n * V, g.logits, g.n_ids, r.vocab, why,
                                  sizeof why), "%s batch seq %d: %s", archs[i], s, why);
        free(tmp);
    }
    printf("%s kv %s %s: %s\n", archs[i], kv_name(kv_dtype),
           mode == 0 ? "prefill" : mode == 1 ? "decode" : "batch", why);
    free(out);
    runner_close(&r);
    fw_st_close(g.file);
}

/* ---- against the cpu backend ------------------------------------------------ */

/* A batch being built: sequences appended one after the other. */
typedef struct mix {
    int32_t tok[2 * MAX_TOK], pos[2 * MAX_TOK], seq[2 * MAX_TOK], idx[2 * MAX_TOK];
    int32_t len[2], n, ns;
    const int32_t *tables[2];
} mix;

/* Appends n tokens (none: no sequence) at positions pos0.. of a sequence with table tab. */
static void mix_add(mix *m, const int32_t *tab, const int32_t *ids, int32_t n, int32_t pos0)
{
    if (n <= 0)
        return;
    m->tables[m->ns] = tab;
    m->len[m->ns] = pos0 + n;
    for (int32_t i = 0; i < n; i++, m->n++) {
        m->tok[m->n] = ids[i];
        m->pos[m->n] = pos0 + i;
        m->seq[m->n] = m->ns;
        m->idx[m->n] = m->n;
    }
    m->ns++;
}

/* The same batches through both backends, every forward compared: sequence B (the
 * prompt reversed) prefills 4 tokens then decodes one per step, A advances in chunks
 * of 5, B's tokens first in the batch; the two use interleaved KV blocks. */
static void cross_check(const char *dir, const char *label, const int32_t *ids, int32_t nA,
                        uint32_t kv_dtype)
{
    runner g, c;
    char why[256];
    int32_t ids_b[MAX_TOK], pa = 0, pb = 0, nB = nA - 3, steps = 0;
    fw_err err = {0};

    runner_open_vt(&g, vt, dir, kv_dtype);
    runner_open_vt(&c, cpu_vt, dir, FW_DTYPE_F32); /* the reference keeps F32 */
    g_tol = tol_for(kv_dtype);
    const size_t V = (size_t)g.vocab;
    float *og = malloc(2 * MAX_TOK * V * sizeof(float)), *oc = malloc(2 * MAX_TOK * V * 4);
    ck_assert(og && oc && nB > 0 && nA <= MAX_TOK);
    for (int32_t i = 0; i < nB; i++)
        ids_b[i] = ids[nA - 1 - i];
    while (pa < nA || pb < nB) {
        mix m;
        int32_t nb = pb == 0 ? 4 : 1, na = 5;
        nb = pb + nb > nB ? nB - pb : nb;
        na = pa + na > nA ? nA - pa : na;
        m.n = m.ns = 0;
        mix_add(&m, g.tables[1], ids_b + pb, nb, pb);
        mix_add(&m, g.tables[0], ids + pa, na, pa);
        const int32_t n = m.n;
        fw_batch b = {sizeof b, n, m.ns, n, m.tok, m.pos, m.seq, m.len, m.tables, m.idx};
        ck_assert_msg(g.vt->forward(g.b, &b, og, &err) == FW_OK, "%s", err.msg);
        ck_assert_msg(c.vt->forward(c.b, &b, oc, &err) == FW_OK, "%s", err.msg);
        ck_assert_msg(compare(og, oc, n, g.vocab, why, sizeof why), "%s step %d vs cpu: %s",
                      label, steps, why);
        pa += na;
        pb += nb;
        steps++;
    }
    printf("%s kv %s: %d mixed steps agree with the cpu backend (last: %s)\n", label,
           kv_name(kv_dtype), steps, why);
    free(og);
    free(oc);
    runner_close(&g);
    runner_close(&c);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A fresh temporary folder (static buffer). */
static const char *tmp_dir(void)
{
    static char path[512];
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fwcuemu.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static int need_cpu(void)
{
    if (!cpu_vt)
        return !fw_test_skip("no cpu backend plugin to compare with (" FW_CPU_PLUGIN ")");
    return 1;
}

/* Fixture, mixed batch, each KV dtype. */
START_TEST(test_vs_cpu)
{
    static const uint32_t kv[3] = {FW_DTYPE_F32, FW_DTYPE_BF16, FW_DTYPE_F16};
    char dir[4096];
    golden g;

    if ((!fw_test_fixtures() && fw_test_skip("no fixtures (FW_FIXTURES)")) || !need_cpu())
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", fw_test_fixtures(), archs[_i / 3]);
    char gpath[4200];
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", dir);
    ck_assert(golden_open(gpath, &g));
    cross_check(dir, archs[_i / 3], g.ids, g.n_ids, kv[_i % 3]);
    fw_st_close(g.file);
}
END_TEST

/* FP8 E4M3 block weights: each fixture rewritten by fw_mkmodel_quantize_fp8 (gpt-oss
 * is left out: its experts are MXFP4 already, and the rewrite refuses it). */
static const char *const fp8_archs[] = {"qwen3-a17", "qwen3_moe-a17", "glm4_moe-a17",
                                        "kimi_k2-a17"};

START_TEST(test_fp8_vs_cpu)
{
    char dir[4096], label[128];
    const char *out;
    golden g;
    fw_err err = {0};

    if ((!fw_test_fixtures() && fw_test_skip("no fixtures (FW_FIXTURES)")) || !need_cpu())
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", fw_test_fixtures(), fp8_archs[_i]);
    char gpath[4200];
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", dir);
    ck_assert(golden_open(gpath, &g));
    out = tmp_dir();
    ck_assert_msg(fw_mkmodel_quantize_fp8(dir, out, &err) == FW_OK, "%s", err.msg);
    snprintf(label, sizeof label, "%s fp8", fp8_archs[_i]);
    cross_check(out, label, g.ids, g.n_ids, FW_DTYPE_F32);
    nftw(out, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    fw_st_close(g.file);
}
END_TEST

/* F16 and F32 weights: random tiny models from fw_mkmodel_write. */
START_TEST(test_dtypes_vs_cpu)
{
    static const char *const arch[] = {"qwen3", "gpt_oss", "kimi_k2"};
    const uint32_t dt = _i % 2 ? FW_DTYPE_F32 : FW_DTYPE_F16;
    fw_mkmodel_opts o = {0};
    char label[128];
    int32_t ids[20];
    fw_err err = {0};

    if (!need_cpu())
        return;
    o.arch = arch[_i / 2];
    o.preset = "tiny";
    o.out_dir = tmp_dir();
    o.seed = 7;
    o.dtype = dt;
    ck_assert_msg(fw_mkmodel_write(&o, &err) == FW_OK, "%s", err.msg);
    for (int32_t i = 0; i < 20; i++)
        ids[i] = (i * 37 + 11) % 512;
    snprintf(label, sizeof label, "%s tiny %s", o.arch, dt == FW_DTYPE_F32 ? "F32" : "F16");
    cross_check(o.out_dir, label, ids, 20, FW_DTYPE_F32);
    nftw(o.out_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
END_TEST

START_TEST(test_prefill) { check_arch(_i, FW_DTYPE_F32, 0); }
END_TEST

START_TEST(test_decode) { check_arch(_i, FW_DTYPE_F32, 1); }
END_TEST

START_TEST(test_decode_bf16_kv) { check_arch(_i, FW_DTYPE_BF16, 1); }
END_TEST

START_TEST(test_decode_f16_kv) { check_arch(_i, FW_DTYPE_F16, 1); }
END_TEST

START_TEST(test_batch) { check_arch(_i, FW_DTYPE_F32, 2); }
END_TEST

/* n tokens at positions pos0.. of one sequence whose block table is tab. */
static void run_one(runner *r, const int32_t *tab, const int32_t *ids, int32_t n, int32_t pos0,
                    float *logits)
{
    mix m;
    fw_err err = {0};
    m.n = m.ns = 0;
    mix_add(&m, tab, ids, n, pos0);
    fw_batch b = {sizeof b, m.n, m.ns, m.n, m.tok, m.pos, m.seq, m.len, m.tables, m.idx};
    ck_assert_msg(r->vt->forward(r->b, &b, logits, &err) == FW_OK, "%s", err.msg);
}

/* kv_copy: a sequence forked after a partial block continues from a copy of that
 * block (the device-to-device copy on the stream), unaffected by the original
 * writing on into its own block. */
START_TEST(test_kv_copy)
{
    char dir[4096], gpath[4200];
    int32_t fork_tab[MAX_TOK / BLOCK], ids[MAX_TOK], a, n = 10; /* blocks of 4, 4 and 2 */
    golden g;
    runner r;
    fw_err err = {0};

    if (!fw_test_fixtures() && fw_test_skip("no fixtures (FW_FIXTURES)"))
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", fw_test_fixtures(), archs[0]);
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", dir);
    ck_assert(golden_open(gpath, &g));
    runner_open(&r, dir, FW_DTYPE_F32);
    const size_t V = (size_t)r.vocab;
    float *fork = malloc(2 * V * sizeof(float)), *ref = malloc((size_t)(n + 2) * V * 4);
    ck_assert(fork && ref);
    memcpy(ids, g.ids, (size_t)(n + 3) * sizeof(int32_t));
    run_one(&r, r.tables[0], ids, n, 0, ref); /* the original fills three blocks */
    memcpy(fork_tab, r.tables[1], sizeof fork_tab);
    fork_tab[0] = r.tables[0][0]; /* shares the two full blocks, copies the partial one */
    fork_tab[1] = r.tables[0][1];
    ck_assert_int_eq(r.vt->kv_copy(r.b, r.tables[0][2], fork_tab[2], &err), FW_OK);
    a = ids[n];
    run_one(&r, r.tables[0], &a, 1, n, fork); /* the original goes on in its own block */
    ids[n] = ids[n + 1]; /* the fork's two tokens */
    ids[n + 1] = ids[n + 2];
    run_one(&r, fork_tab, ids + n, 1, n, fork);
    run_one(&r, fork_tab, ids + n + 1, 1, n + 1, fork + V);
    run_one(&r, r.tables[1], ids, n + 2, 0, ref); /* reference: one prefill in fresh blocks */
    double md = 0, ma = 0;
    for (size_t i = 0; i < 2 * V; i++) {
        double d = fabs((double)fork[i] - ref[(size_t)n * V + i]);
        md = d > md || d != d ? d : md;
        ma = fabs(ref[(size_t)n * V + i]) > ma ? fabs(ref[(size_t)n * V + i]) : ma;
    }
    printf("kv_copy fork: max|diff| %.3g of max %.3g\n", md, ma);
    ck_assert_msg(md <= 1e-4 * ma, "forked sequence: max|diff| %g of %g", md, ma);
    free(fork);
    free(ref);
    runner_close(&r);
    fw_st_close(g.file);
}
END_TEST

/* A sequence longer than the attention kernel's chunk of 128 keys, so its online
 * softmax rescales across chunks: a 200-token prefill and two decode steps against
 * the cpu backend. */
START_TEST(test_long_vs_cpu)
{
    static const int arch[] = {0, 3, 4}; /* qwen3, glm4_moe (partial rotary), kimi_k2 (MLA) */
    char dir[4096];
    int32_t ids[MAX_TOK], n = 200;
    runner g, c;

    if ((!fw_test_fixtures() && fw_test_skip("no fixtures (FW_FIXTURES)")) || !need_cpu())
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", fw_test_fixtures(), archs[arch[_i]]);
    runner_open_vt(&g, vt, dir, FW_DTYPE_F32);
    runner_open_vt(&c, cpu_vt, dir, FW_DTYPE_F32);
    const size_t V = (size_t)g.vocab;
    float *og = malloc((size_t)n * V * sizeof(float)), *oc = malloc((size_t)n * V * 4);
    char why[256];
    ck_assert(og && oc);
    for (int32_t i = 0; i < n + 2; i++)
        ids[i] = (i * 37 + 11) % g.vocab;
    g_tol = tol_for(FW_DTYPE_F32);
    run_one(&g, g.tables[0], ids, n, 0, og);
    run_one(&c, c.tables[0], ids, n, 0, oc);
    ck_assert_msg(compare(og, oc, n, g.vocab, why, sizeof why), "%s long prefill: %s",
                  archs[arch[_i]], why);
    for (int32_t t = n; t < n + 2; t++) {
        run_one(&g, g.tables[0], ids + t, 1, t, og);
        run_one(&c, c.tables[0], ids + t, 1, t, oc);
        ck_assert_msg(compare(og, oc, 1, g.vocab, why, sizeof why), "%s decode at %d: %s",
                      archs[arch[_i]], t, why);
    }
    printf("%s: %d-token prefill + 2 decode steps agree with the cpu backend (%s)\n",
           archs[arch[_i]], n, why);
    free(og);
    free(oc);
    runner_close(&g);
    runner_close(&c);
}
END_TEST

/* The benchmark extras (bench/gpu-decode) run and report a rate. */
START_TEST(test_extras)
{
    typedef double (*copy_fn)(fw_backend *, uint64_t);
    typedef double (*gemm_fn)(fw_backend *, int32_t, int32_t, int32_t);
    fw_backend *b = NULL;
    fw_err err = {0};

    ck_assert_msg(vt->init(NULL, &b, &err) == FW_OK, "%s", err.msg);
    copy_fn copy = (copy_fn)vt->get_proc(b, "cuda_copy_bandwidth");
    gemm_fn gemm = (gemm_fn)vt->get_proc(b, "cuda_gemm_peak");
    ck_assert(copy && gemm && !vt->get_proc(b, "no_such_extra"));
    double bw = copy(b, 1 << 20), fl = gemm(b, 32, 64, 64);
    printf("extras: copy %.3g B/s, gemm %.3g FLOP/s\n", bw, fl);
    ck_assert(bw > 0 && fl > 0);
    ck_assert(gemm(b, 8, 64, 64) == 0); /* below the GEMM threshold: refused, not run */
    vt->destroy(b);
}
END_TEST

/* Bad batches are refused with a message, never a crash. */
START_TEST(test_bad_batch)
{
    char dir[4096];
    runner r;
    fw_err err = {0};
    float logits[4];

    if (!fw_test_fixtures() && fw_test_skip("no fixtures (FW_FIXTURES)"))
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", fw_test_fixtures(), archs[0]);
    runner_open(&r, dir, FW_DTYPE_F32);
    int32_t tok = r.vocab, pos = 0, seq = 0, len = 1, idx = 0;
    const int32_t *tables[1] = {r.tables[0]};
    fw_batch b = {sizeof b, 1, 1, 1, &tok, &pos, &seq, &len, tables, &idx};
    ck_assert_int_eq(vt->forward(r.b, &b, logits, &err), FW_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "token"));
    tok = 0;
    len = 100000;
    ck_assert_int_eq(vt->forward(r.b, &b, logits, &err), FW_ERR_INVALID);
    ck_assert_int_eq(vt->kv_copy(r.b, 0, 1 << 20, &err), FW_ERR_INVALID);
    runner_close(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("forward_cuda");
    TCase *tc = tcase_create("golden");
    const int n = (int)(sizeof archs / sizeof archs[0]);
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_prefill, 0, n);
    tcase_add_loop_test(tc, test_decode, 0, n);
    tcase_add_loop_test(tc, test_decode_bf16_kv, 0, n);
    tcase_add_loop_test(tc, test_decode_f16_kv, 0, n);
    tcase_add_loop_test(tc, test_batch, 0, n);
    tcase_add_test(tc, test_bad_batch);
    tcase_add_test(tc, test_kv_copy);
    tcase_add_test(tc, test_extras);
    suite_add_tcase(s, tc);
    tc = tcase_create("cpu");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_vs_cpu, 0, 3 * n);
    tcase_add_loop_test(tc, test_fp8_vs_cpu, 0, 4);
    tcase_add_loop_test(tc, test_dtypes_vs_cpu, 0, 6);
    tcase_add_loop_test(tc, test_long_vs_cpu, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

/* The plugin from the build tree, or the reason it cannot run here. */
static const char *load_plugin(void)
{
    static char path[4200], why[512];
    fw_err err = {0};
    const fw_plugin_info *info;

    snprintf(path, sizeof path, "%s/" FW_CUDA_PLUGIN, fw_test_builddir());
    if (fw_registry_create(&reg, &err) != FW_OK)
        return "registry: out of memory";
    if (fw_registry_load_file(reg, path, &err) != FW_OK) {
        snprintf(why, sizeof why, "cuda plugin not loadable: %s", err.msg);
        return why;
    }
    /* the cpu backend, the reference of the cross checks, where it is built */
    snprintf(path, sizeof path, "%s/" FW_CPU_PLUGIN, fw_test_builddir());
    if (access(path, R_OK) == 0 && fw_registry_load_file(reg, path, &err) == FW_OK &&
        (info = fw_registry_find(reg, FW_PLUGIN_BACKEND, "cpu")) != NULL)
        cpu_vt = fw_plugin_backend(info);
    info = fw_registry_find(reg, FW_PLUGIN_BACKEND, "cuda");
    if (!info)
        return "cuda plugin not registered";
    if (info->probe_score <= 0)
        return "no usable CUDA GPU here (probe() = 0: no device, no driver, or below sm_80)";
    vt = fw_plugin_backend(info);
    return NULL;
}

int main(int argc, char **argv)
{
    golden g;
    char why[256];
    const char *skip;
    int rc;

    if (argc == 3 && !strcmp(argv[1], "--ids")) {
        if (!golden_open(argv[2], &g))
            return 1;
        for (int32_t i = 0; i < g.n_ids; i++)
            printf(i ? ",%d" : "%d", g.ids[i]);
        printf("\n");
        fw_st_close(g.file);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--compare")) {
        fw_st_file *out = NULL;
        fw_err err = {0};
        int j;
        if (!golden_open(argv[2], &g))
            return 1;
        if (fw_st_open(argv[3], &out, &err) != FW_OK) {
            fprintf(stderr, "%s: %s\n", argv[3], err.msg);
            fw_st_close(g.file);
            return 1;
        }
        j = find_tensor(out, "logits");
        rc = j >= 0 && out->hdr.tensors[j].n_dims == 2 && out->hdr.tensors[j].dtype == FW_DTYPE_F32 &&
             out->hdr.tensors[j].shape[0] == g.n_ids && out->hdr.tensors[j].shape[1] == g.vocab;
        if (!rc)
            snprintf(why, sizeof why, "no F32 logits [%d, %d]", g.n_ids, g.vocab);
        else
            rc = compare(fw_st_data(out, j), g.logits, g.n_ids, g.vocab, why, sizeof why);
        printf("%s: %s\n", rc ? "ok" : "FAIL", why);
        fw_st_close(out);
        fw_st_close(g.file);
        return rc ? 0 : 1;
    }
    if (argc == 2 && !strcmp(argv[1], "--probe")) {
        skip = load_plugin();
        if (skip)
            printf("SKIP: %s\n", skip);
        fw_registry_destroy(reg);
        return skip ? 77 : 0;
    }
    if ((skip = load_plugin())) {
        printf("SKIP: %s\n", skip);
        fw_registry_destroy(reg);
        return 77;
    }
    rc = fw_test_run(suite());
    fw_registry_destroy(reg);
    return rc;
}
