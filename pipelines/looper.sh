#!/bin/sh
# A looper that never repeats itself: a loop is cut from the input, and each repetition is
# regenerated with the previous repetition as its prompt, so the loop keeps its shape (periodic
# hints from the original loop) while every pass is new. Seamless at the loop points: the output
# is one continuous token stream, decoded in one go.
#   pipelines/looper.sh [in-audio] [out.wav]
# Knobs (environment): START=0 and LOOP=2 (seconds: the loop taken from the input; cut at whole
# token frames, 17.4 ms), REPEATS=4 (passes in the output, the first is the original loop),
# PERIOD=4 (hints from the original loop in each pass: every n-th frame; 0 = none),
# STEPS, C2F_STEPS, SEED, THREADS, VAMPNET_MODELS.
# How: the loop's tokens are repeated REPEATS times in a token file (byte arithmetic on .vtok
# frames); vampmask keeps the first pass (prefix) and the periodic hints; vampsample generates
# one pass per window (window-frames = the loop) with the previous pass as its context
# (context-frames = the loop, at most 575 - loop frames: the model sees 10 s).
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
in="$(vamp_input "${1:-}" "$(awk -v s="${START:-0}" -v l="${LOOP:-2}" 'BEGIN { print s + l + 0.5 }')")"
out="${2:-loop.wav}"
START="${START:-0}"
LOOP="${LOOP:-2}"
REPEATS="${REPEATS:-4}"
PERIOD="${PERIOD:-4}"

# 1. The input's tokens, then the loop's frames.
gst-launch-1.0 -q filesrc location="$in" ! decodebin ! $TO_CODEC ! $ENC ! vamptokfilemux ! \
  filesink location="$VAMP_TMP/in.vtok"
first=$(seconds_to_frames "$START")
n=$(seconds_to_frames "$LOOP")
total=$(vtok_frames "$VAMP_TMP/in.vtok")
[ "$n" -gt 0 ] && [ $((first + n)) -le "$total" ] || {
  echo "$0: the loop ($START s + $LOOP s) is not inside the input ($total frames)" >&2; exit 1; }
[ "$n" -lt 575 ] || { echo "$0: LOOP must be shorter than 10 s" >&2; exit 1; }
context=$n
[ $((context + n)) -le 575 ] || context=$((575 - n))

# 2. REPEATS copies of the loop in one token file.
vtok_header "$VAMP_TMP/in.vtok" > "$VAMP_TMP/loops.vtok"
vtok_cut "$VAMP_TMP/in.vtok" "$first" "$n" > "$VAMP_TMP/loop.frames"
i=0
while [ "$i" -lt "$REPEATS" ]; do
  cat "$VAMP_TMP/loop.frames" >> "$VAMP_TMP/loops.vtok"
  i=$((i + 1))
done

# 3. Keep pass 1 and the hints; regenerate every later pass from the previous one.
$LAUNCH filesrc location="$VAMP_TMP/loops.vtok" ! vampparse ! \
  vampmask prefix="$(frames_to_ns "$n")" periodic-prompt="$PERIOD" upper-codebook-mask=64 \
    seed="$SEED" ! \
  $SAMPLE window-frames="$n" context-frames="$context" ! \
  $DEC ! $TO_WAV ! filesink location="$out"
echo "wrote $out: $REPEATS passes of $n frames"
