#!/bin/sh
# Beat-driven variation: the frames on each beat are kept as prompt (the VampNet app's
# "beat-driven" preset), so the rhythm survives while everything between the beats is new.
#   pipelines/beat-vary.sh [in-audio] [out.wav]
# Knobs (environment): PRESET=beat-driven (or beat-driven-downbeats,
# beat-driven-downbeats-strong), BEAT_MS (override the preset's beat width, ms), WINDOW=460,
# CONTEXT=115, STEPS, C2F_STEPS, SEED, THREADS, VAMPNET_MODELS.
# How: the input is converted to a wav at the codec rate, whose beats vampmask finds with
# aubio when it starts (beats-audio=); a live source would feed vampmask's request pad
# `audio` instead (docs/elements.md).
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
in="$(vamp_input "${1:-}" "$SYNTH_SECONDS")"
out="${2:-beat-varied.wav}"
PRESET="${PRESET:-beat-driven}"
WINDOW="${WINDOW:-460}"
CONTEXT="${CONTEXT:-115}"
width=""
[ -z "${BEAT_MS:-}" ] || width="beat-mask-width=$((BEAT_MS * 1000000))"

wav="$VAMP_TMP/in.wav"
vamp_to_wav "$in" "$wav"
# shellcheck disable=SC2086
$LAUNCH filesrc location="$wav" ! decodebin ! $TO_CODEC ! $ENC ! \
  vampmask preset="$PRESET" $width beats-audio="$wav" seed="$SEED" ! \
  $SAMPLE window-frames="$WINDOW" context-frames="$CONTEXT" ! \
  $DEC ! $TO_WAV ! filesink location="$out"
echo "wrote $out"
