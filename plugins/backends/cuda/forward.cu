/* plugins/backends/cuda/forward.cu -- one batched model step on the GPU, for the flag family
 * (qwen3, qwen3_moe, gpt_oss, glm4_moe) and MLA (deepseek_v3 / kimi_k2).
 *
 * The same steps as the cpu backend's forward.c, one launch (or a few) per
 * step, all on b->stream.  The batch's indices go up in one copy; the only
 * synchronisation is the copy of the logits back to the caller. */
#include "helpers.cuh"

#include <stdlib.h>
#include <string.h>

static fw_status check_batch(const fw_backend *b, const fw_batch *batch, const float *logits,
                             int32_t *max_blocks, fw_err *err)
{
    int32_t max_len;
    fw_status st;

    if (!b->loaded || !b->kv)
        return bk_err(err, FW_ERR_INVALID, "forward before load_weights and kv_alloc");
    st = bk_check_batch(batch, logits, b->desc.vocab_size, b->kv_n_blocks, b->kv_block_size,
                        &max_len, err);
    if (st != FW_OK)
        return st;
    /* the most blocks any sequence spans (seq_len >= 1, so at least 1) */
    *max_blocks = (max_len + b->kv_block_size - 1) / b->kv_block_size;
    return FW_OK;
}

/* Step buffers, carved from one device scratch (each region 256-byte aligned). */
typedef struct bufs {
    float *x, *xn, *y;       /* (T, H) residual, normalised input, block output */
    float *xb;               /* BF16 staging for cuBLASLt: 2 x (T, max_in) halves */
    float *q, *k, *v, *att;  /* GQA (T, nh|nkv, hd); MLA q (T, nh, qk), att (T, nh, vd) */
    float *qa, *ckv, *kvn, *kvb, *K, *V; /* MLA: (T, q_lora) (T, kv_lora + rope) (T, kv_lora)
                                          * (T, nh, nope + vd) (T, nh, qk) (T, nh, vd) */
    float *g, *u;            /* dense / shared MLP (T, max(inter, shared)) */
    float *rl, *rtmp, *rw;   /* router logits (T, E), routing tmp (T, 2E), weights (T, k) */
    int32_t *ridx;           /* (T, k) chosen experts */
    float *eg, *eu, *eh, *ey;/* per pair: (P, 2I) (P, I) (P, I) (P, H); P = T * k */
    float *ys;               /* (T, H) shared-expert output */
    float *xg;               /* (n_logits, H) final rows */
    float *logits;           /* (n_logits, vocab) */
} bufs;

typedef struct carve {
    float *base;             /* NULL: only count */
    size_t used;             /* floats */
} carve;

static float *take(carve *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += (n + 63) / 64 * 64;
    return p;
}

static void layout(const fw_backend *b, int32_t T, int32_t NL, carve *c, bufs *o)
{
    const fw_model_desc *d = &b->desc;
    const size_t t = (size_t)T, H = (size_t)d->hidden_size, nh = (size_t)d->n_heads;
    size_t inter = (size_t)(d->intermediate_size > 0 ? d->intermediate_size : 0);
    const size_t S = (size_t)(d->n_shared_experts > 0 ? d->n_shared_experts : 0) *
                     (size_t)(d->moe_intermediate_size > 0 ? d->moe_intermediate_size : 0);

    memset(o, 0, sizeof *o);
    o->x = take(c, t * H);
    o->xn = take(c, t * H);
    o->y = take(c, t * H);
    o->xb = take(c, (t * (size_t)b->max_in + 127) / 128 * 128); /* x as two BF16 halves */
    if (d->attn_kind == FW_ATTN_MLA) {
        const size_t nope = (size_t)d->qk_nope_head_dim, rope = (size_t)d->qk_rope_head_dim;
        const size_t vd = (size_t)d->v_head_dim, qk = nope + rope, kvlr = (size_t)d->kv_lora_rank;
        o->q = take(c, t * nh * qk);
        o->qa = take(c, t * (size_t)(d->q_lora_rank > 0 ? d->q_lora_rank : 0));
        o->ckv = take(c, t * (kvlr + rope));
        o->kvn = take(c, t * kvlr);
        o->kvb = take(c, t * nh * (nope + vd));
        o->K = take(c, t * nh * qk);
        o->V = take(c, t * nh * vd);
        o->att = take(c, t * nh * vd);
    } else {
        const size_t hd = (size_t)d->head_dim, nkv = (size_t)d->n_kv_heads;
        o->q = take(c, t * nh * hd);
        o->k = take(c, t * nkv * hd);
        o->v = take(c, t * nkv * hd);
        o->att = take(c, t * nh * hd);
    }
    if (S > inter)
        inter = S;
    o->g = take(c, t * inter);
    o->u = take(c, t * inter);
    if (d->n_experts > 0) {
        const size_t E = (size_t)d->n_experts, k = (size_t)d->n_experts_per_tok;
        const size_t I = (size_t)(d->moe_intermediate_size > 0 ? d->moe_intermediate_size
                                                                 : d->intermediate_size);
        o->rl = take(c, t * E);
        o->rtmp = take(c, t * 2 * E);
        o->rw = take(c, t * k);
        o->ridx = (int32_t *)take(c, t * k);
        o->eg = take(c, t * k * 2 * I);
        o->eu = take(c, t * k * I);
        o->eh = take(c, t * k * I);
        o->ey = take(c, t * k * H);
        o->ys = take(c, t * H);
    }
    o->xg = take(c, (size_t)NL * H);
    o->logits = take(c, (size_t)NL * (size_t)d->vocab_size);
}

/* Grouped-query attention block: projections, q/k norms, rotary, cache, attention, output. */
static void gqa_attention(fw_backend *b, int32_t l, const cu_dbatch *db, const bufs *o)
{
    const fw_model_desc *d = &b->desc;
    const cu_layer *L = &b->layers[l];
    const int32_t T = db->n_tokens, hd = d->head_dim, nh = d->n_heads, nkv = d->n_kv_heads;
    const float eps = d->rms_norm_eps;

    cu_matmul(b, &L->q, o->xn, T, o->q, o->xb);
    cu_matmul(b, &L->k, o->xn, T, o->k, o->xb);
    cu_matmul(b, &L->v, o->xn, T, o->v, o->xb);
    cu_add_bias(b, o->q, L->q_bias, T, nh * hd);
    cu_add_bias(b, o->k, L->k_bias, T, nkv * hd);
    cu_add_bias(b, o->v, L->v_bias, T, nkv * hd);

    if (L->q_norm) { /* qwen3: RMSNorm over each head before rotary */
        cu_rmsnorm(b, o->q, o->q, L->q_norm, T * nh, hd, hd, hd, eps);
        cu_rmsnorm(b, o->k, o->k, L->k_norm, T * nkv, hd, hd, hd, eps);
    }
    cu_rope(b, o->q, T, nh, hd, nh * hd, db->pos);
    cu_rope(b, o->k, T, nkv, hd, nkv * hd, db->pos);

    cu_kv_store(b, l, db, o->k, o->v);
    cu_attention(b, l, db, o->q, o->att, nh, L->window, L->sinks);
    cu_matmul(b, &L->o, o->att, T, o->y, o->xb);
    cu_add_bias(b, o->y, L->o_bias, T, d->hidden_size);
}

/* Multi-head latent attention: the cache keeps the expanded per-head K and V
 * (as the cpu backend's mla.c), so attention is the ordinary paged kernel. */
static void mla_attention(fw_backend *b, int32_t l, const cu_dbatch *db, const bufs *o)
{
    const fw_model_desc *d = &b->desc;
    const cu_layer *L = &b->layers[l];
    const int32_t T = db->n_tokens, nh = d->n_heads, nope = d->qk_nope_head_dim;
    const int32_t rope = d->qk_rope_head_dim, qk = nope + rope;
    const int32_t qlr = d->q_lora_rank, kvlr = d->kv_lora_rank;
    const float eps = d->rms_norm_eps;

    /* queries, through the q LoRA when there is one */
    if (qlr > 0) {
        cu_matmul(b, &L->q_a, o->xn, T, o->qa, o->xb);
        cu_rmsnorm(b, o->qa, o->qa, L->q_a_norm, T, qlr, qlr, qlr, eps);
        cu_matmul(b, &L->q_b, o->qa, T, o->q, o->xb);
    } else {
        cu_matmul(b, &L->q, o->xn, T, o->q, o->xb);
    }

    /* kv latent: normalise the LoRA part and expand it per head */
    cu_matmul(b, &L->kv_a, o->xn, T, o->ckv, o->xb);
    cu_rmsnorm(b, o->kvn, o->ckv, L->kv_a_norm, T, kvlr, kvlr + rope, kvlr, eps);
    cu_matmul(b, &L->kv_b, o->kvn, T, o->kvb, o->xb);

    /* rotary on q's rope part and the shared rope key, then K = [k_nope, k_rope], V */
    cu_rope(b, o->q + nope, T, nh, qk, nh * qk, db->pos);
    cu_rope(b, o->ckv + kvlr, T, 1, rope, kvlr + rope, db->pos);
    cu_mla_assemble(b, o->kvb, o->ckv, o->K, o->V, T);

    cu_kv_store(b, l, db, o->K, o->V);
    cu_attention(b, l, db, o->q, o->att, nh, 0, NULL);
    cu_matmul(b, &L->o, o->att, T, o->y, o->xb);
}

/* SwiGLU MLP: out (T, H) = down(silu(gate x) * up x). */
static void mlp(fw_backend *b, const cu_mat *gate, const cu_mat *up, const cu_mat *down,
                const float *x, int32_t T, float *out, const bufs *o)
{
    cu_matmul(b, gate, x, T, o->g, o->xb);
    cu_matmul(b, up, x, T, o->u, o->xb);
    cu_silu_mul(b, o->g, o->u, (size_t)T * (size_t)gate->n_out);
    cu_matmul(b, down, o->g, T, out, o->xb);
}

/* Routed experts (+ shared): route on the device, one GEMV per (token, expert) pair,
 * then a weighted sum per token. */
static void moe(fw_backend *b, const cu_layer *L, int32_t T, const bufs *o)
{
    const fw_model_desc *d = &b->desc;
    const int32_t E = d->n_experts, k = d->n_experts_per_tok, H = d->hidden_size, P = T * k;

    cu_matmul(b, &L->router, o->xn, T, o->rl, o->xb);
    cu_add_bias(b, o->rl, L->router_bias, T, E);
    cu_route(b, L, o->rl, T, o->rtmp, o->ridx, o->rw);

    if (L->exp_gate_up.n_out > 0) { /* gpt-oss: MXFP4, interleaved gate/up, biases */
        const int32_t I = L->exp_gate_up.n_out / 2;
        cu_moe_matmul(b, &L->exp_gate_up, o->xn, k, o->ridx, P, L->exp_gate_up_bias, o->eg);
        cu_oai_act(b, o->eg, o->eh, P, I);
        cu_moe_matmul(b, &L->exp_down, o->eh, 1, o->ridx, P, L->exp_down_bias, o->ey);
    } else {
        const int32_t I = L->exp_gate.n_out;
        cu_moe_matmul(b, &L->exp_gate, o->xn, k, o->ridx, P, NULL, o->eg);
        cu_moe_matmul(b, &L->exp_up, o->xn, k, o->ridx, P, NULL, o->eu);
        cu_silu_mul(b, o->eg, o->eu, (size_t)P * (size_t)I);
        cu_moe_matmul(b, &L->exp_down, o->eg, 1, o->ridx, P, NULL, o->ey);
    }
    cu_moe_combine(b, o->ey, o->rw, T, k, H, o->y);

    if (L->sh_gate.n_out > 0) { /* shared experts see every token */
        mlp(b, &L->sh_gate, &L->sh_up, &L->sh_down, o->xn, T, o->ys, o);
        cu_add(b, o->y, o->ys, (size_t)T * H);
    }
}

/* Uploads the batch's indices; fills db with device pointers. */
static fw_status upload_batch(fw_backend *b, const fw_batch *batch, int32_t max_blocks,
                              cu_dbatch *db, fw_err *err)
{
    const int32_t T = batch->n_tokens, S = batch->n_seqs, NL = batch->n_logits;
    const size_t n = 3 * (size_t)T + (size_t)NL + (size_t)S * (size_t)max_blocks;
    int32_t *h;

    if (n > b->hbuf_n) {
        int32_t *p = (int32_t *)realloc(b->hbuf, n * sizeof(int32_t));
        if (!p)
            return bk_err(err, FW_ERR_NOMEM, "forward: out of memory for %d tokens", T);
        b->hbuf = p;
        b->hbuf_n = n;
    }
    if (n > b->ibuf_n) {
        cudaFree(b->ibuf);
        b->ibuf = NULL;
        b->ibuf_n = 0;
        if (cudaMalloc((void **)&b->ibuf, n * sizeof(int32_t)) != cudaSuccess) {
            (void)cudaGetLastError();
            return bk_err(err, FW_ERR_NOMEM, "forward: no device memory for %d tokens", T);
        }
        b->ibuf_n = n;
    }
    h = b->hbuf;
    memcpy(h, batch->tokens, (size_t)T * sizeof(int32_t));
    memcpy(h + T, batch->pos, (size_t)T * sizeof(int32_t));
    memcpy(h + 2 * T, batch->seq, (size_t)T * sizeof(int32_t));
    if (NL > 0)
        memcpy(h + 3 * T, batch->logits_idx, (size_t)NL * sizeof(int32_t));
    int32_t *tab = h + 3 * T + NL;
    for (int32_t s = 0; s < S; s++) {
        int32_t nb = (batch->seq_len[s] + b->kv_block_size - 1) / b->kv_block_size;
        for (int32_t i = 0; i < max_blocks; i++)
            tab[(size_t)s * max_blocks + i] = i < nb ? batch->block_table[s][i] : 0;
    }
    db->n_tokens = T;
    db->n_seqs = S;
    db->n_logits = NL;
    db->max_blocks = max_blocks;
    db->tokens = b->ibuf;
    db->pos = b->ibuf + T;
    db->seq = b->ibuf + 2 * T;
    db->logits_idx = b->ibuf + 3 * T;
    db->tables = b->ibuf + 3 * T + NL;
    return cu_check(cudaMemcpyAsync(b->ibuf, h, n * sizeof(int32_t), cudaMemcpyHostToDevice,
                                    b->stream), err, "batch upload");
}

fw_status cu_forward(fw_backend *b, const fw_batch *batch, float *logits, fw_err *err)
{
    const fw_model_desc *d = &b->desc;
    int32_t max_blocks = 1;
    cu_dbatch db;
    bufs o;
    carve c = {NULL, 0};
    fw_status st = check_batch(b, batch, logits, &max_blocks, err);
    if (st != FW_OK)
        return st;

    const int32_t T = batch->n_tokens, H = d->hidden_size, NL = batch->n_logits;
    const float eps = d->rms_norm_eps;

    /* scratch: count, grow, carve */
    layout(b, T, NL, &c, &o);
    if (c.used > b->scratch_floats) {
        cudaFree(b->scratch);
        b->scratch = NULL;
        b->scratch_floats = 0;
        if (cudaMalloc((void **)&b->scratch, c.used * sizeof(float)) != cudaSuccess) {
            (void)cudaGetLastError();
            return bk_err(err, FW_ERR_NOMEM, "forward: %zu bytes of device scratch for %d tokens "
                          "do not fit", c.used * sizeof(float), T);
        }
        b->scratch_floats = c.used;
    }
    c.base = b->scratch;
    c.used = 0;
    layout(b, T, NL, &c, &o);
    if ((st = upload_batch(b, batch, max_blocks, &db, err)) != FW_OK)
        return st;

    /* token embeddings */
    cu_embed(b, db.tokens, T, o.x);

    for (int32_t l = 0; l < d->n_layers; l++) {
        const cu_layer *L = &b->layers[l];

        /* attention with a pre-norm and a residual */
        cu_rmsnorm(b, o.xn, o.x, L->attn_norm, T, H, H, H, eps);
        if (d->attn_kind == FW_ATTN_MLA)
            mla_attention(b, l, &db, &o);
        else
            gqa_attention(b, l, &db, &o);
        cu_add(b, o.x, o.y, (size_t)T * H);

        /* feed-forward: dense SwiGLU or routed experts (+ shared), with a residual */
        cu_rmsnorm(b, o.xn, o.x, L->ffn_norm, T, H, H, H, eps);
        if (L->is_moe)
            moe(b, L, T, &o);
        else
            mlp(b, &L->gate, &L->up, &L->down, o.xn, T, o.y, &o);
        cu_add(b, o.x, o.y, (size_t)T * H);
    }

    /* final norm and the LM head, only for the rows asked for */
    if (NL > 0) {
        cu_gather_rows(b, o.xg, o.x, db.logits_idx, NL, H);
        cu_rmsnorm(b, o.xg, o.xg, b->final_norm, NL, H, H, H, eps);
        cu_matmul(b, &b->lm_head, o.xg, NL, o.logits, o.xb);
    }
    if ((st = cu_check(cudaGetLastError(), err, "forward (kernel launch)")) != FW_OK)
        return st;
    if (NL > 0 && (st = cu_check(cudaMemcpyAsync(logits, o.logits,
                                                 (size_t)NL * (size_t)d->vocab_size * sizeof(float),
                                                 cudaMemcpyDeviceToHost, b->stream),
                                 err, "logits copy")) != FW_OK)
        return st;
    return cu_check(cudaStreamSynchronize(b->stream), err, "forward");
}
