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
# PROCESSING_MS=2500 (what one window may take from its last input to its output: 2500 ran 60 s
# of live input with no underrun on a 2-core CPU with the default models, docs/performance.md;
# 2000 underran there: 5, 56 and 57 of 61 buffers in three runs; with PRECISION=int8, 2000 ran
# with none late in two runs), STEPS (default 12 here), C2F_STEPS, SEED, THREADS, PRECISION.
# Latency = vampenc lookahead + WINDOW frames + PROCESSING_MS + vampdec lookahead
# (docs/latency.md); a window that takes longer than PROCESSING_MS makes the sink drop audio.
set -eu
STEPS="${STEPS:-12}"
. "$(dirname "$0")/env.sh"
mode="${1:-mic}"
out="${2:-}"
PERIOD="${PERIOD:-5}"
WINDOW="${WINDOW:-57}"
CONTEXT="${CONTEXT:-172}"
PROCESSING_MS="${PROCESSING_MS:-2500}"
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
$LAUNCH $opts $src ! $TO_CODEC ! $ENC frames-per-buffer=4 ! \
  vampmask periodic-prompt="$PERIOD" seed="$SEED" ! \
  $SAMPLE window-frames="$WINDOW" context-frames="$CONTEXT" \
    processing-latency=$((PROCESSING_MS * 1000000)) ! \
  $DEC ! $sink
[ -z "$out" ] || echo "wrote $out"
