#!/bin/sh
# tools/gpu-session.sh -- everything issue 8 needs from a lent GPU machine, in one call.
#
# The device machine has the CUDA toolkit and driver but none of our Debian
# libraries, and each session has 30 minutes of it: build here, carry a small
# tree there, run every check in one command.
#
#   here:  sh tools/gpu-session.sh prepare BUILD     (BUILD: a configured build
#          tree with the cuda plugin built, e.g. after `make -j2`)
#          -> .gpu/ (ignored via .git/info/exclude): the binaries and plugins of
#             BUILD at their build-tree paths, the shared libraries they need
#             that a bare machine lacks, and the fixture models + tokenizers.
#   there: run(command="sh tools/gpu-session.sh device", carry=[".gpu"])
#          -> $OUT/gpu.log: check-gpu (five fixtures, prefill and decode),
#             the gpu-decode benchmark and an end-to-end request served by the
#             cuda backend from a random 8B-shaped model.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
G=$here/.gpu

prepare() {
    B=$(cd "$1" && pwd)
    F=${FW_FIXTURES:-$here/../shared/fixtures}
    [ -f "$B/plugins/backends/cuda/.libs/backend_cuda.so" ] ||
        { echo "gpu-session: $B has no cuda plugin (configure found no nvcc?)" >&2; exit 1; }
    [ -d "$F/models" ] || { echo "gpu-session: no fixtures at $F" >&2; exit 1; }
    rm -rf "$G"
    mkdir -p "$G/b" "$G/lib" "$G/fixtures"
    ex=$(git -C "$here" rev-parse --git-path info/exclude)
    case $ex in /*) ;; *) ex=$here/$ex ;; esac
    mkdir -p "$(dirname "$ex")"
    grep -qx '/.gpu/' "$ex" 2>/dev/null || echo '/.gpu/' >>"$ex"
    # The cpu plugin is left behind: oneDNN alone is 40 MB of the 64 MB a call carries.
    for f in fwctl fireworksd tests/test_forward_cuda bench/gpu-decode/bench_gpu_decode \
             $(cd "$B" && ls plugins/*/*/.libs/*.so plugins/*/.libs/*.so 2>/dev/null |
               grep -v backend_cpu); do
        [ -f "$B/$f" ] || { echo "gpu-session: $B/$f missing (run make first)" >&2; exit 1; }
        mkdir -p "$G/b/$(dirname "$f")"
        cp -L "$B/$f" "$G/b/$f"
    done
    system='^(linux-vdso|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|ld-linux|libgcc_s|libstdc\+\+|libcuda|libcudart|libcublas|libnccl|libnvidia)'
    find "$G/b" -type f | while read -r f; do
        ldd "$f" 2>/dev/null | awk '/=> \// {print $1, $3}' | while read -r name path; do
            echo "$name" | grep -Eq "$system" && continue
            [ -e "$G/lib/$name" ] || cp -L "$path" "$G/lib/$name"
        done
    done
    cp -r "$F/models" "$G/fixtures/models"
    cp -r "$F/tokenizers" "$G/fixtures/tokenizers"
    echo "gpu-session: $(du -sh "$G" | cut -f1) in .gpu; on the device:"
    echo '  run(command="sh tools/gpu-session.sh device", carry=[".gpu"], timeout_s=600)'
}

device() {
    [ -d "$G/b" ] || { echo "gpu-session: no .gpu tree (prepare it here and carry .gpu)" >&2; exit 1; }
    OUT=${OUT:-$G/out}
    mkdir -p "$OUT"
    LD_LIBRARY_PATH="$G/lib:${CUDA_HOME:-/usr/local/cuda}/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
    FW_FIXTURES=$G/fixtures
    export FW_FIXTURES
    exec >"$OUT/gpu.log" 2>&1
    set +e
    nvidia-smi
    echo "== check-gpu"
    FW_BUILDDIR=$G/b sh "$here/tests/check-gpu.sh"
    echo "check-gpu rc=$?"
    echo "== end to end: fireworksd --backend cuda on a random 8B-shaped Qwen3"
    w=/tmp/fw-gpu-bench
    mkdir -p "$w"
    "$G/b/fwctl" mkmodel --arch qwen3 --preset 8b --tokenizer "$G/fixtures/tokenizers/qwen3" \
        --out "$w/qwen3-8b"
    FIREWORKSD_PLUGIN_PATH=$(find "$G/b/plugins" -type d -name .libs | tr '\n' : | sed 's/:$//')
    export FIREWORKSD_PLUGIN_PATH
    "$G/b/fireworksd" --model "$w/qwen3-8b" --served-model-name q8 --backend cuda --port 18123 &
    pid=$!
    i=0
    until curl -sf localhost:18123/health >/dev/null 2>&1 || [ $i -ge 300 ]; do
        sleep 1; i=$((i + 1))
    done
    curl -s localhost:18123/v1/chat/completions -H 'Content-Type: application/json' \
        -d '{"model":"q8","messages":[{"role":"user","content":"Hello"}],"max_tokens":32,"perf_metrics_in_response":true}'
    echo
    curl -s localhost:18123/metrics | grep -E '^fireworksd_(requests|tokens)' | head -20
    kill "$pid"
    wait "$pid"
    echo "== gpu-decode benchmark"
    (cd "$G/b" && sh "$here/bench/gpu-decode/run.sh" "$w")
    echo "bench rc=$?"
}

case ${1:-} in
prepare) [ $# -eq 2 ] || { echo "usage: $0 prepare BUILD" >&2; exit 2; }; prepare "$2" ;;
device) device ;;
*) echo "usage: $0 prepare BUILD | device" >&2; exit 2 ;;
esac
