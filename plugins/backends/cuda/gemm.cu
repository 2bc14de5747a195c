/* plugins/backends/cuda/gemm.cu -- y = x W^T: decode GEMV, expert GEMV, cuBLASLt GEMM.
 *
 * Decode (T < CU_GEMM_MIN_T, or any dtype cuBLASLt is not given here): one
 * warp per output row, 16-byte weight loads (8 values), up to CU_GEMV_MAX_T
 * tokens per launch so a weight row is read once for all of them; F32
 * accumulate, one warp reduction per token.  Memory-bound: the bytes are
 * the weights.  Prefill with BF16 weights: x is rounded to BF16 and cuBLASLt
 * multiplies with F32 accumulate and F32 output.  Experts: one warp per (row,
 * token-expert pair), the expert id read on the device, so routing never
 * waits for the host. */
#include "helpers.cuh"

#define GEMV_WARPS 8 /* rows per block */

/* y[t * ldy + r] = dot(W[r], x[t * K ..]) for t < NT; vector loads (n_in % 8 == 0). */
template <int NT, int DT>
__global__ void gemv_vec(cu_wview w, int32_t n_out, const float *__restrict__ x,
                         float *__restrict__ y, int32_t ldy)
{
    const int lane = threadIdx.x & 31;
    const int64_t r = (int64_t)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    const int64_t K = w.n_in;
    float acc[NT];

    if (r >= n_out)
        return;
    for (int t = 0; t < NT; t++)
        acc[t] = 0.0f;
    for (int64_t k = (int64_t)lane * 8; k < K; k += 32 * 8) {
        float wv[8];
        load8<DT>(w, r, k, wv);
        for (int t = 0; t < NT; t++) {
            const float4 *xp = (const float4 *)(x + t * K + k);
            float4 a = __ldg(xp), c = __ldg(xp + 1);
            acc[t] += wv[0] * a.x + wv[1] * a.y + wv[2] * a.z + wv[3] * a.w + wv[4] * c.x +
                      wv[5] * c.y + wv[6] * c.z + wv[7] * c.w;
        }
    }
    for (int t = 0; t < NT; t++) {
        float s = warp_sum(acc[t]);
        if (lane == 0)
            y[t * (int64_t)ldy + r] = s;
    }
}

/* The same one element at a time, for any n_in. */
__global__ void gemv_scalar(uint32_t dt, cu_wview w, int32_t n_out, int32_t nt,
                            const float *__restrict__ x, float *__restrict__ y, int32_t ldy)
{
    const int lane = threadIdx.x & 31;
    const int64_t r = (int64_t)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    const int64_t K = w.n_in;

    if (r >= n_out)
        return;
    for (int t = 0; t < nt; t++) {
        float acc = 0.0f;
        for (int64_t k = lane; k < K; k += 32)
            acc += load1(dt, w, r, k) * x[t * K + k];
        acc = warp_sum(acc);
        if (lane == 0)
            y[t * (int64_t)ldy + r] = acc;
    }
}

template <int DT>
static void gemv_launch(fw_backend *b, const cu_wview &w, int32_t n_out, const float *x, int nt,
                        float *y)
{
    dim3 grid((unsigned)((n_out + GEMV_WARPS - 1) / GEMV_WARPS)), block(32 * GEMV_WARPS);
    switch (nt) {
#define NT_CASE(n)                                                                                 \
    case n:                                                                                        \
        gemv_vec<n, DT><<<grid, block, 0, b->stream>>>(w, n_out, x, y, n_out);                    \
        break;
        NT_CASE(1) NT_CASE(2) NT_CASE(3) NT_CASE(4) NT_CASE(5) NT_CASE(6) NT_CASE(7) NT_CASE(8)
#undef NT_CASE
    default:
        break;
    }
}

static void gemv(fw_backend *b, const cu_mat *w, const float *x, int32_t T, float *y)
{
    cu_wview v = cu_view(w, 0);
    const int64_t K = w->n_in;

    for (int32_t t0 = 0; t0 < T; t0 += CU_GEMV_MAX_T) {
        int nt = T - t0 < CU_GEMV_MAX_T ? T - t0 : CU_GEMV_MAX_T;
        const float *xt = x + (int64_t)t0 * K;
        float *yt = y + (int64_t)t0 * w->n_out;
        if (K % 8) {
            dim3 grid((unsigned)((w->n_out + GEMV_WARPS - 1) / GEMV_WARPS));
            gemv_scalar<<<grid, 32 * GEMV_WARPS, 0, b->stream>>>(w->dtype, v, w->n_out, nt, xt,
                                                                 yt, w->n_out);
            continue;
        }
        switch (w->dtype) {
        case FW_DTYPE_BF16: gemv_launch<FW_DTYPE_BF16>(b, v, w->n_out, xt, nt, yt); break;
        case FW_DTYPE_F16: gemv_launch<FW_DTYPE_F16>(b, v, w->n_out, xt, nt, yt); break;
        case FW_DTYPE_F32: gemv_launch<FW_DTYPE_F32>(b, v, w->n_out, xt, nt, yt); break;
        case FW_DTYPE_F8_E4M3: gemv_launch<FW_DTYPE_F8_E4M3>(b, v, w->n_out, xt, nt, yt); break;
        default: gemv_launch<CU_DTYPE_MXFP4>(b, v, w->n_out, xt, nt, yt); break;
        }
    }
}

/* x = hi + lo to 16 mantissa bits: hi = bf16(x), lo = bf16(x - hi). */
__global__ void f32_to_bf16x2(const float *__restrict__ x, __nv_bfloat16 *__restrict__ hi,
                              __nv_bfloat16 *__restrict__ lo, size_t n)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        __nv_bfloat16 h = __float2bfloat16_rn(x[i]);
        hi[i] = h;
        lo[i] = __float2bfloat16_rn(x[i] - __bfloat162float(h));
    }
}

/* cuBLASLt, column-major view: W (n_out, K) row-major is a (K, n_out) column-major
 * matrix, so Y^T (n_out, T) = op(W)^T-as-stored (K x n_out, transposed) * X^T (K, T).
 * X is split into two BF16 halves and multiplied twice, Y = W hi + W lo (beta 1 on the
 * second): one BF16 rounding of X moved the logits of MoE models by up to 80% of their
 * range (a router's near tie flips, and a token gets other experts), while the split
 * keeps X to ~1e-5 at twice the tensor-core work.  xb holds hi, then lo from the next
 * 256-byte boundary (the alignment cuBLASLt's heuristic assumes by default).
 * Returns 0 when cuBLASLt ran; nonzero means "use the GEMV instead". */
static int gemm_lt(fw_backend *b, const cu_mat *w, const float *x, int32_t T, float *y,
                   __nv_bfloat16 *xb)
{
    const int64_t K = w->n_in, N = w->n_out;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t heur;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    int n_heur = 0, rc = 1;
    float alpha = 1.0f, beta = 0.0f, one = 1.0f;
    const size_t n = (size_t)T * (size_t)K, n_al = (n + 127) / 128 * 128;

    if (!b->lt || !xb)
        return 1;
    f32_to_bf16x2<<<(unsigned)((n + 255) / 256), 256, 0, b->stream>>>(x, xb, xb + n_al, n);
    if (cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F) ||
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta) ||
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb) ||
        cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, (uint64_t)K, (uint64_t)N, K) ||
        cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, (uint64_t)K, (uint64_t)T, K) ||
        cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, (uint64_t)N, (uint64_t)T, N) ||
        cublasLtMatmulPreferenceCreate(&pref) ||
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                             &b->lt_ws_bytes, sizeof b->lt_ws_bytes) ||
        cublasLtMatmulAlgoGetHeuristic(b->lt, op, la, lb, lc, lc, pref, 1, &heur, &n_heur) ||
        n_heur < 1)
        goto done;
    rc = cublasLtMatmul(b->lt, op, &alpha, w->data, la, xb, lb, &beta, y, lc, y, lc, &heur.algo,
                        b->lt_ws, b->lt_ws_bytes, b->stream) != CUBLAS_STATUS_SUCCESS ||
         cublasLtMatmul(b->lt, op, &alpha, w->data, la, xb + n_al, lb, &one, y, lc, y, lc,
                        &heur.algo, b->lt_ws, b->lt_ws_bytes, b->stream) != CUBLAS_STATUS_SUCCESS;
done:
    if (pref)
        cublasLtMatmulPreferenceDestroy(pref);
    if (lc)
        cublasLtMatrixLayoutDestroy(lc);
    if (lb)
        cublasLtMatrixLayoutDestroy(lb);
    if (la)
        cublasLtMatrixLayoutDestroy(la);
    if (op)
        cublasLtMatmulDescDestroy(op);
    return rc;
}

void cu_matmul(fw_backend *b, const cu_mat *w, const float *x, int32_t T, float *y, float *bf16_tmp)
{
    if (T <= 0 || w->n_out <= 0)
        return;
    /* cuBLASLt wants 16-byte aligned rows: n_in % 8 (BF16 in), n_out % 4 (F32 out) */
    if (T >= CU_GEMM_MIN_T && w->dtype == FW_DTYPE_BF16 && w->n_in % 8 == 0 &&
        w->n_out % 4 == 0 && gemm_lt(b, w, x, T, y, (__nv_bfloat16 *)bf16_tmp) == 0)
        return;
    gemv(b, w, x, T, y);
}

/* Experts: block (rows, pair); the pair's expert comes from idx on the device. */
template <int DT>
__global__ void moe_gemv(cu_mat w, const float *__restrict__ x, int32_t x_div,
                         const int32_t *__restrict__ idx, int32_t p0,
                         const float *__restrict__ bias, float *__restrict__ y)
{
    const int lane = threadIdx.x & 31;
    const int64_t r = (int64_t)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    const int64_t p = p0 + (int64_t)blockIdx.y, K = w.n_in;
    const int32_t e = idx[p];
    float acc = 0.0f;

    if (r >= w.n_out)
        return;
    if (e < 0 || e >= w.n_experts) { /* the router never does this; stay in bounds anyway */
        if (lane == 0)
            y[p * w.n_out + r] = 0.0f;
        return;
    }
    cu_wview v;
    v.data = w.data + (uint64_t)e * w.data_stride;
    v.scale = w.scale ? w.scale + (uint64_t)e * w.scale_stride : NULL;
    v.mx = w.mx ? w.mx + (uint64_t)e * w.scale_stride : NULL;
    v.n_in = w.n_in;
    v.blk_m = w.blk_m;
    v.blk_n = w.blk_n;
    v.scale_cols = w.scale_cols;
    const float *xp = x + (p / x_div) * K;
    if (K % 8 == 0) {
        for (int64_t k = (int64_t)lane * 8; k < K; k += 32 * 8) {
            float wv[8];
            load8<DT>(v, r, k, wv);
            for (int i = 0; i < 8; i++)
                acc += wv[i] * xp[k + i];
        }
    } else {
        for (int64_t k = lane; k < K; k += 32)
            acc += load1(DT, v, r, k) * xp[k];
    }
    acc = warp_sum(acc);
    if (lane == 0)
        y[p * w.n_out + r] = acc + (bias ? bias[(int64_t)e * w.n_out + r] : 0.0f);
}

void cu_moe_matmul(fw_backend *b, const cu_mat *w, const float *x, int32_t x_div,
                   const int32_t *idx, int32_t n_pairs, const float *bias, float *y)
{
    const unsigned gx = (unsigned)((w->n_out + GEMV_WARPS - 1) / GEMV_WARPS);
    for (int32_t p0 = 0; p0 < n_pairs; p0 += 65535) { /* gridDim.y limit */
        dim3 grid(gx, (unsigned)(n_pairs - p0 < 65535 ? n_pairs - p0 : 65535));
        switch (w->dtype) {
#define DT_CASE(dt)                                                                                \
    case dt:                                                                                       \
        moe_gemv<dt><<<grid, 32 * GEMV_WARPS, 0, b->stream>>>(*w, x, x_div, idx, p0, bias, y);    \
        break;
            DT_CASE(FW_DTYPE_BF16) DT_CASE(FW_DTYPE_F16) DT_CASE(FW_DTYPE_F32)
            DT_CASE(FW_DTYPE_F8_E4M3) DT_CASE(CU_DTYPE_MXFP4)
#undef DT_CASE
        default:
            break;
        }
    }
}
