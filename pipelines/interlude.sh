#!/bin/sh
# Broadcast generative interlude: N seconds of music generated between track A and track B,
# prompted by the tail of A and the head of B (prefix/suffix inpainting), played A + interlude
# + B without a gap.
#   pipelines/interlude.sh [A-audio B-audio] [out.wav]
# Without A and B, two synthesized tracks are used (different chords and tempos).
# Knobs (environment): GAP=4 (seconds generated), PROMPT=2 (seconds of A's tail and of B's head
# given as prompt; 2 x PROMPT + GAP must fit the model's 10 s), STEPS, C2F_STEPS, SEED, THREADS.
# How (token level, docs/pipelines.md): A and B are encoded to token files; a token file of
# A's last PROMPT s + GAP s of placeholder frames + B's first PROMPT s is masked with
# vampmask prefix=PROMPT suffix=PROMPT (everything between generated) and generated in one
# vampsample window; then A's tokens, the generated frames and B's tokens are joined into one
# token file and decoded in one go, so the joins are seamless (vampdec decodes across them).
# The output is the codec's rendition of A and B (the codec is lossy), not the original audio.
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
GAP="${GAP:-4}"
PROMPT="${PROMPT:-2}"
if [ $# -ge 2 ]; then
  a="$1"; b="$2"; out="${3:-interlude.wav}"
else
  out="${1:-interlude.wav}"
  a="$VAMP_TMP/a.wav"; b="$VAMP_TMP/b.wav"
  vamp_synth "$a" "$SYNTH_SECONDS" 220 500000000
  vamp_synth "$b" "$SYNTH_SECONDS" 261.63 400000000
fi

# 1. Both tracks as tokens.
for t in a b; do
  eval "f=\$$t"
  gst-launch-1.0 -q filesrc location="$f" ! decodebin ! $TO_CODEC ! $ENC ! vamptokfilemux ! \
    filesink location="$VAMP_TMP/$t.vtok"
done
A="$VAMP_TMP/a.vtok"; B="$VAMP_TMP/b.vtok"
p=$(seconds_to_frames "$PROMPT")
g=$(seconds_to_frames "$GAP")
na=$(vtok_frames "$A"); nb=$(vtok_frames "$B")
[ $((2 * p + g)) -le 575 ] || { echo "$0: 2 x PROMPT + GAP must be at most 10 s" >&2; exit 1; }
[ "$p" -le "$na" ] && [ "$p" -le "$nb" ] || { echo "$0: a track is shorter than PROMPT" >&2; exit 1; }

# 2. The prompt: A's tail, placeholder frames (zeros, all masked), B's head.
fb=$(vtok_frame_bytes "$A")
{ vtok_header "$A"; vtok_cut "$A" $((na - p)) "$p"; head -c $((g * fb)) /dev/zero; vtok_cut "$B" 0 "$p"; } \
  > "$VAMP_TMP/prompt.vtok"

# 3. Generate the gap in one window; keep the prompt frames whole (all codebooks).
$LAUNCH filesrc location="$VAMP_TMP/prompt.vtok" ! vampparse ! \
  vampmask prefix="$(frames_to_ns "$p")" suffix="$(frames_to_ns "$p")" periodic-prompt=0 \
    upper-codebook-mask=64 seed="$SEED" ! \
  $SAMPLE window-frames=$((2 * p + g)) context-frames=0 ! vamptokfilemux ! \
  filesink location="$VAMP_TMP/gen.vtok"

# 4. A + generated gap + B as one token stream, decoded once.
cmp -s -n "$(vtok_header_size "$A")" "$A" "$VAMP_TMP/gen.vtok" || {
  echo "$0: generated tokens do not match A's format:" >&2
  vtok_caps "$A" >&2; echo >&2; vtok_caps "$VAMP_TMP/gen.vtok" >&2; echo >&2; exit 1; }
{ vtok_header "$A"; vtok_cut "$A" 0 "$na"; vtok_cut "$VAMP_TMP/gen.vtok" "$p" "$g"; vtok_cut "$B" 0 "$nb"; } \
  > "$VAMP_TMP/all.vtok"
gst-launch-1.0 -q filesrc location="$VAMP_TMP/all.vtok" ! vampparse ! $DEC ! $TO_WAV ! \
  filesink location="$out"
echo "wrote $out: A ($na frames) + interlude ($g frames) + B ($nb frames)"
