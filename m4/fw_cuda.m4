# FW_CHECK_CUDA: --with-cuda[=DIR] (default: when nvcc is found). AM_CONDITIONAL HAVE_CUDA.
AC_DEFUN([FW_CHECK_CUDA], [
  AC_ARG_WITH([cuda],
    [AS_HELP_STRING([--with-cuda@<:@=DIR@:>@], [build the cuda backend (default: when nvcc is found)])],
    [], [with_cuda=check])
  AC_ARG_VAR([NVCC], [CUDA compiler])
  AC_ARG_VAR([CUDA_ARCHS], [nvcc -gencode list, default sm_80 and sm_90])
  fw_have_cuda=no
  fw_cuda_summary="skipped: --without-cuda"
  AS_IF([test "x$with_cuda" != "xno"], [
    fw_cuda_dir=""
    AS_CASE([$with_cuda], [yes|check], [], [fw_cuda_dir="$with_cuda"])
    AS_IF([test -z "$fw_cuda_dir" && test -x /usr/local/cuda/bin/nvcc], [fw_cuda_dir=/usr/local/cuda])
    AS_IF([test -n "$fw_cuda_dir"],
      [AC_PATH_PROG([NVCC], [nvcc], [], [$fw_cuda_dir/bin$PATH_SEPARATOR$PATH])],
      [AC_PATH_PROG([NVCC], [nvcc])])
    AS_IF([test -n "$NVCC"], [
      AS_IF([test -z "$fw_cuda_dir"], [fw_cuda_dir=`dirname \`dirname $NVCC\``])
      fw_cuda_libdir="$fw_cuda_dir/lib64"
      AS_IF([test ! -d "$fw_cuda_libdir"], [fw_cuda_libdir="$fw_cuda_dir/targets/x86_64-linux/lib"])
      AS_IF([test -e "$fw_cuda_libdir/libcublasLt.so" && test -e "$fw_cuda_libdir/libcudart.so"], [
        fw_have_cuda=yes
        CUDA_CPPFLAGS="-I$fw_cuda_dir/include"
        CUDA_LIBS="-L$fw_cuda_libdir -Wl,-rpath,$fw_cuda_libdir -lcublasLt -lcublas -lcudart"
        AS_IF([test -z "$CUDA_ARCHS"],
          [CUDA_ARCHS="-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90"])
        fw_cuda_summary="yes ($NVCC)"
      ], [fw_cuda_summary="skipped: cuBLASLt/cudart not found under $fw_cuda_dir"])
    ], [fw_cuda_summary="skipped: nvcc not found (install the CUDA toolkit or --with-cuda=DIR)"])
    AS_IF([test "x$with_cuda" != "xcheck" && test "x$fw_have_cuda" = "xno"],
      [AC_MSG_ERROR([--with-cuda given but: $fw_cuda_summary])])
  ])
  AC_SUBST([CUDA_CPPFLAGS])
  AC_SUBST([CUDA_LIBS])
  AC_SUBST([CUDA_ARCHS])
  AM_CONDITIONAL([HAVE_CUDA], [test "x$fw_have_cuda" = "xyes"])

  # The test-only CUDA emulator (tests/cuemu) compiles the backend's .cu sources with
  # the C++ compiler against the CUDA headers alone: no GPU, no CUDA libraries.
  fw_have_cuemu=no
  fw_cuemu_summary="skipped: --without-cuda"
  AS_IF([test "x$with_cuda" != "xno"], [
    fw_cuemu_inc=""
    for fw_d in "$fw_cuda_dir" /usr/local/cuda; do
      AS_IF([test -n "$fw_d" && test -z "$fw_cuemu_inc" && test -r "$fw_d/include/cublasLt.h"],
        [fw_cuemu_inc="$fw_d/include"])
    done
    fw_cuemu_summary="skipped: no CUDA headers (cuda_runtime.h, cublasLt.h, cuda_bf16.h)"
    AS_IF([test -n "$fw_cuemu_inc"], [
      AC_LANG_PUSH([C++])
      fw_save_CPPFLAGS="$CPPFLAGS"
      CPPFLAGS="$CPPFLAGS -I$fw_cuemu_inc"
      AC_MSG_CHECKING([whether the C++ compiler takes the CUDA headers (tests/cuemu)])
      AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cublasLt.h>
#include <tuple>]], [[std::tuple<int> t(1); dim3 g(1); return std::get<0>(t) + (int)g.x;]])],
        [fw_have_cuemu=yes; CUEMU_CPPFLAGS="-I$fw_cuemu_inc"
         fw_cuemu_summary="yes (make check runs the cuda backend on the CPU)"],
        [fw_cuemu_summary="skipped: $CXX cannot compile the CUDA headers in $fw_cuemu_inc"])
      AC_MSG_RESULT([$fw_have_cuemu])
      CPPFLAGS="$fw_save_CPPFLAGS"
      AC_LANG_POP([C++])
    ])
  ])
  AC_SUBST([CUEMU_CPPFLAGS])
  AM_CONDITIONAL([HAVE_CUEMU], [test "x$fw_have_cuemu" = "xyes"])
])
