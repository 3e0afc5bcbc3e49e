#!/bin/sh
# Generative compression, step 1: keep only the lowest codebook(s) of the codec tokens in a
# token file; decompress.sh regenerates the rest with VampNet.
#   pipelines/compress.sh [in-audio] [out.vtok]
# Knobs (environment): CODEBOOKS=1 (lowest codebooks kept), THREADS, VAMPNET_MODELS.
# Prints the bitrate: the file's (tokens stored as U16, plus the header) and the entropy-free
# payload (10 bits per token: CODEBOOKS x 10 x 57.4 frames/s = 574 bit/s for one codebook,
# what a bit-packing or entropy coder would approach).
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
in="$(vamp_input "${1:-}" "$SYNTH_SECONDS")"
out="${2:-compressed.vtok}"
CODEBOOKS="${CODEBOOKS:-1}"

gst-launch-1.0 -q filesrc location="$in" ! decodebin ! $TO_CODEC ! \
  $ENC codebooks="$CODEBOOKS" ! vamptokfilemux ! filesink location="$out"
frames=$(vtok_frames "$out")
rate=$(vtok_field "$out" rate)
hop=$(vtok_field "$out" hop-length)
k=$(vtok_field "$out" codebooks)
bytes=$(wc -c < "$out")
awk -v f="$frames" -v r="$rate" -v h="$hop" -v k="$k" -v b="$bytes" -v o="$out" 'BEGIN {
  s = f * h / r
  printf "wrote %s: %d frames x %d codebook(s), %.2f s\n", o, f, k, s
  printf "bitrate: %.0f bit/s as stored (%d bytes), %.0f bit/s at 10 bits per token\n",
    b * 8 / s, b, k * 10 * r / h
}'
