/* tests/cuemu/cuemu.cc -- the emulator's runtime: kernel launches on fibers, the CUDA runtime
 * calls the cuda backend makes (host memory, synchronous streams), and cuBLASLt's
 * cublasLtMatmul for the one pattern the backend uses.
 *
 * Threads of a block are fibers on the launching OS thread; the scheduler resumes them
 * round-robin and a fiber gives up the CPU only inside a collective (__syncthreads, a
 * warp shuffle), so a run is deterministic.  Misuse that is undefined on a GPU is an
 * error here: a full-mask shuffle with a lane missing, a deadlocked barrier, an invalid
 * launch configuration, copies in the wrong direction, cuBLASLt arguments outside what
 * is emulated.  Kernel faults are sticky (as on a GPU): every later call fails.
 * Device memory is malloc'd and filled with 0xff (NaN as floats) so that reading
 * what was never written shows; under ASan, out-of-bounds device accesses are caught.
 * The device state (allocations, errors) is process-wide: one launching thread at a
 * time, as the backend does (one runner thread). */
#include "cuemu.h"

#include <map>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CUEMU_ASAN 1
#else
#define CUEMU_ASAN 0
#endif

/* The hand-written switch on x86-64; elsewhere (or with -DCUEMU_UCONTEXT, to test that
 * path) swapcontext. */
#if defined(__x86_64__) && !defined(CUEMU_UCONTEXT)
#define CUEMU_ASM_SWITCH 1
#else
#define CUEMU_ASM_SWITCH 0
#endif

thread_local const cuemu_coords *cuemu_cur __attribute__((tls_model("initial-exec")));

#define MAX_THREADS 1024
#define DYN_SHARED_MAX (48u << 10) /* without cudaFuncSetAttribute opt-in */
#define STACK_BYTES (CUEMU_ASAN ? (256u << 10) : (64u << 10))
#define MEM_TOTAL (8ull << 30)     /* the emulated device's memory */

/* ---- errors --------------------------------------------------------------- */

static cudaError_t g_last = cudaSuccess;   /* cleared by cudaGetLastError */
static cudaError_t g_sticky = cudaSuccess; /* a kernel fault: never cleared */

static cudaError_t fail(cudaError_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cuemu: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    g_last = e;
    return e;
}

#define STICKY()                                                                                   \
    do {                                                                                           \
        if (g_sticky != cudaSuccess)                                                               \
            return g_sticky;                                                                       \
    } while (0)

/* ---- stream order ------------------------------------------------------------ *
 * Work on the legacy default stream may still run when its call returns (cudaMemset;
 * cudaMemcpy to the device from pageable memory returns once the data is staged).  A
 * stream created with cudaStreamNonBlocking does not wait for it: using one before a
 * synchronisation is a race on a GPU, and an error here (everything here runs at once,
 * so only the order of calls can be checked). */

struct CUstream_st {
    int nonblocking;
};
struct CUevent_st {
    double ms;
};

static int g_legacy_pending; /* legacy-stream work not yet waited for */

static int ordered(cudaStream_t s, const char *what)
{
    if (!g_legacy_pending || !s || !s->nonblocking)
        return 1;
    fprintf(stderr, "cuemu: %s on a non-blocking stream while a cudaMemset/cudaMemcpy on the "
            "legacy stream may still run (no synchronisation in between)\n", what);
    g_sticky = g_last = cudaErrorIllegalState;
    return 0;
}

/* ---- fibers ---------------------------------------------------------------- */

typedef struct fiber {
    int done;
    int phase;               /* which shuffle slot set this lane writes next */
    void *sp;                /* saved stack pointer (x86-64 switch) */
    char *stack;
    cuemu_coords co;
    void *fake_stack;        /* ASan */
#if !CUEMU_ASM_SWITCH
    ucontext_t uc;
#endif
} fiber;

typedef struct warp {
    int arrived, lanes, exited;
    unsigned gen;
    uint32_t slot[2][32];
} warp;

/* One launching OS thread's block in flight. */
typedef struct block {
    fiber *f;
    char *stacks;            /* MAX_THREADS stacks with guard pages, mapped once */
    void *sched_sp;
    ucontext_t sched_uc;
    const void *sched_bottom;
    size_t sched_size;
    void *sched_fake;
    int n, alive, progress, failed;
    int bar_arrived;
    unsigned bar_gen;
    warp warps[MAX_THREADS / 32];
    fiber *cur;
    void (*body)(void *);
    void *ctx;
    const char *name;
    unsigned char *dyn;      /* dynamic shared memory */
} block;

static thread_local block *g_blk_p __attribute__((tls_model("initial-exec")));

#if CUEMU_ASM_SWITCH
/* cuemu_swap(save, load): pushes the callee-saved registers, stores rsp in *save,
 * loads rsp from load, pops and returns there.  A new fiber's stack is built to look
 * like a suspended one whose return address is fiber_main.  (swapcontext would make a
 * signal-mask system call per switch; a launch does hundreds of thousands.) */
extern "C" void cuemu_swap(void **save, void *load);
asm(".text\n"
    ".globl cuemu_swap\n"
    ".hidden cuemu_swap\n"
    ".type cuemu_swap,@function\n"
    "cuemu_swap:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size cuemu_swap, .-cuemu_swap\n");
#endif

static void fiber_main(void);

static void to_fiber(block *k, fiber *f)
{
#if CUEMU_ASAN
    __sanitizer_start_switch_fiber(&k->sched_fake, f->stack, STACK_BYTES);
#endif
#if CUEMU_ASM_SWITCH
    cuemu_swap(&k->sched_sp, f->sp);
#else
    swapcontext(&k->sched_uc, &f->uc);
#endif
#if CUEMU_ASAN
    __sanitizer_finish_switch_fiber(k->sched_fake, NULL, NULL);
#endif
}

/* From the running fiber back to the scheduler; returns when resumed (never when done). */
static void to_sched(block *k, fiber *f)
{
#if CUEMU_ASAN
    __sanitizer_start_switch_fiber(f->done ? NULL : &f->fake_stack, k->sched_bottom,
                                   k->sched_size);
#endif
#if CUEMU_ASM_SWITCH
    cuemu_swap(&f->sp, k->sched_sp);
#else
    swapcontext(&f->uc, &k->sched_uc);
#endif
#if CUEMU_ASAN
    __sanitizer_finish_switch_fiber(f->fake_stack, NULL, NULL);
#endif
}

static void fiber_init(block *k, fiber *f)
{
#if CUEMU_ASM_SWITCH
    uintptr_t top = ((uintptr_t)f->stack + STACK_BYTES) & ~(uintptr_t)15;
    void **sp = (void **)top;
    *--sp = NULL;                      /* fiber_main's (never used) return address */
    *--sp = (void *)&fiber_main;       /* where cuemu_swap returns to */
    for (int i = 0; i < 6; i++)
        *--sp = NULL;                  /* rbp rbx r12 r13 r14 r15 */
    f->sp = sp;
    (void)k;
#else
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = STACK_BYTES;
    f->uc.uc_link = &k->sched_uc;
    makecontext(&f->uc, fiber_main, 0);
#endif
}

static void block_fail(block *k, const char *fmt, ...)
{
    va_list ap;
    char msg[256];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!k->failed)
        fprintf(stderr, "cuemu: kernel %s, block (%u,%u,%u): %s\n", k->name,
                k->f[0].co.block.x, k->f[0].co.block.y, k->f[0].co.block.z, msg);
    k->failed = 1;
}

static void release_barrier_if_full(block *k)
{
    if (k->bar_arrived > 0 && k->bar_arrived == k->alive) {
        k->bar_arrived = 0;
        k->bar_gen++;
        k->progress = 1;
    }
}

static void fiber_main(void)
{
    block *k = g_blk_p;
    fiber *f = k->cur;
#if CUEMU_ASAN
    __sanitizer_finish_switch_fiber(NULL, &k->sched_bottom, &k->sched_size);
#endif
    k->body(k->ctx);
    f = k->cur;
    f->done = 1;
    k->alive--;
    k->progress = 1;
    warp *w = &k->warps[(f - k->f) / 32];
    w->exited++;
    release_barrier_if_full(k);
    to_sched(k, f);
    abort(); /* a finished fiber is never resumed */
}

/* Waits (switching) until *gen moves on; a failed block never resumes its fibers. */
static void wait_gen(block *k, const unsigned *gen, unsigned g, const warp *w)
{
    while (*gen == g) {
        if (w && w->exited)
            block_fail(k, "a full-mask warp shuffle waits for lanes that have exited");
        to_sched(k, k->cur);
    }
}

void __syncthreads(void)
{
    block *k = g_blk_p;
    unsigned g = k->bar_gen;
    k->bar_arrived++;
    k->progress = 1;
    release_barrier_if_full(k);
    wait_gen(k, &k->bar_gen, g, NULL);
}

uint32_t cuemu_shfl_xor32(uint32_t mask, uint32_t v, int lane_mask, int width)
{
    block *k = g_blk_p;
    fiber *f = k->cur;
    const int i = (int)(f - k->f), lane = i & 31;
    warp *w = &k->warps[i / 32];

    if (mask != 0xffffffffu || width != 32 || lane_mask < 0 || lane_mask > 31)
        block_fail(k, "shuffle: only the full mask, width 32 and lane masks 0..31 are emulated");
    if (w->lanes != 32)
        block_fail(k, "full-mask shuffle in a warp of %d threads (blockDim not a multiple of 32)",
                   w->lanes);
    const int ph = f->phase;
    f->phase ^= 1;
    w->slot[ph][lane] = v;
    unsigned g = w->gen;
    k->progress = 1;
    if (++w->arrived == 32) {
        w->arrived = 0;
        w->gen++;
    } else {
        wait_gen(k, &w->gen, g, w);
    }
    return w->slot[ph][lane ^ lane_mask];
}

void *cuemu_dyn_shared(void) { return g_blk_p->dyn; }

static int block_stacks(block *k)
{
    const size_t page = 4096, per = STACK_BYTES + page;
    if (k->stacks)
        return 1;
    char *p = (char *)mmap(NULL, per * MAX_THREADS, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    k->f = (fiber *)calloc(MAX_THREADS, sizeof(fiber));
    k->dyn = (unsigned char *)malloc(DYN_SHARED_MAX);
    if (!k->f || !k->dyn)
        return 0;
    for (int i = 0; i < MAX_THREADS; i++) {
        mprotect(p + i * per, page, PROT_NONE); /* a guard page below each stack */
        k->f[i].stack = p + i * per + page;
    }
    k->stacks = p;
    return 1;
}

static void run_block(block *k, const cuemu_config *c, uint3 bid)
{
    const dim3 bd = c->block;
    const int n = (int)(bd.x * bd.y * bd.z);

    k->n = n;
    k->alive = n;
    k->failed = 0;
    k->bar_arrived = 0;
    memset(k->warps, 0, sizeof k->warps);
    for (int i = 0; i < n; i++) {
        fiber *f = &k->f[i];
        f->co.thread.x = (unsigned)i % bd.x;
        f->co.thread.y = (unsigned)i / bd.x % bd.y;
        f->co.thread.z = (unsigned)i / (bd.x * bd.y);
        f->co.block = bid;
        f->co.block_dim = bd;
        f->co.grid_dim = c->grid;
        f->done = 0;
        f->phase = 0;
        f->fake_stack = NULL;
        k->warps[i / 32].lanes++;
        fiber_init(k, f);
    }
    memset(k->dyn, 0xff, c->shm); /* shared memory starts as garbage */
    /* A warp at a time: its lanes run (through their shuffles) until every one waits at a
     * block barrier or has exited, then the next warp runs; the warp order alternates
     * between rounds (and blocks start alternately).  So one warp gets as far ahead of
     * the others as the barriers allow, and a missing __syncthreads between a write and
     * another warp's read changes the result in one of the two orders. */
    const int n_warps = (n + 31) / 32;
    int rev = (int)((bid.x + bid.y + bid.z) & 1);
    while (k->alive > 0 && !k->failed) {
        int round_progress = 0;
        for (int wj = 0; wj < n_warps && !k->failed; wj++) {
            const int w = rev ? n_warps - 1 - wj : wj;
            const int lo = w * 32, hi = lo + 32 < n ? lo + 32 : n;
            do {
                k->progress = 0;
                for (int i = lo; i < hi && !k->failed; i++) {
                    if (k->f[i].done)
                        continue;
                    k->cur = &k->f[i];
                    cuemu_cur = &k->f[i].co;
                    to_fiber(k, &k->f[i]);
                }
                round_progress |= k->progress;
            } while (k->progress && !k->failed);
        }
        rev ^= 1;
        if (!round_progress && k->alive > 0)
            block_fail(k, "deadlock: %d threads wait at barriers that cannot complete", k->alive);
    }
    cuemu_cur = NULL;
}

void cuemu_run(const char *name, const cuemu_config *c, void (*body)(void *), void *ctx)
{
    block *k = g_blk_p ? g_blk_p : (g_blk_p = (block *)calloc(1, sizeof(block)));
    const dim3 g = c->grid, bd = c->block;
    const unsigned long long threads = (unsigned long long)bd.x * bd.y * bd.z;

    if (g_sticky != cudaSuccess || !ordered(c->stream, name))
        return;
    if (!g.x || !g.y || !g.z || !threads || threads > MAX_THREADS || bd.x > 1024 ||
        bd.y > 1024 || bd.z > 64 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) {
        fail(cudaErrorInvalidConfiguration, "kernel %s: invalid launch grid (%u,%u,%u) block "
             "(%u,%u,%u)", name, g.x, g.y, g.z, bd.x, bd.y, bd.z);
        return;
    }
    if (c->shm > DYN_SHARED_MAX) {
        fail(cudaErrorInvalidValue, "kernel %s: %zu bytes of dynamic shared memory (limit %u)",
             name, c->shm, DYN_SHARED_MAX);
        return;
    }
    if (!k || !block_stacks(k)) {
        fail(cudaErrorMemoryAllocation, "kernel %s: no memory for fiber stacks", name);
        return;
    }
    k->body = body;
    k->ctx = ctx;
    k->name = name;
    for (unsigned z = 0; z < g.z; z++)
        for (unsigned y = 0; y < g.y; y++)
            for (unsigned x = 0; x < g.x; x++) {
                uint3 bid = {x, y, z};
                run_block(k, c, bid);
                if (k->failed) {
                    g_sticky = g_last = cudaErrorLaunchFailure;
                    return;
                }
            }
}

/* ---- device memory ----------------------------------------------------------- */

static std::map<uintptr_t, size_t> g_allocs; /* base -> bytes */
static size_t g_used;

/* 1 when [p, p + n) lies inside one allocation. */
static int is_device(const void *p, size_t n)
{
    auto it = g_allocs.upper_bound((uintptr_t)p);
    if (it == g_allocs.begin())
        return 0;
    --it;
    return (uintptr_t)p >= it->first && (uintptr_t)p + n <= it->first + it->second;
}

cudaError_t cudaMalloc(void **p, size_t n)
{
    STICKY();
    if (!p)
        return fail(cudaErrorInvalidValue, "cudaMalloc: NULL");
    *p = NULL;
    if (n > MEM_TOTAL - g_used || posix_memalign(p, 256, n ? n : 1))
        return g_last = cudaErrorMemoryAllocation;
    memset(*p, 0xff, n);
    g_allocs[(uintptr_t)*p] = n;
    g_used += n;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    STICKY();
    if (!p)
        return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end())
        return fail(cudaErrorInvalidValue, "cudaFree(%p): not a device allocation", p);
    g_used -= it->second;
    g_allocs.erase(it);
    free(p);
    g_legacy_pending = 0; /* cudaFree synchronises the device */
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b)
{
    STICKY();
    *free_b = MEM_TOTAL - g_used;
    *total_b = MEM_TOTAL;
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind)
{
    STICKY();
    int dd = is_device(dst, n), sd = is_device(src, n);
    int ok = kind == cudaMemcpyHostToDevice   ? dd && !sd
             : kind == cudaMemcpyDeviceToHost ? !dd && sd
             : kind == cudaMemcpyDeviceToDevice ? dd && sd
             : kind == cudaMemcpyHostToHost   ? !dd && !sd
                                              : kind == cudaMemcpyDefault;
    if (!ok)
        return fail(cudaErrorInvalidValue, "cudaMemcpy of %zu bytes, kind %d: dst %s, src %s", n,
                    (int)kind, dd ? "device" : "host or out of bounds",
                    sd ? "device" : "host or out of bounds");
    if (n)
        memmove(dst, src, n);
    /* to the host it returns when done (and after earlier legacy work); else maybe not */
    g_legacy_pending = !(kind == cudaMemcpyDeviceToHost || (kind == cudaMemcpyDefault && !dd));
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind,
                            cudaStream_t s)
{
    int pending = g_legacy_pending;
    if (!ordered(s, "cudaMemcpyAsync"))
        return g_sticky;
    cudaError_t e = cudaMemcpy(dst, src, n, kind);
    g_legacy_pending = s ? pending : 1; /* an async copy on its own stream leaves it as it was */
    return e;
}

cudaError_t cudaMemset(void *p, int v, size_t n)
{
    STICKY();
    if (!is_device(p, n))
        return fail(cudaErrorInvalidValue, "cudaMemset of %zu bytes: not device memory", n);
    memset(p, v, n);
    g_legacy_pending = 1; /* asynchronous with respect to the host */
    return cudaSuccess;
}

/* ---- device, streams, events, errors ------------------------------------------- */

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int d)
{
    STICKY();
    return d == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice, "cudaSetDevice(%d)", d);
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int d)
{
    STICKY();
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties(%d)", d);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cuemu (CPU emulation)");
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 4;
    p->totalGlobalMem = MEM_TOTAL;
    p->warpSize = 32;
    p->maxThreadsPerBlock = MAX_THREADS;
    p->sharedMemPerBlock = DYN_SHARED_MAX;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, enum cudaDeviceAttr a, int d)
{
    STICKY();
    if (d != 0)
        return fail(cudaErrorInvalidDevice, "cudaDeviceGetAttribute: device %d", d);
    if (a == cudaDevAttrComputeCapabilityMajor)
        *v = 9;
    else if (a == cudaDevAttrComputeCapabilityMinor)
        *v = 0;
    else if (a == cudaDevAttrMultiProcessorCount)
        *v = 4;
    else
        return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute(%d): not emulated", (int)a);
    return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *a, const void *fn)
{
    STICKY();
    if (!fn)
        return fail(cudaErrorInvalidDeviceFunction, "cudaFuncGetAttributes(NULL)");
    memset(a, 0, sizeof *a);
    a->maxThreadsPerBlock = MAX_THREADS;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    STICKY();
    *s = (cudaStream_t)calloc(1, sizeof(struct CUstream_st));
    if (!*s)
        return cudaErrorMemoryAllocation;
    (*s)->nonblocking = (flags & cudaStreamNonBlocking) != 0;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    free(s);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    STICKY();
    if (!s)
        g_legacy_pending = 0;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    STICKY();
    g_legacy_pending = 0;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    STICKY();
    *e = (cudaEvent_t)calloc(1, sizeof(struct CUevent_st));
    return *e ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    free(e);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    struct timespec ts;
    (void)s;
    STICKY();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e->ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    (void)e;
    STICKY();
    return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    STICKY();
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = g_sticky != cudaSuccess ? g_sticky : g_last;
    g_last = cudaSuccess;
    return e;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported (cuemu: see the message above)";
    case cudaErrorIllegalState: return "illegal state (cuemu: see the message above)";
    default: return "unknown error";
    }
}

/* ---- cuBLASLt: D = alpha op(A) op(B) + beta C, column-major -------------------------- *
 * Emulated: CUBLAS_COMPUTE_32F with CUDA_R_32F scale, A and B both CUDA_R_16BF (C/D
 * CUDA_R_32F) or all CUDA_R_32F, op N or T, host alpha/beta, no batching, no epilogue.
 * Layouts describe matrices as stored: op(A) is m x k, so A's layout is (m, k) for
 * CUBLAS_OP_N and (k, m) for CUBLAS_OP_T.  Anything else is refused with a status. */

#define LT_MAGIC 0x43554c54u /* "CULT" */

typedef struct lt_desc {
    uint32_t magic;
    int32_t transa, transb;
} lt_desc;
typedef struct lt_layout {
    uint32_t magic;
    cudaDataType type;
    uint64_t rows, cols;
    int64_t ld;
} lt_layout;
typedef struct lt_pref {
    uint32_t magic;
    uint64_t workspace;
    uint32_t align[4]; /* A B C D */
} lt_pref;
static_assert(sizeof(lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "desc");
static_assert(sizeof(lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout");
static_assert(sizeof(lt_pref) <= sizeof(cublasLtMatmulPreferenceOpaque_t), "pref");

/* A refusal also poisons the emulated device: the plugin falls back to its GEMV when
 * cuBLASLt says no, and a test must not pass by never running the GEMM it meant to. */
static cublasStatus_t lt_refuse(cublasStatus_t st, const char *what)
{
    fprintf(stderr, "cuemu: cuBLASLt: %s\n", what);
    g_sticky = g_last = cudaErrorNotSupported;
    return st;
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h)
{
    *h = (cublasLtHandle_t)calloc(1, 16);
    return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h)
{
    free(h);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute,
                                        cudaDataType_t scale)
{
    if (compute != CUBLAS_COMPUTE_32F || scale != CUDA_R_32F)
        return lt_refuse(CUBLAS_STATUS_NOT_SUPPORTED, "only COMPUTE_32F with R_32F scale");
    *d = (cublasLtMatmulDesc_t)calloc(1, sizeof(cublasLtMatmulDescOpaque_t));
    if (!*d)
        return CUBLAS_STATUS_ALLOC_FAILED;
    lt_desc *x = (lt_desc *)*d;
    x->magic = LT_MAGIC;
    x->transa = x->transb = CUBLAS_OP_N;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d)
{
    free(d);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d,
                                              cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t n)
{
    lt_desc *x = (lt_desc *)d;
    int32_t v;
    if (!x || x->magic != LT_MAGIC)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (attr != CUBLASLT_MATMUL_DESC_TRANSA && attr != CUBLASLT_MATMUL_DESC_TRANSB)
        return lt_refuse(CUBLAS_STATUS_NOT_SUPPORTED, "matmul attribute not emulated");
    if (n != sizeof(int32_t)) /* documented as int32_t */
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "TRANSA/TRANSB: size is not 4");
    memcpy(&v, buf, 4);
    if (v != CUBLAS_OP_N && v != CUBLAS_OP_T)
        return lt_refuse(CUBLAS_STATUS_NOT_SUPPORTED, "only CUBLAS_OP_N and CUBLAS_OP_T");
    if (attr == CUBLASLT_MATMUL_DESC_TRANSA)
        x->transa = v;
    else
        x->transb = v;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType type,
                                          uint64_t rows, uint64_t cols, int64_t ld)
{
    if (type != CUDA_R_16BF && type != CUDA_R_32F)
        return lt_refuse(CUBLAS_STATUS_NOT_SUPPORTED, "layout type not emulated");
    *l = (cublasLtMatrixLayout_t)calloc(1, sizeof(cublasLtMatrixLayoutOpaque_t));
    if (!*l)
        return CUBLAS_STATUS_ALLOC_FAILED;
    lt_layout *x = (lt_layout *)*l;
    x->magic = LT_MAGIC;
    x->type = type;
    x->rows = rows;
    x->cols = cols;
    x->ld = ld;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l)
{
    free(l);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p)
{
    *p = (cublasLtMatmulPreference_t)calloc(1, sizeof(cublasLtMatmulPreferenceOpaque_t));
    if (!*p)
        return CUBLAS_STATUS_ALLOC_FAILED;
    lt_pref *x = (lt_pref *)*p;
    x->magic = LT_MAGIC;
    for (int i = 0; i < 4; i++)
        x->align[i] = 256; /* the documented default */
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p)
{
    free(p);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void *buf, size_t n)
{
    lt_pref *x = (lt_pref *)p;
    if (!x || x->magic != LT_MAGIC)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (attr == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES) {
        if (n != sizeof(uint64_t)) /* documented as uint64_t */
            return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "MAX_WORKSPACE_BYTES: size is not 8");
        memcpy(&x->workspace, buf, 8);
        return CUBLAS_STATUS_SUCCESS;
    }
    int i = attr == CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES   ? 0
            : attr == CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES ? 1
            : attr == CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES ? 2
            : attr == CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES ? 3
                                                                 : -1;
    if (i < 0)
        return lt_refuse(CUBLAS_STATUS_NOT_SUPPORTED, "preference attribute not emulated");
    if (n != sizeof(uint32_t))
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "MIN_ALIGNMENT: size is not 4");
    memcpy(&x->align[i], buf, 4);
    return CUBLAS_STATUS_SUCCESS;
}

/* The problem's m, n, k when the four layouts agree with the descriptor. */
static cublasStatus_t lt_shape(const lt_desc *op, const lt_layout *a, const lt_layout *b,
                               const lt_layout *c, const lt_layout *d, uint64_t *m, uint64_t *n,
                               uint64_t *k)
{
    if (!op || !a || !b || !c || !d || op->magic != LT_MAGIC || a->magic != LT_MAGIC ||
        b->magic != LT_MAGIC || c->magic != LT_MAGIC || d->magic != LT_MAGIC)
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "bad descriptor");
    const int bf = a->type == CUDA_R_16BF && b->type == CUDA_R_16BF && c->type == CUDA_R_32F &&
                   d->type == CUDA_R_32F;
    const int f32 = a->type == CUDA_R_32F && b->type == CUDA_R_32F && c->type == CUDA_R_32F &&
                    d->type == CUDA_R_32F;
    if (!bf && !f32)
        return lt_refuse(CUBLAS_STATUS_NOT_SUPPORTED, "type combination not emulated");
    *m = op->transa == CUBLAS_OP_N ? a->rows : a->cols;
    *k = op->transa == CUBLAS_OP_N ? a->cols : a->rows;
    const uint64_t kb = op->transb == CUBLAS_OP_N ? b->rows : b->cols;
    *n = op->transb == CUBLAS_OP_N ? b->cols : b->rows;
    if (kb != *k || c->rows != *m || c->cols != *n || d->rows != *m || d->cols != *n)
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "op(A) m x k, op(B) k x n, C/D m x n "
                         "do not agree");
    if (a->ld < (int64_t)a->rows || b->ld < (int64_t)b->rows || c->ld < (int64_t)c->rows ||
        d->ld < (int64_t)d->rows || !*m || !*n || !*k)
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "ld < rows (column-major) or empty");
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int req,
                                              cublasLtMatmulHeuristicResult_t res[], int *n_res)
{
    uint64_t m, n, k;
    const lt_pref *p = (const lt_pref *)pref;
    cublasStatus_t st;
    *n_res = 0;
    if (!h || req <= 0 || !p || p->magic != LT_MAGIC)
        return CUBLAS_STATUS_INVALID_VALUE;
    if ((st = lt_shape((const lt_desc *)op, (const lt_layout *)a, (const lt_layout *)b,
                       (const lt_layout *)c, (const lt_layout *)d, &m, &n, &k)))
        return st;
    memset(&res[0], 0, sizeof res[0]);
    res[0].algo.data[0] = LT_MAGIC;
    for (int i = 0; i < 4; i++) /* the algorithm assumes the alignment it was chosen for */
        res[0].algo.data[1 + i] = p->align[i];
    res[0].workspaceSize = 0;
    res[0].state = CUBLAS_STATUS_SUCCESS;
    res[0].wavesCount = 1.0f;
    *n_res = 1;
    return CUBLAS_STATUS_SUCCESS;
}

static float lt_load(cudaDataType t, const void *p, uint64_t i)
{
    if (t == CUDA_R_32F)
        return ((const float *)p)[i];
    uint16_t h;
    memcpy(&h, (const uint8_t *)p + 2 * i, 2);
    return __uint_as_float((uint32_t)h << 16);
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op_, const void *alpha_,
                              const void *A, cublasLtMatrixLayout_t a_, const void *B,
                              cublasLtMatrixLayout_t b_, const void *beta_, const void *C,
                              cublasLtMatrixLayout_t c_, void *D, cublasLtMatrixLayout_t d_,
                              const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_bytes,
                              cudaStream_t s)
{
    const lt_desc *op = (const lt_desc *)op_;
    const lt_layout *a = (const lt_layout *)a_, *b = (const lt_layout *)b_;
    const lt_layout *c = (const lt_layout *)c_, *d = (const lt_layout *)d_;
    const void *ptr[4] = {A, B, C, D};
    uint64_t m, n, k;
    cublasStatus_t st;
    (void)ws, (void)ws_bytes;

    if (g_sticky != cudaSuccess || !ordered(s, "cublasLtMatmul"))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (!h || !algo || algo->data[0] != LT_MAGIC)
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "no algorithm from the heuristic");
    if ((st = lt_shape(op, a, b, c, d, &m, &n, &k)))
        return st;
    const float alpha = *(const float *)alpha_, beta = *(const float *)beta_;
    if (C == D && memcmp(c, d, sizeof *c))
        return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "in place (C == D) needs Cdesc == Ddesc");
    for (int i = 0; i < 4; i++) {
        const lt_layout *l = i == 0 ? a : i == 1 ? b : i == 2 ? c : d;
        const size_t es = l->type == CUDA_R_32F ? 4 : 2;
        if (i == 2 && beta == 0.0f)
            continue; /* C is not read */
        if ((uintptr_t)ptr[i] % algo->data[1 + i])
            return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "a matrix is less aligned than the "
                             "preference (default 256 bytes) promised");
        if (!is_device(ptr[i], ((l->cols - 1) * (uint64_t)l->ld + l->rows) * es))
            return lt_refuse(CUBLAS_STATUS_INVALID_VALUE, "a matrix is not in device memory");
    }
    for (uint64_t j = 0; j < n; j++)
        for (uint64_t i = 0; i < m; i++) {
            float acc = 0.0f;
            for (uint64_t p = 0; p < k; p++) {
                uint64_t ia = op->transa == CUBLAS_OP_N ? i + p * a->ld : p + i * a->ld;
                uint64_t ib = op->transb == CUBLAS_OP_N ? p + j * b->ld : j + p * b->ld;
                acc += lt_load(a->type, A, ia) * lt_load(b->type, B, ib);
            }
            float *dp = (float *)D + i + j * d->ld;
            float cv = beta != 0.0f ? ((const float *)C)[i + j * c->ld] : 0.0f;
            *dp = alpha * acc + beta * cv;
        }
    return CUBLAS_STATUS_SUCCESS;
}
