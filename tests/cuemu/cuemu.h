/* tests/cuemu/cuemu.h -- CUDA on the CPU, for tests: force-included (g++ -include) when the
 * cuda backend's .cu sources are compiled as C++.
 *
 * The real CUDA headers give the types and host conversions (dim3, __nv_bfloat16,
 * __half, cudaError_t, cuBLASLt descriptors); cuemu.cc implements the runtime and
 * cuBLASLt calls the plugin makes, on host memory.  A kernel launch runs the grid
 * one block at a time; the block's threads are fibers on the calling OS thread, and
 * a fiber switches only at __syncthreads() and warp shuffles, so a run is
 * deterministic.  Launch syntax: tests/cuemu/cu2cc.sed rewrites
 *     k<<<grid, block, shm, stream>>>(args)
 * into
 *     cuemu_launch("k", cuemu_cfg(grid, block, shm, stream),
 *                  [&](auto &...cuemu_a) { k(cuemu_a...); }, args)
 * (the lambda lets template kernels deduce their parameters as nvcc does), and
 * `extern __shared__ T name[];` into a pointer to the launch's dynamic shared memory.
 *
 * What this proves and what not: see plugins/backends/cuda/README.md. */
#ifndef CUEMU_H
#define CUEMU_H

#ifndef __cplusplus
#error "cuemu.h is for C++ (the .cu sources compiled with g++ -x c++)"
#endif

/* Before the CUDA headers: they keep these when already defined (host_defines.h). */
#define __host__
#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__ static thread_local /* one block at a time per OS thread: shared by its fibers */
#define __launch_bounds__(...)

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <tuple>
#include <type_traits>
#include <utility>

/* The calling fiber's coordinates.  threadIdx is per fiber (a pointer switched by the
 * scheduler); the others are per launch. */
typedef struct cuemu_coords {
    uint3 thread, block;
    dim3 block_dim, grid_dim;
} cuemu_coords;
/* initial-exec: a dlopened module's TLS is otherwise reached through __tls_get_addr,
 * which was a quarter of the run time; one pointer fits the static TLS reserve. */
extern thread_local const cuemu_coords *cuemu_cur __attribute__((tls_model("initial-exec")));

#define threadIdx (cuemu_cur->thread)
#define blockIdx (cuemu_cur->block)
#define blockDim (cuemu_cur->block_dim)
#define gridDim (cuemu_cur->grid_dim)

/* Collectives: out of line, so nothing read before a switch is cached across it. */
void __syncthreads(void);
uint32_t cuemu_shfl_xor32(uint32_t mask, uint32_t v, int lane_mask, int width);
void *cuemu_dyn_shared(void);

static inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask, int width = 32)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    u = cuemu_shfl_xor32(mask, u, lane_mask, width);
    memcpy(&v, &u, 4);
    return v;
}
static inline int __shfl_xor_sync(unsigned mask, int v, int lane_mask, int width = 32)
{
    return (int)cuemu_shfl_xor32(mask, (uint32_t)v, lane_mask, width);
}

static inline float __uint_as_float(unsigned u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline float __int_as_float(int i)
{
    float f;
    memcpy(&f, &i, 4);
    return f;
}
template <typename T> static inline T __ldg(const T *p) { return *p; }

/* cuda_runtime.h's C++ overload, which it declares for nvcc only. */
template <class T> static inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, T *entry)
{
    return ::cudaFuncGetAttributes(a, (const void *)entry);
}

/* ---- launches ----------------------------------------------------------- */

typedef struct cuemu_config {
    dim3 grid, block;
    size_t shm;
    cudaStream_t stream;
} cuemu_config;

static inline cuemu_config cuemu_cfg(dim3 grid, dim3 block, size_t shm = 0, cudaStream_t s = 0)
{
    cuemu_config c = {grid, block, shm, s};
    return c;
}

/* Runs body(ctx) once per thread of the grid (see the file comment). */
void cuemu_run(const char *name, const cuemu_config *c, void (*body)(void *), void *ctx);

template <class F, class Tuple> struct cuemu_call {
    F *f;
    Tuple *args;
    static void run(void *p)
    {
        cuemu_call *c = (cuemu_call *)p;
        std::apply(*c->f, *c->args); /* the kernel copies its by-value parameters per thread */
    }
};

/* Arguments are evaluated and copied once, at the launch, as on a GPU. */
template <class F, class... A>
static inline void cuemu_launch(const char *name, cuemu_config c, F f, A &&...args)
{
    std::tuple<typename std::decay<A>::type...> t(std::forward<A>(args)...);
    cuemu_call<F, decltype(t)> call = {&f, &t};
    cuemu_run(name, &c, &cuemu_call<F, decltype(t)>::run, &call);
}

#endif
