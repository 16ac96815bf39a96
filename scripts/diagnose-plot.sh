#!/usr/bin/env bash
# Makes the README's diagnose figure, docs/diagnose.png, with the command itself: a tanh row
# and a relu row, each with a good and a bad initializer, forward and backward.
# Usage: scripts/diagnose-plot.sh [OUTPUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/diagnose.png}"
mkdir -p "$(dirname "$out")"
cargo build --release --quiet
./target/release/varscale diagnose \
  --depth 50 --width 512 --batch 1024 --seed 0 \
  --activation tanh --activation relu \
  --init glorot_normal --init he_normal --init 'normal(mean=0, std=1)' \
  --every 7 --plot "$out"
echo "wrote $out" >&2
