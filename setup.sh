#!/bin/sh
# gst-vampnet on a fresh Debian 12 machine (root or sudo):
#   ./setup.sh demo [in-audio]   install what is missing, build, run the main pipeline (a streaming
#                     variation of in-audio, or of pipelines/example.wav) -> out/demo.wav
#   ./setup.sh test   install what is missing, build, run the whole test suite
#   ./setup.sh build  install and build only
# A second run installs and rebuilds only what changed.
set -eu
cd "$(dirname "$0")"

PACKAGES="build-essential meson ninja-build pkg-config cmake ccache zlib1g-dev
  libtorch-dev libopenblas0-openmp python3-torch
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad check libaubio-dev
  libpng-dev python3-gi gir1.2-gstreamer-1.0 libopus-dev clang libclang-rt-14-dev iproute2"

install_missing() {
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "setup: installing$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
}

build() {
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  if [ ! -f build/build.ninja ]; then
    CXX="ccache g++" CC="ccache gcc" meson setup build --buildtype=release
  fi
  ninja -C build
}

install_missing
build

case "${1:-build}" in
  demo)
    mkdir -p out
    # Default input: 10 s of a held-out piece of our synthesized music (rock, 140 BPM).
    pipelines/vary-file.sh "${2:-pipelines/example.wav}" out/demo.wav
    ;;
  test)
    # One test at a time: each uses both cores.
    { meson test -C build --print-errorlogs --num-processes 1; echo $? > build/test-rc; } 2>&1 |
      tee build/test-summary.log
    ok=$(awk '/^Ok:/ {print $2}' build/test-summary.log)
    failed=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $2} END {print n + 0}' build/test-summary.log)
    skipped=$(awk '/^Skipped:/ {print $2}' build/test-summary.log)
    echo "tests: ${ok:-0} passed, $failed failed, ${skipped:-0} skipped"
    exit "$(cat build/test-rc)"
    ;;
  build) ;;
  *) echo "usage: $0 demo|test|build" >&2; exit 2 ;;
esac
