#!/bin/sh
# Generative compression, step 2: regenerate the codebooks a token file lacks (compress.sh
# keeps the lowest one) with VampNet, and decode to audio.
#   pipelines/decompress.sh [in.vtok] [out.wav]
# in.vtok defaults to compressed.vtok; out.wav to decompressed.wav.
# Knobs (environment): STEPS, C2F_STEPS, SEED, THREADS, VAMPNET_MODELS.
# How: vampparse reads the caps from the file's header; vampmask keeps every stored token
# (n-conditioning-codebooks=64, nothing forced to be generated); vampsample takes token streams
# with fewer codebooks than its models and generates the missing ones.
set -eu
. "$(dirname "$0")/env.sh"
in="${1:-compressed.vtok}"
out="${2:-decompressed.wav}"
[ -f "$in" ] || { echo "$0: no such file: $in (make one with compress.sh)" >&2; exit 1; }

$LAUNCH filesrc location="$in" ! vampparse ! \
  vampmask periodic-prompt=0 n-conditioning-codebooks=64 upper-codebook-mask=64 ! \
  $SAMPLE ! $DEC ! $TO_WAV ! filesink location="$out"
echo "wrote $out"
