# Sourced by the pipeline scripts: the plugin, models and tools of one build tree.
#   VAMP_BUILD_DIR   the build tree (default: build/ next to this folder)
#   VAMPNET_MODELS   folder with codec.pth, coarse.pth, c2f.pth (default: models/default, our
#                    small trained set; see docs/weights.md)
#   STEPS, C2F_STEPS, SEED, THREADS   sampling knobs shared by the scripts (defaults below)
#   PRECISION        vampsample's transformer arithmetic: fp32 (default, exact) or, on the CPU,
#                    int8 or bf16 (faster, not bit-exact; docs/performance.md)
#   SYNTH_SECONDS    length of the synthesized input used when no input file is given
# Paths must not contain spaces (they go into gst-launch descriptions).
here="$(cd "$(dirname "$0")/.." && pwd)"
VAMP_BUILD_DIR="$(cd "${VAMP_BUILD_DIR:-$here/build}" 2>/dev/null && pwd)" || {
  echo "$0: no build tree at ${VAMP_BUILD_DIR:-$here/build} (run ./setup.sh build)" >&2
  exit 1
}
export GST_PLUGIN_PATH="$VAMP_BUILD_DIR/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
MODELS="${VAMPNET_MODELS:-$here/models/default}"
export VAMPNET_MODELS="$MODELS"
for f in codec.pth coarse.pth c2f.pth; do
  [ -f "$MODELS/$f" ] || { echo "$0: $MODELS/$f is missing" >&2; exit 1; }
done
VAMP_CLI="$VAMP_BUILD_DIR/engine/vamp-cli"

STEPS="${STEPS:-24}"
C2F_STEPS="${C2F_STEPS:-2}"
SEED="${SEED:-0}"
THREADS="${THREADS:-0}"
PRECISION="${PRECISION:-fp32}"
SYNTH_SECONDS="${SYNTH_SECONDS:-10}"

# Element descriptions with the models of this build (or VAMPNET_MODELS).
ENC="vampenc model=$MODELS/codec.pth threads=$THREADS"
DEC="vampdec model=$MODELS/codec.pth threads=$THREADS"
SAMPLE="vampsample coarse-model=$MODELS/coarse.pth c2f-model=$MODELS/c2f.pth codec-model=$MODELS/codec.pth threads=$THREADS steps=$STEPS c2f-steps=$C2F_STEPS seed=$SEED precision=$PRECISION"
# Any audio in, mono at the codec's rate out.
TO_CODEC="audioconvert ! audioresample ! audio/x-raw,channels=1"
TO_WAV="audioconvert ! audio/x-raw,format=F32LE ! wavenc"

# vampsample's batching properties from MAX_BATCH and BATCH_TIMEOUT_MS (default: the element's).
batch_props() {
  [ -z "${MAX_BATCH:-}" ] || printf 'max-batch=%s ' "$MAX_BATCH"
  [ -z "${BATCH_TIMEOUT_MS:-}" ] || printf 'batch-timeout=%s' "$((BATCH_TIMEOUT_MS * 1000000))"
}

# gst-launch that prints the latency and vampsample's real-time factor, when built.
if [ -x "$VAMP_BUILD_DIR/pipelines/vamp-launch" ]; then
  LAUNCH="$VAMP_BUILD_DIR/pipelines/vamp-launch"
else
  LAUNCH="gst-launch-1.0 -q"
fi

# A scratch folder removed on exit.
vamp_tmpdir() {
  VAMP_TMP="$(mktemp -d "${TMPDIR:-/tmp}/vamp.XXXXXX")"
  trap 'rm -rf "$VAMP_TMP"' EXIT INT TERM
}

# vamp_synth OUT.wav SECONDS [ROOT_HZ] [BEAT_NS]: a music-like test input: a major triad on
# ROOT_HZ (default 220) with a tick every BEAT_NS (default 500 ms: 120 BPM), mono, 44.1 kHz.
vamp_synth() {
  _n=$(awk -v s="$2" 'BEGIN { printf "%d", s * 100 + 0.5 }')  # buffers of 441 samples
  _r="${3:-220}"
  _b="${4:-500000000}"
  _t="audiotestsrc num-buffers=$_n samplesperbuffer=441"
  gst-launch-1.0 -q audiomixer name=mix ! audio/x-raw,rate=44100,channels=1 ! $TO_WAV ! \
    filesink location="$1" \
    $_t wave=sine volume=0.15 freq="$_r" ! mix. \
    $_t wave=sine volume=0.12 freq="$(awk -v r="$_r" 'BEGIN { print r * 1.25992 }')" ! mix. \
    $_t wave=triangle volume=0.1 freq="$(awk -v r="$_r" 'BEGIN { print r * 1.49831 }')" ! mix. \
    $_t wave=ticks volume=0.6 freq=1760 tick-interval="$_b" ! mix.
}

# vamp_input FILE|"" SECONDS: prints the input to use: FILE, or a synthesized one in $VAMP_TMP.
vamp_input() {
  if [ -n "$1" ]; then
    [ -f "$1" ] || { echo "$0: no such file: $1" >&2; exit 1; }
    echo "$1"
  else
    vamp_synth "$VAMP_TMP/synth.wav" "$2"
    echo "$VAMP_TMP/synth.wav"
  fi
}

# vamp_to_wav IN OUT.wav: any audio file -> mono float wav at the codec's rate (44.1 kHz).
vamp_to_wav() {
  gst-launch-1.0 -q filesrc location="$1" ! decodebin ! $TO_CODEC ! audioresample ! \
    audio/x-raw,rate=44100 ! $TO_WAV ! filesink location="$2"
}

# ---- token files (.vtok, docs/token-file.md): header, then fixed-size frame records ----------
# vtok_header_size FILE: bytes before the first frame (12 + the caps string's length).
vtok_header_size() {
  echo $((12 + $(od -An -tu4 -j8 -N4 "$1" | tr -d ' ')))
}
# vtok_caps FILE: the caps string of the header.
vtok_caps() {
  _len=$(od -An -tu4 -j8 -N4 "$1" | tr -d ' ')
  tail -c +13 "$1" | head -c "$_len"
}
# vtok_field FILE NAME: an int field of the caps (codebooks, rate, hop-length).
vtok_field() {
  vtok_caps "$1" | tr ',' '\n' | sed -n "s/^ *$2=(int)//p"
}
# vtok_frame_bytes FILE: bytes per frame record.
vtok_frame_bytes() {
  _k=$(vtok_field "$1" codebooks)
  case "$(vtok_caps "$1")" in
    *mask=\(string\)plane*) echo $((3 * _k)) ;;
    *) echo $((2 * _k)) ;;
  esac
}
# vtok_frames FILE: number of frames in the file.
vtok_frames() {
  _h=$(vtok_header_size "$1")
  echo $((($(wc -c < "$1") - _h) / $(vtok_frame_bytes "$1")))
}
# vtok_cut FILE FIRST COUNT: writes frames [FIRST, FIRST+COUNT) (no header) to stdout.
vtok_cut() {
  _h=$(vtok_header_size "$1")
  _fb=$(vtok_frame_bytes "$1")
  tail -c +$((_h + $2 * _fb + 1)) "$1" | head -c $(($3 * _fb))
}
# vtok_header FILE: writes the header to stdout.
vtok_header() {
  head -c "$(vtok_header_size "$1")" "$1"
}
# seconds_to_frames SECONDS: whole token frames (rounded) at 44100/768.
seconds_to_frames() {
  awk -v s="$1" 'BEGIN { printf "%d", s * 44100 / 768 + 0.5 }'
}
# frames_to_ns FRAMES: a time that vampmask's ceil rule turns back into exactly FRAMES frames.
frames_to_ns() {
  awk -v f="$1" 'BEGIN { if (f <= 0) print 0; else printf "%.0f", (f - 0.5) * 768 / 44100 * 1e9 }'
}
# wav_seconds FILE: duration of a PCM/float wav (walks the RIFF chunks).
wav_seconds() {
  _size=$(wc -c < "$1")
  _pos=12
  _rate=0
  _align=0
  while [ $((_pos + 8)) -le "$_size" ]; do
    _id=$(dd if="$1" bs=1 skip=$_pos count=4 2>/dev/null)
    _len=$(od -An -tu4 -j$((_pos + 4)) -N4 "$1" | tr -d ' ')
    case "$_id" in
      "fmt ")
        _rate=$(od -An -tu4 -j$((_pos + 12)) -N4 "$1" | tr -d ' ')
        _align=$(od -An -tu2 -j$((_pos + 20)) -N2 "$1" | tr -d ' ')
        ;;
      data)
        [ "$_len" -gt $((_size - _pos - 8)) ] && _len=$((_size - _pos - 8))
        awk -v n="$_len" -v a="$_align" -v r="$_rate" 'BEGIN { printf "%.3f\n", n / a / r }'
        return 0
        ;;
    esac
    _pos=$((_pos + 8 + _len + _len % 2))
  done
  echo "$1: no data chunk" >&2
  return 1
}

# ---- token streams over the network (docs/pipelines.md, "Past one machine") ------------------
# rtp_caps none|plane [CODEBOOKS]: RTP caps of a token stream of the released codec's framing
# (44.1 kHz, hop 768, 1024 entries; 14 codebooks by default), as udpsrc needs them
# (rtpvamppay negotiates the same).
rtp_caps() {
  echo "application/x-rtp,media=audio,clock-rate=44100,encoding-name=X-VAMP-TOKENS,payload=96,hop-length=(string)768,codebooks=(string)${2:-14},codebook-size=(string)1024,mask=(string)$1"
}
