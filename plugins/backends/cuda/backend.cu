/* plugins/backends/cuda/backend.cu -- the cuda backend: vtable, entry, probe, init, device
 * memory, the stream; no kernels.
 *
 * Config (the plugin's YAML subtree): device (CUDA ordinal, default 0).
 * Extras through get_proc (for bench/gpu-decode; typedefs in cuda_extras below):
 *   "cuda_copy_bandwidth"  double fn(fw_backend *, uint64_t bytes): device-to-device
 *                          cudaMemcpy, bytes read + written per second (best of 10)
 *   "cuda_gemm_peak"       double fn(fw_backend *, int32_t m, int32_t n, int32_t k):
 *                          the prefill GEMM (cu_matmul: x split into two BF16 halves, two
 *                          cuBLASLt BF16 GEMMs, F32 accumulate) in FLOP/s of the one
 *                          m x n x k product (best of 10) */
#include "backend_cuda.h"
#include "cuda_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const fw_host_api *cu_host;

#define LT_WORKSPACE_BYTES (32u << 20)

fw_status cu_check(cudaError_t e, fw_err *err, const char *what)
{
    if (e == cudaSuccess)
        return FW_OK;
    (void)cudaGetLastError(); /* clear a non-sticky error so the next call starts clean */
    return bk_err(err, e == cudaErrorMemoryAllocation ? FW_ERR_NOMEM : FW_ERR_IO, "cuda: %s: %s",
                  what, cudaGetErrorString(e));
}

/* An empty kernel: if the runtime cannot find its image for the device's
 * architecture (built for sm_80/sm_90 only), the plugin cannot run here. */
__global__ void probe_kernel(void) {}

/* 0 (skip, not an error) without a usable sm_80+ device; else beats the cpu backend. */
static int32_t cu_probe(void)
{
    int n = 0, major = 0;
    cudaFuncAttributes fa;

    if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
        (void)cudaGetLastError();
        return 0;
    }
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess ||
        major < 8 || cudaFuncGetAttributes(&fa, probe_kernel) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return 100;
}

static fw_status cu_init(const fw_config_node *cfg, fw_backend **out, fw_err *err)
{
    fw_backend *b;
    int64_t device = 0;
    int n = 0;
    cudaDeviceProp prop;
    fw_status st;

    if (!out)
        return bk_err(err, FW_ERR_INVALID, "init: out is NULL");
    *out = NULL;
    if (cfg && cu_host && FW_HAS(cu_host, fw_host_api, cfg_i64)) {
        int rc = cu_host->cfg_i64(cfg, "device", &device);
        if (rc < 0 || (rc == 0 && (device < 0 || device > 1024)))
            return bk_err(err, FW_ERR_INVALID, "device: expected a CUDA device ordinal");
        if (rc == 1)
            device = 0;
    }
    if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
        (void)cudaGetLastError();
        return bk_err(err, FW_ERR_UNSUPPORTED, "cuda: no CUDA device");
    }
    if (device >= n)
        return bk_err(err, FW_ERR_INVALID, "device %lld: only %d CUDA devices", (long long)device, n);
    if ((st = cu_check(cudaSetDevice((int)device), err, "cudaSetDevice")) != FW_OK)
        return st;
    if ((st = cu_check(cudaGetDeviceProperties(&prop, (int)device), err, "device properties")))
        return st;
    if (!(b = (fw_backend *)calloc(1, sizeof *b)))
        return bk_err(err, FW_ERR_NOMEM, "out of memory");
    b->device = (int32_t)device;
    b->n_sms = prop.multiProcessorCount;
    snprintf(b->device_name, sizeof b->device_name, "%.80s (sm_%d%d)", prop.name, prop.major,
             prop.minor);
    b->stats.struct_size = sizeof b->stats;
    st = cu_check(cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking), err, "stream");
    if (st == FW_OK && cublasLtCreate(&b->lt) != CUBLAS_STATUS_SUCCESS) {
        b->lt = NULL;
        st = bk_err(err, FW_ERR_IO, "cuda: cublasLtCreate failed");
    }
    if (st == FW_OK)
        st = cu_check(cudaMalloc(&b->lt_ws, LT_WORKSPACE_BYTES), err, "cuBLASLt workspace");
    if (st != FW_OK) {
        if (b->lt)
            cublasLtDestroy(b->lt);
        if (b->stream)
            cudaStreamDestroy(b->stream);
        free(b);
        return st;
    }
    b->lt_ws_bytes = LT_WORKSPACE_BYTES;
    if (cu_host && cu_host->log)
        cu_host->log(FW_LOG_INFO, "cuda", "device %d: %s, %d SMs, %.1f GiB", b->device,
                     b->device_name, b->n_sms, (double)prop.totalGlobalMem / (1 << 30));
    *out = b;
    return FW_OK;
}

static void cu_destroy(fw_backend *b)
{
    if (!b)
        return;
    cudaSetDevice(b->device);
    if (b->stream)
        cudaStreamSynchronize(b->stream);
    cudaFree(b->arena);
    cudaFree(b->inv_freq);
    cudaFree(b->kv);
    cudaFree(b->scratch);
    cudaFree(b->ibuf);
    cudaFree(b->lt_ws);
    if (b->lt)
        cublasLtDestroy(b->lt);
    if (b->stream)
        cudaStreamDestroy(b->stream);
    free(b->layers);
    free(b->hbuf);
    free(b);
}

static fw_status cu_supports(fw_backend *b, const fw_model_desc *d, fw_err *err)
{
    (void)b;
    return bk_supports(d, CU_MAX_HEAD, "cuda", err);
}

static void free_weights(fw_backend *b)
{
    cudaFree(b->arena);
    cudaFree(b->inv_freq);
    b->arena = NULL;
    b->inv_freq = NULL;
    b->arena_bytes = 0;
    free(b->layers);
    b->layers = NULL;
}

static fw_status cu_load_weights(fw_backend *b, const fw_model_desc *d,
                                 const fw_tensor_view *views, int32_t n_views, fw_err *err)
{
    bk_attn_dims dims;
    fw_status st;

    if (!b)
        return bk_err(err, FW_ERR_INVALID, "load_weights: no backend");
    if (b->loaded)
        return bk_err(err, FW_ERR_INVALID, "load_weights: already loaded");
    if ((st = cu_supports(b, d, err)) != FW_OK)
        return st;
    cudaSetDevice(b->device);
    b->desc = *d;
    bk_attn_dims_init(d, &dims);
    b->kv_heads = dims.kv_heads;
    b->k_dim = dims.k_dim;
    b->v_dim = dims.v_dim;
    b->kv_tok = dims.kv_tok;
    b->attn_scale = dims.attn_scale;
    /* cudaMemcpy from pageable memory may return before its DMA lands, and the forward
     * stream is non-blocking: wait for every upload before the first forward. */
    if ((st = cu_rope_init(b, err)) != FW_OK ||
        (st = cu_bind_weights(b, d, views, n_views, err)) != FW_OK ||
        (st = cu_check(cudaDeviceSynchronize(), err, "weight upload")) != FW_OK) {
        free_weights(b);
        return st;
    }
    b->stats.weight_bytes = b->weight_bytes;
    b->loaded = 1;
    return FW_OK;
}

static fw_status cu_kv_alloc(fw_backend *b, fw_kv_layout *layout, fw_err *err)
{
    uint64_t bpb, elem, n;
    size_t free_b = 0, total_b = 0;
    fw_status st;

    if (!b || !b->loaded)
        return bk_err(err, FW_ERR_INVALID, "kv_alloc before load_weights");
    if ((st = bk_kv_layout_check(layout, err)) != FW_OK)
        return st;
    if (layout->dtype == FW_DTYPE_F32)
        elem = 4;
    else if (layout->dtype == FW_DTYPE_BF16 || layout->dtype == FW_DTYPE_F16)
        elem = 2;
    else
        return bk_err(err, FW_ERR_UNSUPPORTED, "kv dtype %u: the cuda backend stores F32, BF16 "
                      "or F16", layout->dtype);
    cudaSetDevice(b->device);
    if ((st = bk_kv_plan(layout, b->desc.n_layers, b->kv_tok, elem, &n, err)) != FW_OK)
        return st;
    bpb = layout->bytes_per_block;
    cudaFree(b->kv);
    b->kv = NULL;
    b->kv_n_blocks = 0;
    b->stats.kv_bytes = 0;
    if (cudaMalloc(&b->kv, (size_t)(n * bpb)) != cudaSuccess) {
        (void)cudaGetLastError();
        b->kv = NULL;
        cudaMemGetInfo(&free_b, &total_b);
        return bk_err(err, FW_ERR_NOMEM, "kv: %llu blocks of %llu bytes need %llu bytes of device "
                      "memory, %llu free of %llu", (unsigned long long)n, (unsigned long long)bpb,
                      (unsigned long long)(n * bpb), (unsigned long long)free_b,
                      (unsigned long long)total_b);
    }
    /* cudaMemset runs on the legacy stream, which the non-blocking forward stream does not
     * wait for: finish the clear here, or a first forward could race it. */
    st = cu_check(cudaMemset(b->kv, 0, (size_t)(n * bpb)), err, "kv clear");
    if (st == FW_OK)
        st = cu_check(cudaDeviceSynchronize(), err, "kv clear");
    if (st != FW_OK)
        return st;
    b->kv_dtype = layout->dtype;
    b->kv_block_size = layout->block_size;
    b->kv_n_blocks = (int32_t)n;
    b->kv_block_bytes = bpb;
    layout->n_blocks = (int32_t)n;
    b->stats.kv_bytes = n * bpb;
    return FW_OK;
}

static fw_status cu_kv_copy(fw_backend *b, int32_t src, int32_t dst, fw_err *err)
{
    fw_status st;

    if (!b || !b->kv)
        return bk_err(err, FW_ERR_INVALID, "kv_copy before kv_alloc");
    if ((st = bk_kv_copy_check(src, dst, b->kv_n_blocks, err)) != FW_OK)
        return st;
    if (src == dst)
        return FW_OK;
    cudaSetDevice(b->device);
    /* a block is contiguous (all layers); ordered on the stream before the next forward */
    return cu_check(cudaMemcpyAsync((uint8_t *)b->kv + (size_t)dst * b->kv_block_bytes,
                                    (const uint8_t *)b->kv + (size_t)src * b->kv_block_bytes,
                                    (size_t)b->kv_block_bytes, cudaMemcpyDeviceToDevice,
                                    b->stream), err, "kv_copy");
}

static fw_status cu_forward_entry(fw_backend *b, const fw_batch *batch, float *logits, fw_err *err)
{
    uint64_t t0 = bk_now_ns(cu_host);
    fw_status st;

    if (!b)
        return bk_err(err, FW_ERR_INVALID, "forward: no backend");
    cudaSetDevice(b->device);
    st = cu_forward(b, batch, logits, err);
    if (st == FW_OK)
        bk_stats_forward(&b->stats, cu_host, batch->n_tokens, t0);
    return st;
}

static void cu_stats(fw_backend *b, fw_backend_stats *out)
{
    size_t free_b = 0, total_b = 0;
    if (!b || !out)
        return;
    cudaSetDevice(b->device);
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        b->stats.mem_free_bytes = free_b;
        b->stats.mem_total_bytes = total_b;
    } else {
        (void)cudaGetLastError();
    }
    bk_stats_copy(&b->stats, out);
}

/* ---- get_proc extras (benchmarks) ---------------------------------------- */

static double copy_bandwidth(fw_backend *b, uint64_t bytes)
{
    void *src = NULL, *dst = NULL;
    cudaEvent_t e0, e1;
    double best = 0;

    cudaSetDevice(b->device);
    if (cudaMalloc(&src, bytes) != cudaSuccess || cudaMalloc(&dst, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        cudaFree(src);
        return 0;
    }
    cudaMemset(src, 1, bytes);
    cudaDeviceSynchronize(); /* the legacy-stream memset before the non-blocking stream */
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (int rep = 0; rep < 11; rep++) {
        float ms = 0;
        cudaEventRecord(e0, b->stream);
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, b->stream);
        cudaEventRecord(e1, b->stream);
        cudaEventSynchronize(e1);
        cudaEventElapsedTime(&ms, e0, e1);
        if (rep > 0 && ms > 0 && 2.0 * (double)bytes / (ms * 1e-3) > best) /* rep 0 warms up */
            best = 2.0 * (double)bytes / (ms * 1e-3);
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(src);
    cudaFree(dst);
    return best;
}

static double gemm_peak(fw_backend *b, int32_t m, int32_t n, int32_t k)
{
    cu_mat w;
    float *x = NULL, *y = NULL, *xb = NULL;
    void *wd = NULL;
    cudaEvent_t e0, e1;
    double best = 0;

    if (m < CU_GEMM_MIN_T || n <= 0 || k <= 0 || k % 8 || n % 4)
        return 0;
    cudaSetDevice(b->device);
    if (cudaMalloc(&wd, (size_t)n * k * 2) != cudaSuccess ||
        cudaMalloc((void **)&x, (size_t)m * k * 4) != cudaSuccess ||
        cudaMalloc((void **)&xb, (size_t)m * k * 4 + 256) != cudaSuccess || /* x as 2 BF16 halves */
        cudaMalloc((void **)&y, (size_t)m * n * 4) != cudaSuccess) {
        (void)cudaGetLastError();
        cudaFree(wd), cudaFree(x), cudaFree(xb), cudaFree(y);
        return 0;
    }
    cudaMemset(wd, 0, (size_t)n * k * 2);
    cudaMemset(x, 0, (size_t)m * k * 4);
    cudaDeviceSynchronize();
    memset(&w, 0, sizeof w);
    w.dtype = FW_DTYPE_BF16;
    w.n_out = n;
    w.n_in = k;
    w.n_experts = 1;
    w.data = (const uint8_t *)wd;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (int rep = 0; rep < 11; rep++) {
        float ms = 0;
        cudaEventRecord(e0, b->stream);
        cu_matmul(b, &w, x, m, y, xb); /* includes the F32 -> BF16 rounding of x, as forward */
        cudaEventRecord(e1, b->stream);
        cudaEventSynchronize(e1);
        cudaEventElapsedTime(&ms, e0, e1);
        if (rep > 0 && ms > 0 && 2.0 * m * n * (double)k / (ms * 1e-3) > best)
            best = 2.0 * m * n * (double)k / (ms * 1e-3);
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(wd), cudaFree(x), cudaFree(xb), cudaFree(y);
    return best;
}

static void *cu_get_proc(fw_backend *b, const char *name)
{
    (void)b;
    if (name && !strcmp(name, "cuda_copy_bandwidth"))
        return reinterpret_cast<void *>(&copy_bandwidth);
    if (name && !strcmp(name, "cuda_gemm_peak"))
        return reinterpret_cast<void *>(&gemm_peak);
    return NULL;
}

static const fw_backend_vtable cu_vtable = {
    sizeof(fw_backend_vtable), cu_probe,       cu_init,  cu_destroy, cu_supports, cu_load_weights,
    cu_kv_alloc,               cu_kv_copy,     cu_forward_entry, cu_stats, cu_get_proc,
};

static const fw_plugin_desc cu_desc = {
    sizeof(fw_plugin_desc), FW_ABI_MAJOR, FW_ABI_MINOR, FW_PLUGIN_BACKEND, "cuda", "0.1.0",
    &cu_vtable,
};

extern "C" const fw_plugin_desc *fw_backend_cuda_desc(const fw_host_api *host)
{
    if (!host || host->abi_major != FW_ABI_MAJOR)
        return NULL;
    cu_host = host;
    return &cu_desc;
}

extern "C" {
FW_PLUGIN_DEFINE(fw_backend_cuda_desc)
}
