#!/bin/sh
# The edge side of a sampling host: encodes and masks the audio here, sends the token stream to
# pipelines/sample-host.sh, receives the variation back and decodes it here. Only tokens travel
# (about 9 kbit/s each way with RTP headers).
#   pipelines/edge-vary.sh [in-audio] [out.wav] [HOST] [STREAM]
# HOST (default 127.0.0.1) runs sample-host.sh; STREAM (1..N, default 1) picks its ports:
# out to BASE_PORT + 2*STREAM, back on BASE_PORT + 2*STREAM + 1.
# Knobs (environment): PERIOD=7, KEEP_CODEBOOKS=9 (as vary-file.sh), BASE_PORT=5000,
# RETURN_JITTER_MS=200, TIMEOUT=600 (seconds to wait for the variation),
# VAMPNET_MODELS (the codec must be the host's).
set -eu
. "$(dirname "$0")/env.sh"
vamp_tmpdir
in="$(vamp_input "${1:-}" "$SYNTH_SECONDS")"
out="${2:-edge-varied.wav}"
HOST="${3:-127.0.0.1}"
STREAM="${4:-1}"
BASE_PORT="${BASE_PORT:-5000}"
PERIOD="${PERIOD:-7}"
KEEP_CODEBOOKS="${KEEP_CODEBOOKS:-9}"
TIMEOUT="${TIMEOUT:-600}"
out_port=$((BASE_PORT + 2 * STREAM))

# Receive first (the variation comes back once the host has a window), then send.
# shellcheck disable=SC2086
gst-launch-1.0 -q -e udpsrc port=$((out_port + 1)) caps="$(rtp_caps none)" ! rtpjitterbuffer latency="${RETURN_JITTER_MS:-200}" ! \
  rtpvampdepay concealment=repeat ! $DEC ! $TO_WAV ! filesink location="$out" &
receiver=$!
# Send once it listens (its socket opens after vampdec has loaded the codec).
if command -v ss >/dev/null 2>&1; then
  for _ in $(seq 1 120); do
    ss -Huln | grep -q ":$((out_port + 1)) " && break
    sleep 0.5
  done
else
  sleep 3
fi
# shellcheck disable=SC2086
$LAUNCH filesrc location="$in" ! decodebin ! $TO_CODEC ! $ENC ! \
  vampmask periodic-prompt="$PERIOD" upper-codebook-mask="$KEEP_CODEBOOKS" seed="$SEED" ! \
  rtpvamppay ! udpsink host="$HOST" port="$out_port" sync=false async=false
# The receiver ends with the host's end packets; past TIMEOUT it is stopped (EOS: the file is
# finished with what arrived).
waited=0
while kill -0 "$receiver" 2>/dev/null && [ "$waited" -lt "$TIMEOUT" ]; do
  sleep 1
  waited=$((waited + 1))
done
if kill -0 "$receiver" 2>/dev/null; then
  echo "$0: no end of the variation after ${TIMEOUT} s; stopping" >&2
  kill -INT "$receiver"
fi
wait "$receiver"
echo "wrote $out"
