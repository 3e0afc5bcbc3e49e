#!/bin/sh
# The device check that trains the default set (issue 7) on one CUDA machine, in one go:
#   1. builds vamp-train (and gpu_check) against that machine's PyTorch (-Dcuda=enabled, no GStreamer)
#   2. unpacks the training music carried as .carry/train.pack (tests/gpu/pack_audio.py; the
#      machine has no fluidsynth and receives at most 64 MiB)
#   3. models/train.sh on cuda (codec, coarse, c2f against the clock; no evaluation, which runs
#      on the CPU afterwards), and gpu_check (CUDA golden parity) on the same GPU meanwhile
# Models and loss logs go to $OUT. Environment: OUT, BUILD, CHECK=0 (skip gpu_check), INIT_DIR, and
# models/train.sh's CODEC_MIN, COARSE_MIN, C2F_MIN, CODEC_BATCH, TF_BATCH.
# Usage, from the repository root: sh tests/gpu/train.sh
set -u
OUT=${OUT:-/tmp/vamp-train-out}
BUILD=${BUILD:-build-gpu}
WORK=/tmp/vamp-train
mkdir -p "$OUT" "$WORK"
LOG="$OUT/train_run.txt"
say() { echo "$(date +%T) $*" | tee -a "$LOG"; }

PY=${PYTHON:-python3}
. "$(dirname "$0")/build.sh"
gpu_build engine/vamp-train || exit 1
$PY tests/gpu/pack_audio.py unpack .carry/train.pack "$WORK/music/train" 2>&1 | tee -a "$LOG"

# The parity check shares the GPU with training; it only needs to be right, not fast.
[ "${CHECK:-1}" = 1 ] && ( gpu_build tests/gpu_check \
    && VAMP_TEST_DATA="$(pwd)/tests/data" VAMP_TEST_TMP="$WORK" timeout 300 "$BUILD/tests/gpu_check" cuda ) \
    > "$OUT/gpu_check.txt" 2>&1 &

say "train"
VAMP_TRAIN="$BUILD/engine/vamp-train" DATA="$WORK/music" DEVICE=cuda EVAL=0 \
  sh models/train.sh "$WORK/models" 2>&1 | grep -v '^codec \[\|^coarse \[\|^c2f \[' | tee -a "$LOG"
for f in codec coarse c2f; do cp "$WORK/models/$f.pth" "$WORK/models/$f.pth.log.csv" "$OUT/"; done
wait
say "done"
