#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for SECONDS (CI: a few seconds each; the
# long run in docs/fuzzing.md: hours). Exits 77 (a skipped test) without clang's libFuzzer.
#   tests/fuzz/run.sh SOURCE_ROOT WORK_DIR [SECONDS] [TARGET ...]
# A crash leaves its input in WORK_DIR/<target>/crash-*; the seed corpus is made from small
# valid files of each format, and what the fuzzer adds is kept in WORK_DIR/<target>/corpus.
set -eu
root="$(cd "$1" && pwd)"
mkdir -p "$2"
work="$(cd "$2" && pwd)"
seconds="${3:-5}"
shift $(($# < 3 ? $# : 3))
targets="${*:-token_file npy wav checkpoint}"
CXX="${FUZZ_CXX:-clang++}"
command -v "$CXX" >/dev/null 2>&1 || { echo "fuzz: no $CXX: skipped"; exit 77; }
echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' > "$work/probe.cpp"
"$CXX" -fsanitize=fuzzer "$work/probe.cpp" -o "$work/probe" 2>/dev/null ||
  { echo "fuzz: $CXX has no libFuzzer (Debian: libclang-rt-14-dev): skipped"; exit 77; }

src="$root/engine/src"
torch_inc="-I/usr/include/torch/csrc/api/include"
flags="-std=c++17 -g -O1 -fsanitize=fuzzer,address -I$root/engine/include -I$src"
sources_token_file="$src/token_file.cpp"
sources_npy="$src/npy.cpp"
sources_wav="$src/wav.cpp"
sources_checkpoint="$src/checkpoint.cpp $src/zip.cpp $src/pickle.cpp $src/heap.cpp"
libs="-ltorch -ltorch_cpu -lc10 -lz -lpthread"

# Seeds: a small valid file of each format, made by the engine's own writers.
seeds="$work/seeds"
mkdir -p "$seeds/token_file" "$seeds/npy" "$seeds/wav" "$seeds/checkpoint"
cp "$root/tests/data/logs_ckpt.pth" "$seeds/checkpoint/"
printf 'VTOK\001\000\000\000' > "$seeds/token_file/head"
/usr/bin/python3 - "$seeds" <<'PY' 2>/dev/null || true
import struct, sys, wave
seeds = sys.argv[1]
caps = (b"audio/x-vamp-tokens, format=(string)U16LE, layout=(string)interleaved, mask=(string)plane, "
        b"rate=(int)44100, hop-length=(int)768, framerate=(fraction)3675/64, codebooks=(int)2, "
        b"codebook-size=(int)1024")
open(f"{seeds}/token_file/plane.vtok", "wb").write(
    b"VTOK" + struct.pack("<HHI", 1, 0, len(caps)) + caps + struct.pack("<HHBB", 1, 2, 0, 1) * 3)
hdr = b"{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2, 3), }"
hdr += b" " * (63 - len(hdr) % 64) + b"\n"
open(f"{seeds}/npy/codes.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr +
                                          struct.pack("<6q", *range(6)))
w = wave.open(f"{seeds}/wav/tone.wav", "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(struct.pack("<8h", *range(8)))
w.close()
PY

status=0
for t in $targets; do
  dir="$work/$t"
  mkdir -p "$dir/corpus"
  eval "sources=\$sources_$t"
  extra=""
  [ "$t" = token_file ] || extra="$torch_inc $libs"
  # shellcheck disable=SC2086
  "$CXX" $flags "$root/tests/fuzz/fuzz_$t.cpp" $sources $extra -o "$dir/fuzz_$t"
  echo "== $t: $seconds s"
  if ! (cd "$dir" && ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
      ./"fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2560 -malloc_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 corpus "$seeds/$t" > "$dir/log" 2>&1); then
    status=1
    echo "  FAIL: $t; the end of its log:"
    tail -30 "$dir/log" | sed 's/^/    | /'
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov:" "$dir/log" | tail -3 | sed 's/^/  /'
done
exit $status
