#!/usr/bin/env bash
# Recreates everything in models/zoo/tiny/: for each tiny random-weights
# model, <name>.pt (TorchScript), <name>.json (sidecar) and
# <name>.expected.json (fixed input + the saved module's outputs).
#
#   scripts/zoo/make_venv.sh            # once: /tmp/zooenv with torch 2.13.0
#   scripts/zoo/make_tiny_fixtures.sh   # from anywhere; ZOO_VENV overrides the venv
#
# Everything is seeded; each export verifies itself and this script fails if
# any does.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${ZOO_VENV:-/tmp/zooenv}"
OUT="$ROOT/models/zoo/tiny"
cd "$ROOT"

# Small models: one thread keeps runs reproducible and light.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
rm -f "$OUT"/*.pt "$OUT"/*.json
for kind in hubert wav2vec2; do
    echo "== $kind-tiny"
    # The path in the printed TOML block is relative to the repository root.
    "$VENV/bin/python" scripts/zoo/export_wav2vec2.py --tiny "$kind" --out models/zoo/tiny
done
echo "== encodec-tiny"
"$VENV/bin/python" scripts/zoo/export_encodec.py --tiny --out models/zoo/tiny
echo "== whisper-tiny"
"$VENV/bin/python" scripts/zoo/export_whisper.py --tiny --out models/zoo/tiny
echo "== ast-tiny"
"$VENV/bin/python" scripts/zoo/export_ast.py --tiny --out models/zoo/tiny
echo "== clap-tiny"
"$VENV/bin/python" scripts/zoo/export_clap.py --tiny --out models/zoo/tiny
echo "== panns-cnn14-tiny"
"$VENV/bin/python" scripts/zoo/export_panns.py --tiny --out models/zoo/tiny
echo "== vggish-tiny"
"$VENV/bin/python" scripts/zoo/export_vggish.py --tiny --out models/zoo/tiny
ls -l "$OUT"
