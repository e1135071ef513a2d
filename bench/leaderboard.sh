#!/usr/bin/env bash
# Leaderboard at scale (issue #12): 100 run directories of 10 816 records
# each (2 encoders x 13 layers x 8 tasks x 4 metrics, clean and 12
# perturbation severities) with their predictions.jsonl, all over one
# test set, merged by `repbench leaderboard`. Prints the time and peak
# memory beside the 5 s target and their ratio.
#
#   bench/leaderboard.sh [RUNS]      (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/repbench/target}"
cargo build --release --locked -q
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cargo bench --locked -q -p repbench-reports --bench leaderboard_data -- "$WORK/runs" "$RUNS"
du -sh "$WORK/runs" | awk '{print "on disk: " $1}'
for format in html csv; do
    /usr/bin/time -f "%e %M" -o "$WORK/time" \
        "$CARGO_TARGET_DIR/release/repbench" leaderboard "$WORK"/runs/* \
        --format "$format" --out "$WORK/board.$format" 2>/dev/null >/dev/null
    read -r seconds kib < "$WORK/time"
    awk -v s="$seconds" -v k="$kib" -v f="$format" -v r="$RUNS" 'BEGIN {
        printf "leaderboard (%s) over %d runs: repbench %.2f s   target 5.0 s   ratio %.2f   peak RSS %.0f MB\n",
            f, r, s, s / 5.0, k / 1024 }'
done
echo "entries ranked: $(($(wc -l < "$WORK/board.csv") - 1))"
