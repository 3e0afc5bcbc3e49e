#!/bin/sh
# GPU checks in one go, for a machine with CUDA, a pip PyTorch and no GStreamer:
#   1. builds the engine against that PyTorch's libtorch (-Dcuda=enabled -Dgstreamer=disabled)
#   2. gpu_check: golden parity on CUDA (fp32 logits within 1e-3; bf16/fp16 reported; tokens and
#      batch-vs-alone differences reported)
#   3. bench_pipeline: full-size pipeline RTF and batch scaling 1..16 streams on CUDA (fp32, bf16)
# Results go to $OUT/gpu_results.txt (the build log to /tmp/vamp-gpu-build.log).
# Usage, from the repository root: sh tests/gpu/check.sh     (env: OUT, BUILD, VAMP_BENCH_*)
set -u
OUT=${OUT:-/tmp/vamp-gpu-out}
BUILD=${BUILD:-build-gpu}
mkdir -p "$OUT"
RESULTS="$OUT/gpu_results.txt"
: > "$RESULTS"
say() { echo "$*" | tee -a "$RESULTS"; }

PY=${PYTHON:-python3}
LOG="$RESULTS"
. "$(dirname "$0")/build.sh"
gpu_build tests/gpu_check tests/bench_pipeline || exit 1
grep -o '_GLIBCXX_USE_CXX11_ABI=[01]' "$BUILD/compile_commands.json" | sort | uniq -c | tee -a "$RESULTS"

export VAMP_TEST_DATA="$(pwd)/tests/data" VAMP_TEST_TMP="$OUT/tmp"
mkdir -p "$VAMP_TEST_TMP"
rc=0
say "== gpu_check"
"$BUILD/tests/gpu_check" cuda 2>&1 | tee -a "$RESULTS"
[ "$(tail -1 "$RESULTS" | cut -c1-2)" = "OK" ] || rc=1

say "== bench_pipeline"
export VAMP_BENCH_DEVICES=${VAMP_BENCH_DEVICES:-cuda} VAMP_BENCH_PRECISIONS=${VAMP_BENCH_PRECISIONS:-fp32,bf16}
export VAMP_BENCH_THREADS=${VAMP_BENCH_THREADS:-16}
timeout ${BENCH_TIMEOUT:-420} "$BUILD/tests/bench_pipeline" 2>&1 | tee -a "$RESULTS" || rc=1
rm -rf "$VAMP_TEST_TMP"
say "check.sh exit $rc"
exit $rc
