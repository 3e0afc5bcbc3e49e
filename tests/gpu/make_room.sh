#!/bin/sh
# Makes room in the working tree for training music before a device call, and puts things back:
# the device receives at most 64 MiB (tracked files included), and the goldens that only the CPU
# tests need are 17 MB of it. tests/gpu/train.sh then runs gpu_check's codec check alone, which
# needs codec_a.pth and golden_codec_a.pt.
#   sh tests/gpu/make_room.sh aside     (before the call; prints the size that will travel)
#   sh tests/gpu/make_room.sh back      (after it)
set -eu
cd "$(dirname "$0")/../.."
ASIDE=${ASIDE:-/tmp/vamp-aside}
case "${1:-}" in
  aside)
    mkdir -p "$ASIDE/tests/data" "$ASIDE/pipelines"
    for f in $(git ls-files tests/data pipelines/example.wav); do
      case "$f" in tests/data/codec_a.pth|tests/data/golden_codec_a.pt) continue ;; esac
      [ -f "$f" ] && mv "$f" "$ASIDE/$f"
    done
    bytes=$(git ls-files | while read -r f; do [ -f "$f" ] && echo "$f"; done | xargs du -cb | tail -1 | cut -f1)
    pack=$(du -b .carry/train.pack 2>/dev/null | cut -f1 || echo 0)
    echo "tree $bytes bytes + pack ${pack:-0} bytes (limit 67108864)" ;;
  back)
    (cd "$ASIDE" && find . -type f) | while read -r f; do mv "$ASIDE/$f" "$f"; done
    git status --short | grep '^ D' && { echo "still missing (above)" >&2; exit 1; } || echo "restored" ;;
  *) echo "usage: $0 aside|back" >&2; exit 2 ;;
esac
