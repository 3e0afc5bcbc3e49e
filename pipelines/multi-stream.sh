#!/bin/sh
# Several variations at once: N streams, each through its own vampmask and vampsample, in one
# pipeline. The models are loaded once and shared (one codec, one coarse and one c2f model per
# process: GstContext and the model registry), and the samplers share one scheduler, which
# batches their windows on a GPU (max-batch, batch-timeout).
#   pipelines/multi-stream.sh [in-audio] [out-prefix]
# Writes out-prefix-1.wav .. out-prefix-N.wav (default prefix: stream); stream i uses seed
# SEED + i, so each is a different variation of the same input.
# Knobs (environment): N=3, PERIOD=7, WINDOW=460, CONTEXT=115, MAX_BATCH and BATCH_TIMEOUT_MS
# (vampsample's max-batch and batch-timeout; default: the element's), STEPS, C2F_STEPS, SEED, THREADS, VAMPNET_MODELS.
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
in="$(vamp_input "${1:-}" "$SYNTH_SECONDS")"
prefix="${2:-stream}"
N="${N:-3}"
PERIOD="${PERIOD:-7}"
WINDOW="${WINDOW:-460}"
CONTEXT="${CONTEXT:-115}"
batch="$(batch_props)"

# One encoder, a tee, then N branches (queue: each branch on its own thread).
branches=""
i=1
while [ "$i" -le "$N" ]; do
  branches="$branches t. ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 !
    vampmask periodic-prompt=$PERIOD seed=$((SEED + i)) !
    $SAMPLE seed=$((SEED + i)) window-frames=$WINDOW context-frames=$CONTEXT $batch name=sample$i !
    $DEC ! $TO_WAV ! filesink location=$prefix-$i.wav"
  i=$((i + 1))
done
# shellcheck disable=SC2086
$LAUNCH filesrc location="$in" ! decodebin ! $TO_CODEC ! $ENC ! tee name=t $branches
i=1
while [ "$i" -le "$N" ]; do echo "wrote $prefix-$i.wav"; i=$((i + 1)); done
