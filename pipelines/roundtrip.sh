#!/bin/sh
# Codec round trip: a test melody through vampenc and vampdec (audio -> tokens -> audio).
#   pipelines/roundtrip.sh [out.wav] [input audio file]
# Without an input file, 4 s of audiotestsrc are used. Output: mono float wav at 44.1 kHz,
# the input's duration rounded up to whole token frames.
set -eu
. "$(dirname "$0")/env.sh"
out="${1:-roundtrip.wav}"
if [ $# -ge 2 ]; then
  src="filesrc location=$2 ! decodebin"
else
  src="audiotestsrc wave=sine freq=330 num-buffers=172 samplesperbuffer=1024"
fi
gst-launch-1.0 -q $src ! audioconvert ! audioresample ! \
  vampenc model="$MODELS/codec.pth" ! vampdec model="$MODELS/codec.pth" ! \
  audioconvert ! wavenc ! filesink location="$out"
echo "wrote $out"
