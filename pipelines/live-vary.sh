#!/bin/sh
# Live variation: audio in, a VampNet variation of it out, in real time; prints the pipeline
# latency (what the sink waits for) and, at the end, the real-time factor of generation.
#   pipelines/live-vary.sh [mic|test|FILE] [out.wav]
# mic (default): autoaudiosrc. test: a live test tone (audiotestsrc is-live=true).
# FILE: any audio file played in real time through clocksync (a simulated live input).
# out.wav: record the output to a file instead of playing it on autoaudiosink; a fakesink
# synchronized to the clock stands in for the sound card, and vamp-launch counts the buffers that
# reach it after their play-out time (underruns).
# Knobs (environment): DURATION=seconds to run (default: until Ctrl-C), PERIOD=5,
# WINDOW=57 frames per window (1 s), CONTEXT=172 frames of prompt (3 s),
# PROCESSING_MS (what one window may take from its last input to its output; default: vampsample
# measures one window at start and budgets 1.5 times that, then gives each window the steps that
# fit, down to MIN_STEPS=4), STEPS (default 12 here), C2F_STEPS, SEED, THREADS, PRECISION.
# vampenc emits buffers of the largest divisor of WINDOW up to 20 frames and half the window, so
# each window completes with a buffer. Latency = vampenc lookahead + WINDOW frames + processing + vampdec lookahead
# (docs/latency.md); 60 s of recorded music on a 2-core CPU ran with no buffer late, also with a
# busy loop on one core (docs/performance.md).
set -eu
STEPS="${STEPS:-12}"
. "$(dirname "$0")/env.sh"
mode="${1:-mic}"
out="${2:-}"
PERIOD="${PERIOD:-5}"
WINDOW="${WINDOW:-57}"
CONTEXT="${CONTEXT:-172}"
PROCESSING_MS="${PROCESSING_MS:-0}"
MIN_STEPS="${MIN_STEPS:-4}"
ENC_FRAMES=$((WINDOW / 2 < 20 ? (WINDOW + 1) / 2 : 20))
while [ $((WINDOW % ENC_FRAMES)) -ne 0 ]; do ENC_FRAMES=$((ENC_FRAMES - 1)); done
DURATION="${DURATION:-0}"

case "$mode" in
  mic) src="autoaudiosrc" ;;
  test) src="audiotestsrc is-live=true wave=sine freq=220 volume=0.3 samplesperbuffer=441" ;;
  *)
    [ -f "$mode" ] || { echo "$0: no such file: $mode" >&2; exit 1; }
    src="filesrc location=$mode ! decodebin ! audioconvert ! clocksync"
    ;;
esac
if [ -n "$out" ]; then
  sink="tee name=t t. ! queue ! fakesink sync=true t. ! queue ! $TO_WAV ! filesink location=$out"
else
  sink="audioconvert ! audioresample ! autoaudiosink"
fi
opts=""
[ "$DURATION" != 0 ] && opts="--duration $DURATION"
case "$LAUNCH" in
  gst-launch*) echo "$0: vamp-launch is not built: the latency is not printed" >&2; opts="" ;;
esac

# shellcheck disable=SC2086
$LAUNCH $opts $src ! $TO_CODEC ! $ENC frames-per-buffer="$ENC_FRAMES" ! \
  vampmask periodic-prompt="$PERIOD" seed="$SEED" ! \
  $SAMPLE window-frames="$WINDOW" context-frames="$CONTEXT" \
    processing-latency=$((PROCESSING_MS * 1000000)) min-steps="$MIN_STEPS" ! \
  $DEC ! $sink
[ -z "$out" ] || echo "wrote $out"
