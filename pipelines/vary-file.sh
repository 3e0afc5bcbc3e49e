#!/bin/sh
# Streaming variation of a music file: a periodic prompt keeps every PERIOD-th frame (lowest
# codebooks), VampNet regenerates the rest, window by window.
#   pipelines/vary-file.sh [in-audio] [out.wav]
# in-audio: any file decodebin reads (default: SYNTH_SECONDS of a synthesized chord + ticks).
# out.wav (default varied.wav): mono float at 44.1 kHz, the input's length (whole token frames).
# Knobs (environment): PERIOD=7 (keep every n-th frame; 0 = generate everything),
# WIDTH=1 (frames kept around each hint), KEEP_CODEBOOKS=9 (hints keep codebooks below this;
# the rest are always generated), WINDOW=460 frames per window, CONTEXT=115 frames of prompt,
# STEPS, C2F_STEPS, SEED, THREADS, VAMPNET_MODELS (see env.sh).
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
in="$(vamp_input "${1:-}" "$SYNTH_SECONDS")"
out="${2:-varied.wav}"
PERIOD="${PERIOD:-7}"
WIDTH="${WIDTH:-1}"
KEEP_CODEBOOKS="${KEEP_CODEBOOKS:-9}"
WINDOW="${WINDOW:-460}"
CONTEXT="${CONTEXT:-115}"

$LAUNCH filesrc location="$in" ! decodebin ! $TO_CODEC ! $ENC ! \
  vampmask periodic-prompt="$PERIOD" periodic-width="$WIDTH" \
    upper-codebook-mask="$KEEP_CODEBOOKS" seed="$SEED" ! \
  $SAMPLE window-frames="$WINDOW" context-frames="$CONTEXT" ! \
  $DEC ! $TO_WAV ! filesink location="$out"
echo "wrote $out"
