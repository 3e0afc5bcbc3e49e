#!/bin/sh
# The default codec for recorded music: freely licensed recordings (models/real_music.py), then the
# codec's decoder replaced by an inverse-STFT one and trained adversarially on them. The encoder
# and codebooks, and so the tokens, stay those of INIT: the coarse and c2f models trained on that
# codec stay valid. Then its first 7 blocks fine-tuned (the set's 30 MB budget), the fp16 export
# that ships, and the held-out report (docs/training.md, "Recorded music").
#   models/train_real.sh [OUTDIR]        (default: out/train-real)
# Environment:
#   VAMP_TRAIN   the vamp-train binary (default: build/engine/vamp-train)
#   DATA         folder with train/ and heldout-clips/ (default: data-real, made when missing)
#   INIT         the codec whose encoder and codebooks are kept (default: models/default/codec.pth;
#                its decoder, whichever family, is replaced by a fresh one)
#   MODELS       coarse.pth and c2f.pth for the report's variation (default: models/default)
#   DECODER_MIN  minutes of decoder training (default 70); the learning rate follows the clock
#   SHORT_MIN    minutes of the 7-block fine-tune (default 35)
#   THREADS      (default 2)
# Resumable: rerun the same command; the budget counts the minutes already spent.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
OUTDIR="${1:-$here/out/train-real}"
T="${VAMP_TRAIN:-$here/build/engine/vamp-train}"
DATA="${DATA:-$here/data-real}"
MODELS="${MODELS:-$here/models/default}"
THREADS="${THREADS:-2}"
mkdir -p "$OUTDIR"
[ -d "$DATA/train" ] || /usr/bin/python3 "$here/models/real_music.py" "$DATA"
run() { echo "== $*" >&2; "$@"; }

# Discriminators from the start; the correlation term keeps pitch (the phase of overlapping
# frames), the 4096/2048-point STFT loss resolves single partials, the level loss the loudness.
losses="--decoder-only --adversarial --correlation-loss --stft-loss --level-loss --quantizer-dropout 0.2"
# shellcheck disable=SC2086
run "$T" codec --data "$DATA/train" --out "$OUTDIR/codec8.pth" --init "${INIT:-$here/models/default/codec.pth}" \
  --decoder istft $losses \
  --lr 5e-4 --batch 8 --steps 1000000 --max-minutes "${DECODER_MIN:-70}" --save-every 100 --threads "$THREADS"
# One block less: 9.7 M parameters instead of 10.6 M; the discriminators continue (codec8.pth.disc).
# shellcheck disable=SC2086
run "$T" codec --data "$DATA/train" --out "$OUTDIR/codec7.pth" --init "$OUTDIR/codec8.pth" --decoder-layers 7 \
  $losses --lr 2e-4 --batch 8 --steps 1000000 --max-minutes "${SHORT_MIN:-35}" --save-every 100 --threads "$THREADS"
run "$T" export --in "$OUTDIR/codec7.pth" --out "$OUTDIR/codec.pth"

run "$T" eval --codec "$OUTDIR/codec.pth" --coarse "$MODELS/coarse.pth" --c2f "$MODELS/c2f.pth" \
  --clips "$DATA/heldout-clips" --measures-only --threads "$THREADS" | tee "$OUTDIR/quality.txt"
