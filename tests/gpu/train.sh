#!/bin/sh
# The device check that trains the default set (issue 7) on one CUDA machine, in one go:
#   1. builds vamp-train (and gpu_check) against that machine's PyTorch (-Dcuda=enabled, no GStreamer)
#   2. unpacks the training music carried as .carry/train.pack (tests/gpu/pack_audio.py; the
#      machine has no fluidsynth and receives at most 64 MiB)
#   3. models/train.sh on cuda (codec, coarse, c2f against the clock; no evaluation, which runs
#      on the CPU afterwards), and gpu_check (CUDA golden parity) on the same GPU meanwhile: all of
#      it, or check 5 (the codec) alone when the transformer goldens were left behind to make room
#      for the music
# Models and loss logs are copied to $OUT as they are saved, so a run cut off by its time limit
# still returns what it made. Environment: OUT, BUILD, CHECK=0 (skip gpu_check), and
# models/train.sh's INIT_DIR, CODEC_MIN, COARSE_MIN, C2F_MIN, CODEC_BATCH, TF_BATCH, QDROP, TF_PARALLEL.
# Usage, from the repository root: sh tests/gpu/train.sh
set -u
OUT=${OUT:-/tmp/vamp-train-out}
BUILD=${BUILD:-build-gpu}
WORK=/tmp/vamp-train
mkdir -p "$OUT" "$WORK/models"
LOG="$OUT/train_run.txt"
say() { echo "$(date +%T) $*" | tee -a "$LOG"; }

# Copies finished models and logs to $OUT (through a temporary name: never half a file there).
collect() {
  for f in "$WORK"/models/*.pth "$WORK"/models/*.pth.log.csv; do
    [ -f "$f" ] || continue
    cp "$f" "$OUT/.part" && mv "$OUT/.part" "$OUT/$(basename "$f")"
  done
}

PY=${PYTHON:-python3}
. "$(dirname "$0")/build.sh"
gpu_build engine/vamp-train || exit 1
$PY tests/gpu/pack_audio.py unpack .carry/train.pack "$WORK/music/train" 2>&1 | tee -a "$LOG"

# The parity check shares the GPU with training; it only needs to be right, not fast.
only=""
[ -f tests/data/golden_transformer_a.pt ] || only=codec
[ "${CHECK:-1}" = 1 ] && ( gpu_build tests/gpu_check \
    && VAMP_TEST_DATA="$(pwd)/tests/data" VAMP_TEST_TMP="$WORK" timeout 300 "$BUILD/tests/gpu_check" cuda $only ) \
    > "$OUT/gpu_check.txt" 2>&1 &

( while sleep 15; do collect; done ) &
collector=$!
say "train"
VAMP_TRAIN="$BUILD/engine/vamp-train" DATA="$WORK/music" DEVICE="${DEVICE:-cuda}" EVAL=0 \
  sh models/train.sh "$WORK/models" 2>&1 | grep -v '^codec \[\|^coarse \[\|^c2f \[' | tee -a "$LOG"
kill $collector
collect
wait
say "done"
