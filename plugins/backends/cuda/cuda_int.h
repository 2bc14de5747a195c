/* plugins/backends/cuda/cuda_int.h -- private to the cuda backend: weights, KV, launches.
 *
 * Weights are uploaded once into one device arena, as stored: BF16/F16/F32
 * matrices unchanged, FP8 E4M3 with its block scales widened to F32, MXFP4
 * experts packed (e2m1 pairs + e8m0 scales).  Norm weights and biases are
 * small and widened to F32.  Activations are F32 on the device; prefill
 * GEMMs split them into two BF16 halves for cuBLASLt (hi + lo, F32 accumulate:
 * ~16 mantissa bits), decode GEMVs read the weights as stored and accumulate
 * in F32.
 *
 * Everything runs on one stream per backend; forward() synchronises once,
 * when the logits are copied back.  All sources are .cu (C++), the plugin
 * exposes only the C vtable. */
#ifndef FW_CUDA_H
#define FW_CUDA_H

#include <fireworks/backend.h>

#include "../common/bk_check.h"
#include "../common/bk_rope.h"
#include "../common/bk_tensors.h"
#include "../common/bk_util.h"

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

/* The plugin's one global: the host table it was given (set by the desc function). */
extern const fw_host_api *cu_host;

#define CU_DTYPE_MXFP4 100 /* private: packed e2m1 pairs + e8m0 scale per 32 values */
#define CU_MAX_HEAD 512    /* largest k_dim / v_dim the attention kernel holds */
#define CU_GEMV_MAX_T 8    /* tokens per GEMV launch: the weight row is read once for them */
#define CU_GEMM_MIN_T 16   /* at or above this many rows, BF16 weights go through cuBLASLt */

/* A weight matrix y = x W^T (n_out rows of n_in values, row-major), or a set of
 * n_experts such matrices laid out one after the other in device memory. */
typedef struct cu_mat {
    uint32_t dtype;          /* fw_dtype (F32, F16, BF16, F8_E4M3) or CU_DTYPE_MXFP4 */
    int32_t n_out;           /* rows: output features */
    int32_t n_in;            /* columns: input features */
    int32_t n_experts;       /* 1 for a plain matrix */
    const uint8_t *data;     /* device: (n_out, n_in) elements; MXFP4: (n_out, n_in / 2) bytes */
    const float *scale;      /* device, FP8: (ceil(n_out / blk_m), scale_cols) scale_inv */
    const uint8_t *mx;       /* device, MXFP4: (n_out, n_in / 32) e8m0 exponents */
    uint64_t data_stride;    /* bytes from one expert's data to the next */
    uint64_t scale_stride;   /* FP8: floats, MXFP4: bytes from one expert's scales to the next */
    int32_t blk_m, blk_n;    /* FP8 block size */
    int32_t scale_cols;      /* FP8: ceil(n_in / blk_n) */
    int32_t reserved;
} cu_mat;

typedef struct cu_layer {
    float *attn_norm;        /* (hidden) */
    float *ffn_norm;         /* (hidden) */
    int32_t window;          /* sliding window in tokens, 0 = full */
    int32_t is_moe;

    /* GQA attention */
    cu_mat q, k, v, o;       /* (n_heads*hd, hidden) (n_kv*hd, hidden) x2, (hidden, n_heads*hd) */
    float *q_bias, *k_bias, *v_bias, *o_bias; /* NULL when absent */
    float *q_norm, *k_norm;  /* (head_dim) per-head RMSNorm, NULL when absent */
    float *sinks;            /* (n_heads) learned sink logits, NULL when absent */

    /* MLA attention (q above is q_proj when there is no q LoRA) */
    cu_mat q_a, q_b;         /* (q_lora, hidden), (n_heads * qk_head, q_lora) */
    float *q_a_norm;         /* (q_lora) */
    cu_mat kv_a;             /* (kv_lora + rope, hidden) */
    float *kv_a_norm;        /* (kv_lora) */
    cu_mat kv_b;             /* (n_heads * (nope + v_head), kv_lora) */

    /* dense feed-forward and the shared expert (n_out 0 when absent) */
    cu_mat gate, up, down;   /* (inter, hidden) x2, (hidden, inter) */
    cu_mat sh_gate, sh_up, sh_down;

    /* routed experts: one cu_mat holds all n_experts */
    cu_mat router;           /* (n_experts, hidden) */
    float *router_bias;      /* (n_experts) gpt-oss */
    float *score_bias;       /* (n_experts) e_score_correction_bias */
    cu_mat exp_gate, exp_up, exp_down; /* E x (moe_inter, hidden), E x (hidden, moe_inter) */
    cu_mat exp_gate_up;      /* gpt-oss: E x (2 * inter, hidden), gate/up rows interleaved */
    float *exp_gate_up_bias; /* gpt-oss: (n_experts, 2 * inter) */
    float *exp_down_bias;    /* gpt-oss: (n_experts, hidden) */
} cu_layer;

/* The batch's index arrays on the device (one upload per forward). */
typedef struct cu_dbatch {
    int32_t n_tokens, n_seqs, n_logits, max_blocks;
    const int32_t *tokens;   /* (n_tokens) */
    const int32_t *pos;      /* (n_tokens) */
    const int32_t *seq;      /* (n_tokens) */
    const int32_t *logits_idx; /* (n_logits) */
    const int32_t *tables;   /* (n_seqs, max_blocks) block ids, padded with 0 */
} cu_dbatch;

struct fw_backend {
    fw_model_desc desc;      /* copy; its arrays are the core's (live as long as the model) */
    int32_t loaded;
    int32_t device;          /* CUDA device ordinal */
    int32_t n_sms;
    char device_name[96];
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *lt_ws;             /* cuBLASLt workspace */
    size_t lt_ws_bytes;

    uint8_t *arena;          /* every weight, one allocation */
    uint64_t arena_bytes;
    cu_mat embed;            /* (vocab, hidden) */
    cu_mat lm_head;          /* (vocab, hidden); the embedding when tied */
    float *final_norm;       /* (hidden) */
    cu_layer *layers;        /* (n_layers), host array of device pointers */
    int32_t max_in;          /* largest n_in of any matrix (BF16 staging for cuBLASLt) */

    /* rotary */
    int32_t rot_dim;         /* rotated dims per head */
    float *inv_freq;         /* device (rot_dim / 2) */
    float rope_attn_factor;  /* YaRN: scales cos and sin */
    float attn_scale;        /* softmax scale */

    /* paged KV: block b, layer l, slot s at kv + ((b * n_layers + l) * block_size + s) * kv_tok
     * elements of kv_dtype; a slot holds K (kv_heads, k_dim) then V (kv_heads, v_dim). */
    int32_t kv_heads, k_dim, v_dim, kv_tok;
    uint32_t kv_dtype;       /* F32, BF16 or F16 */
    void *kv;
    int32_t kv_block_size;
    int32_t kv_n_blocks;
    uint64_t kv_block_bytes;

    /* forward scratch, grown on demand */
    float *scratch;          /* device */
    size_t scratch_floats;
    int32_t *ibuf;           /* device batch indices */
    size_t ibuf_n;
    int32_t *hbuf;           /* host staging for ibuf */
    size_t hbuf_n;

    fw_backend_stats stats;
    uint64_t weight_bytes;   /* as uploaded */
};

/* backend.cu */
/* FW_OK, or FW_ERR_IO naming what failed and CUDA's message. */
fw_status cu_check(cudaError_t e, fw_err *err, const char *what);

/* weights.cu */
fw_status cu_bind_weights(fw_backend *b, const fw_model_desc *d, const fw_tensor_view *views,
                          int32_t n_views, fw_err *err);
fw_status cu_rope_init(fw_backend *b, fw_err *err);

/* gemm.cu: y (T, n_out) = x (T, n_in) W^T; expert 0 of a set. */
void cu_matmul(fw_backend *b, const cu_mat *w, const float *x, int32_t T, float *y, float *bf16_tmp);
/* Experts: y (n_pairs, n_out) row p = W[idx[p]] x[p / x_div] (+ bias[idx[p]]). */
void cu_moe_matmul(fw_backend *b, const cu_mat *w, const float *x, int32_t x_div,
                   const int32_t *idx, int32_t n_pairs, const float *bias, float *y);

/* kernels.cu: small kernels, all on b->stream. */
void cu_embed(fw_backend *b, const int32_t *tokens, int32_t T, float *x);
void cu_rmsnorm(fw_backend *b, float *out, const float *x, const float *w, int32_t rows, int32_t n,
                int32_t in_stride, int32_t out_stride, float eps);
void cu_add_bias(fw_backend *b, float *y, const float *bias, int32_t rows, int32_t n);
void cu_add(fw_backend *b, float *x, const float *y, size_t n);
void cu_rope(fw_backend *b, float *x, int32_t T, int32_t n_heads, int32_t head_stride,
             int32_t tok_stride, const int32_t *pos);
void cu_silu_mul(fw_backend *b, float *g, const float *u, size_t n);
void cu_oai_act(fw_backend *b, const float *gu, float *h, int32_t rows, int32_t inter);
void cu_gather_rows(fw_backend *b, float *dst, const float *src, const int32_t *idx, int32_t n,
                    int32_t width);
void cu_mla_assemble(fw_backend *b, const float *kvb, const float *ckv, float *K, float *V,
                     int32_t T);
void cu_route(fw_backend *b, const cu_layer *L, const float *logits, int32_t T, float *tmp,
              int32_t *idx, float *w);
void cu_moe_combine(fw_backend *b, const float *y, const float *w, int32_t T, int32_t k, int32_t H,
                    float *out);
void cu_kv_store(fw_backend *b, int32_t layer, const cu_dbatch *db, const float *k, const float *v);
void cu_attention(fw_backend *b, int32_t layer, const cu_dbatch *db, const float *q, float *out,
                  int32_t n_heads, int32_t window, const float *sinks);

/* forward.cu */
fw_status cu_forward(fw_backend *b, const fw_batch *batch, float *logits, fw_err *err);

#endif
