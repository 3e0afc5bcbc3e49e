# Sourced by check.sh and train.sh: builds TARGETS against this machine's PyTorch (CUDA on, no
# GStreamer, release). Needs: PY, BUILD, LOG (a file), say(); usage: gpu_build TARGET...
# Returns non-zero (after printing the end of the log) when configure or build fails.
BUILD_LOG="${TMPDIR:-/tmp}/vamp-gpu-build.log"
gpu_build() {
  TORCH_PREFIX=$(cd "$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')/../.." && pwd) || return 1
  say "torch $($PY -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())')"
  say "torch prefix $TORCH_PREFIX"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"
  # meson and ninja from pip when the system has none
  command -v meson >/dev/null 2>&1 || PATH="$($PY -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
  if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dtorch_prefix="$TORCH_PREFIX" -Dcuda=enabled -Dgstreamer=disabled -Daubio=disabled \
      -Dtests=enabled -Db_asneeded=false --buildtype=release > "$BUILD_LOG" 2>&1 \
      || { say "meson setup failed (tail of $BUILD_LOG):"; tail -40 "$BUILD_LOG" | tee -a "$LOG"; return 1; }
  fi
  ninja -C "$BUILD" "$@" >> "$BUILD_LOG" 2>&1 \
    || { say "build failed (errors in $BUILD_LOG):"; grep -B2 -A12 'error' "$BUILD_LOG" | head -150 | tee -a "$LOG"; return 1; }
  say "built $*"
}
