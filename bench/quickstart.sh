#!/usr/bin/env bash
# Times the quickstart cold (empty cache) and warm (everything cached) in one
# run and prints the ratio. Usage: bench/quickstart.sh  (builds --release)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/repbench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }
t0=$(now); "$bin" run configs/quickstart.toml --out "$out" --quiet >/dev/null; t1=$(now)
cp "$out/results.jsonl" "$out/first.jsonl"
"$bin" run configs/quickstart.toml --out "$out" --quiet >/dev/null; t2=$(now)
cmp -s "$out/first.jsonl" "$out/results.jsonl" && same=yes || same=NO
python3 - "$t0" "$t1" "$t2" "$same" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
cold, warm = t1 - t0, t2 - t1
print(f"quickstart cold {cold:.2f} s, warm {warm:.3f} s, speed-up {cold / warm:.0f}x, results identical: {sys.argv[4]}")
PY
