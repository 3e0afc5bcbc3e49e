#!/bin/sh
# A sampling host: receives N token streams (masked, from pipelines/edge-vary.sh on edge hosts),
# regenerates each with its own vampsample and sends each result back. All samplers run in one
# process: one model set, one scheduler, so their windows are batched on a GPU.
#   pipelines/sample-host.sh [N] [RETURN_HOST]
# Stream i (1..N) comes in on port BASE_PORT + 2i and goes back to RETURN_HOST (default
# 127.0.0.1) port BASE_PORT + 2i + 1. Serves one session per stream and exits when every edge
# has ended its stream (rtpvamppay's end packets); run it under a supervisor to serve the next.
# Lost packets are concealed by regenerating the lost frames (rtpvampdepay's inpaint).
# Knobs (environment): BASE_PORT=5000, JITTER_MS=200 (rtpjitterbuffer latency), WINDOW=230, CONTEXT=57,
# MAX_BATCH, BATCH_TIMEOUT_MS, STEPS, C2F_STEPS, SEED, THREADS, PRECISION, VAMPNET_MODELS.
set -eu
. "$(dirname "$0")/env.sh"
N="${1:-2}"
RETURN_HOST="${2:-127.0.0.1}"
BASE_PORT="${BASE_PORT:-5000}"
JITTER_MS="${JITTER_MS:-200}"
WINDOW="${WINDOW:-230}"
CONTEXT="${CONTEXT:-57}"
batch="$(batch_props)"

branches=""
i=1
while [ "$i" -le "$N" ]; do
  in_port=$((BASE_PORT + 2 * i))
  branches="$branches udpsrc port=$in_port caps=$(rtp_caps plane) !
    rtpjitterbuffer latency=$JITTER_MS ! rtpvampdepay !
    $SAMPLE seed=$((SEED + i)) window-frames=$WINDOW context-frames=$CONTEXT $batch name=sample$i !
    rtpvamppay ! udpsink host=$RETURN_HOST port=$((in_port + 1)) sync=false async=false"
  echo "stream $i: in on port $in_port, back to $RETURN_HOST:$((in_port + 1))" >&2
  i=$((i + 1))
done
# shellcheck disable=SC2086
exec $LAUNCH $branches
