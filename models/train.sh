#!/bin/sh
# Trains the default model set from scratch: music -> codec -> coarse -> c2f -> quality report.
#   models/train.sh [OUTDIR]        (default: out/train; the shipped set is models/default)
# Environment:
#   VAMP_TRAIN   the vamp-train binary (default: build/engine/vamp-train)
#   DATA         training music folder with train/ and heldout/ (default: data-music, made by
#                models/make_music.py when missing)
#   DEVICE       cpu | cuda (default cpu)
#   CODEC_MIN, COARSE_MIN, C2F_MIN   minutes per model; the learning-rate schedule follows the
#                clock (defaults 2.4, 0.75, 0.45: the shipped set's budget on one H200)
#   CODEC_BATCH, TF_BATCH, THREADS   (defaults 48, 64, 8)
#   QDROP        the codec's quantizer dropout (default 0.5)
#   CODEBOOKS    the codec's RVQ stages (default 14, as released and shipped); with INIT_DIR, more
#                than the init codec has appends stages (its codes stay) and grows c2f to match
#   TF_PARALLEL  1: coarse and c2f train at the same time (both only need the codec; on a GPU they
#                share it well, since neither fills it)
#   INIT_DIR     continue from the models in this folder (fresh optimizer) instead of random ones
# Each run is resumable (<model>.state) and logs its losses to <model>.log.csv; the report is
# written to OUTDIR/quality.txt and the loss curves to OUTDIR/loss.png.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
OUTDIR="${1:-$here/out/train}"
T="${VAMP_TRAIN:-$here/build/engine/vamp-train}"
DATA="${DATA:-$here/data-music}"
DEVICE="${DEVICE:-cpu}"
THREADS="${THREADS:-8}"
mkdir -p "$OUTDIR"
[ -d "$DATA/train" ] || /usr/bin/python3 "$here/models/make_music.py" "$DATA"

init() { [ -n "${INIT_DIR:-}" ] && echo "--init $INIT_DIR/$1" || true; }
run() { echo "== $*" >&2; "$@"; }

run "$T" codec --device "$DEVICE" --data "$DATA/train" --out "$OUTDIR/codec.pth" $(init codec.pth) \
  --steps 1000000 --batch "${CODEC_BATCH:-48}" --max-minutes "${CODEC_MIN:-2.4}" --save-every 1000 --threads "$THREADS" \
  --quantizer-dropout "${QDROP:-0.5}" --codebooks "${CODEBOOKS:-14}"
# transformer coarse|c2f MINUTES
transformer() {
  run "$T" "$1" --device "$DEVICE" --codec "$OUTDIR/codec.pth" --data "$DATA/train" --out "$OUTDIR/$1.pth" \
    $(init "$1.pth") --steps 1000000 --batch "${TF_BATCH:-64}" --max-minutes "$2" --save-every 1000 --threads "$THREADS"
}
if [ "${TF_PARALLEL:-0}" = 1 ]; then
  transformer coarse "${COARSE_MIN:-0.75}" & coarse_pid=$!
  transformer c2f "${C2F_MIN:-0.45}"
  wait $coarse_pid
else
  transformer coarse "${COARSE_MIN:-0.75}"
  transformer c2f "${C2F_MIN:-0.45}"
fi
[ "${EVAL:-1}" = 1 ] || exit 0
run "$T" eval --codec "$OUTDIR/codec.pth" --coarse "$OUTDIR/coarse.pth" --c2f "$OUTDIR/c2f.pth" \
  --train "$DATA/train" --heldout "$DATA/heldout" --threads "$THREADS" | tee "$OUTDIR/quality.txt"
/usr/bin/python3 "$here/models/plot_loss.py" "$OUTDIR/loss.png" "$OUTDIR/codec.pth.log.csv" \
  "$OUTDIR/coarse.pth.log.csv" "$OUTDIR/c2f.pth.log.csv" --columns loss,mel,si_sdr,accuracy
