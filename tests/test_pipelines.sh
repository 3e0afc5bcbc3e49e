#!/bin/sh
# Smoke test of pipelines/*.sh on the build's default (tiny, random) models: each script runs
# with tiny settings (3 s inputs, 2 steps) and its output must exist with the expected length.
#   VAMP_BUILD_DIR=build VAMP_TEST_TMP=/tmp tests/test_pipelines.sh [script-name...]
set -u
repo="$(cd "$(dirname "$0")/.." && pwd)"
: "${VAMP_BUILD_DIR:=$repo/build}"
out="${VAMP_TEST_TMP:-${TMPDIR:-/tmp}}/pipelines-out"
rm -rf "$out"
mkdir -p "$out"
export VAMP_BUILD_DIR SYNTH_SECONDS=3 STEPS=2 C2F_STEPS=1 SEED=1
unset VAMPNET_MODELS
. "$repo/pipelines/env.sh"
P="$repo/pipelines"
frame=$(awk 'BEGIN { print 768 / 44100 }')
failed=0
passed=0

# expect_seconds FILE SECONDS [TOLERANCE]: the wav exists and lasts SECONDS (+- TOLERANCE s).
expect_seconds() {
  if [ ! -s "$1" ]; then
    echo "  FAIL: $1 missing or empty"
    return 1
  fi
  d=$(wav_seconds "$1") || { echo "  FAIL: $1 is not a wav"; return 1; }
  if awk -v d="$d" -v e="$2" -v t="${3:-0.01}" 'BEGIN { exit !(d >= e - t && d <= e + t) }'; then
    echo "  ok: $(basename "$1") lasts $d s"
  else
    echo "  FAIL: $(basename "$1") lasts $d s, expected $2 s (+- ${3:-0.01})"
    return 1
  fi
}
# Frames of the 3 s synthesized input (the last partial frame is padded) and their length.
in_frames=$(awk -v s="$SYNTH_SECONDS" 'BEGIN { f = s * 44100 / 768; printf "%d", (f == int(f)) ? f : int(f) + 1 }')
secs() { awk -v f="$1" 'BEGIN { printf "%.4f", f * 768 / 44100 }'; }

run() {
  name="$1"
  shift
  case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
  echo "== $name"
  start=$(date +%s)
  if ( cd "$out" && "$@" ) > "$out/$name.log" 2>&1 && check_"$name"; then
    passed=$((passed + 1))
    echo "  ($(($(date +%s) - start)) s)"
  else
    failed=$((failed + 1))
    echo "  FAIL: $name; its output:"
    sed 's/^/    | /' "$out/$name.log" | tail -40
  fi
}

check_vary_file() { expect_seconds "$out/varied.wav" "$(secs "$in_frames")"; }
check_live_vary() {
  grep -q "^latency: live=yes min=" "$out/live_vary.log" || { echo "  FAIL: no latency printed"; return 1; }
  grep "^latency:" "$out/live_vary.log" | sed 's/^/  /'
  # EOS comes 3 s after PLAYING; the latency and the live start shift that by up to ~2 s
  expect_seconds "$out/live.wav" 3.5 2
}
check_looper() { expect_seconds "$out/loop.wav" "$(secs $((3 * $(seconds_to_frames 1))))"; }
check_interlude() {
  expect_seconds "$out/interlude.wav" "$(secs $((2 * in_frames + $(seconds_to_frames 1))))"
}
check_compress() {
  grep -q "^bitrate: .* 574 bit/s at 10 bits per token" "$out/compress.log" ||
    { echo "  FAIL: no bitrate line"; return 1; }
  grep "^bitrate" "$out/compress.log" | sed 's/^/  /'
  [ "$(vtok_field "$out/c.vtok" codebooks)" = 1 ] || { echo "  FAIL: c.vtok has not 1 codebook"; return 1; }
  [ "$(vtok_frames "$out/c.vtok")" = "$in_frames" ] || { echo "  FAIL: c.vtok frames"; return 1; }
}
check_decompress() { expect_seconds "$out/d.wav" "$(secs "$in_frames")"; }
# vamp-cli reads the token file vamptokfilemux wrote, and vampparse the one vamp-cli writes.
check_cli_vtok() {
  expect_seconds "$out/cli.wav" "$(secs "$in_frames")" &&
    [ "$(vtok_frames "$out/cli.vtok")" = "$in_frames" ] ||
    { echo "  FAIL: cli.vtok frames"; return 1; }
}
check_beat_vary() { expect_seconds "$out/beat-varied.wav" "$(secs "$in_frames")"; }
check_multi_stream() {
  expect_seconds "$out/stream-1.wav" "$(secs "$in_frames")" &&
    expect_seconds "$out/stream-2.wav" "$(secs "$in_frames")" &&
    ! cmp -s "$out/stream-1.wav" "$out/stream-2.wav" ||
    { echo "  FAIL: the streams are identical or missing"; return 1; }
}

# no_silent_frame FILE: no token frame (768 samples) of the float wav is digital silence.
no_silent_frame() {
  /usr/bin/python3 - "$1" <<'PY' || { echo "  FAIL: $1 has a silent frame"; return 1; }
import struct, sys
d = open(sys.argv[1], "rb").read()
at = d.index(b"data") + 8
x = struct.unpack("<%df" % ((len(d) - at) // 4), d[at:at + (len(d) - at) // 4 * 4])
silent = [i for i in range(0, len(x) - 767, 768) if max(abs(v) for v in x[i:i + 768]) == 0]
sys.exit(1 if silent else 0)
PY
}
# Two edges against one sampling host over loopback UDP: both variations come back whole.
check_sample_host() {
  expect_seconds "$out/edge-1.wav" "$(secs "$in_frames")" &&
    expect_seconds "$out/edge-2.wav" "$(secs "$in_frames")" &&
    grep -q "^host exited 0" "$out/sample_host.log" || { echo "  FAIL: the host did not finish"; return 1; }
}
sample_host() {
  export BASE_PORT=$((20000 + $$ % 20000 * 2))
  "$P/sample-host.sh" 2 > host.log 2>&1 &
  host=$!
  # The edges send once the host listens (its sockets open after its models have loaded).
  for _ in $(seq 1 120); do
    ss -Huln | grep -q ":$((BASE_PORT + 4)) " && break
    sleep 0.5
  done
  TIMEOUT=240 "$P/edge-vary.sh" "" edge-1.wav 127.0.0.1 1 &
  e1=$!
  TIMEOUT=240 "$P/edge-vary.sh" "" edge-2.wav 127.0.0.1 2
  wait "$e1"
  wait "$host"
  echo "host exited $?"
}
# A token file over loopback UDP and back into a file: the same bytes (tokens, caps, frame count).
udp_lossless() {
  port=$((21000 + $$ % 20000 * 2))
  id=$(vtok_caps c.vtok | sed -n 's/.*codec-id=(string)\([0-9a-f]*\).*/\1/p')
  caps="$(rtp_caps none "$(vtok_field c.vtok codebooks)"),codec-id=(string)$id"
  gst-launch-1.0 -q udpsrc port=$port caps="$caps" ! rtpjitterbuffer ! \
    rtpvampdepay concealment=repeat ! vamptokfilemux ! filesink location=udp.vtok &
  receiver=$!
  for _ in $(seq 1 60); do ss -Huln | grep -q ":$port " && break; sleep 0.5; done
  gst-launch-1.0 -q filesrc location=c.vtok ! vampparse frames-per-buffer=5 ! rtpvamppay ! \
    udpsink host=127.0.0.1 port=$port
  wait $receiver
}
check_udp_lossless() {
  cmp "$out/c.vtok" "$out/udp.vtok" && echo "  ok: udp.vtok equals c.vtok" ||
    { echo "  FAIL: the tokens came back different"; return 1; }
}
# 10% packet loss on the way to vampsample (87 packets of 2 frames): the output has the input's
# length (to a frame) and no hole, and frames were concealed.
net_loss() {
  vamp_synth in.wav "$SYNTH_SECONDS"
  GST_DEBUG=rtpvampdepay:5 GST_DEBUG_FILE=depay.log \
  gst-launch-1.0 -q filesrc location=in.wav ! decodebin ! $TO_CODEC ! $ENC frames-per-buffer=2 ! \
    rtpvamppay ! netsim drop-probability=0.1 ! rtpvampdepay name=depay ! $SAMPLE ! $DEC ! \
    $TO_WAV ! filesink location=loss.wav
}
check_net_loss() {
  expect_seconds "$out/loss.wav" "$(secs "$in_frames")" 0.001 && no_silent_frame "$out/loss.wav" &&
    echo "  ok: $(grep -c "concealing frames" "$out/depay.log") losses concealed" &&
    grep -q "concealing frames" "$out/depay.log"
}

run vary_file "$P/vary-file.sh" "" varied.wav
run live_vary env DURATION=3 WINDOW=28 CONTEXT=29 "$P/live-vary.sh" test live.wav  # processing measured
run looper env LOOP=1 REPEATS=3 "$P/looper.sh" "" loop.wav
run interlude env GAP=1 PROMPT=0.5 "$P/interlude.sh" interlude.wav
run compress "$P/compress.sh" "" c.vtok
run decompress "$P/decompress.sh" c.vtok d.wav
run udp_lossless udp_lossless
run cli_vtok sh -c "'$VAMP_CLI' decode --codec '$MODELS/codec.pth' --in c.vtok --out cli.wav &&
  '$VAMP_CLI' encode --codec '$MODELS/codec.pth' --in cli.wav --out cli.vtok &&
  gst-launch-1.0 -q filesrc location=cli.vtok ! vampparse ! vampdec ! fakesink"
run beat_vary "$P/beat-vary.sh" "" beat-varied.wav
run multi_stream env N=2 "$P/multi-stream.sh" "" stream
run sample_host sample_host
run net_loss net_loss

echo "pipelines: $passed passed, $failed failed (outputs in $out)"
[ "$failed" -eq 0 ]
