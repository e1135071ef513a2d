#!/usr/bin/env bash
# Report at scale (issue #13): a real run of a 13-layer random network and
# a single-layer DSP baseline on 10 tasks under 5 perturbation sweeps of 4
# severities, then `repbench report` re-rendering its page from the run
# directory alone. Prints render time and page size beside the 2 s and
# 5 MB targets and their ratios.
#
#   bench/report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/repbench/target}"
cargo build --release --locked -q
BIN="$CARGO_TARGET_DIR/release/repbench"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
{
    cat <<'TOML'
[run]
name = "report-bench"
seed = 42
out_dir = "run"

[[datasets]]
name = "tones"
kind = "synthetic_tones"
n_items = 360

[[encoders]]
name = "random13"
kind = "random_network"
n_mels = 64
width = 64
depth = 13
seed = 7

[[encoders]]
name = "logmel"
kind = "logmel_stats"
n_mels = 64

[[perturbations]]
kind = "noise"
snr_db = [30, 20, 10, 0]

[[perturbations]]
kind = "gain"
gain_db = [-6, -12, -18, -24]

[[perturbations]]
kind = "lowpass"
cutoff_hz = [6000, 4000, 2000, 1000]

[[perturbations]]
kind = "bitcrush"
bits = [12, 10, 8, 4]

[[perturbations]]
kind = "clipping"
percentile = [99, 95, 90, 80]
TOML
    targets=(pitch_class timbre pitch loudness_db)
    types=(multiclass multiclass regression regression)
    for i in $(seq 0 9); do
        printf '\n[[tasks]]\nname = "task%02d"\ndataset = "tones"\ntarget = "%s"\ntype = "%s"\n' \
            "$i" "${targets[$((i % 4))]}" "${types[$((i % 4))]}"
    done
} > "$WORK/config.toml"
(cd "$WORK" && /usr/bin/time -f "%e" -o run.time "$BIN" run config.toml --quiet >/dev/null)
echo "run (extraction, probes, sweeps): $(cat "$WORK/run.time") s, $(wc -l < "$WORK/run/results.jsonl") records"
/usr/bin/time -f "%e %M" -o "$WORK/report.time" "$BIN" report "$WORK/run" >/dev/null
read -r seconds kib < "$WORK/report.time"
bytes=$(stat -c %s "$WORK/run/report/index.html")
charts=$(grep -o '<svg' "$WORK/run/report/index.html" | wc -l)
awk -v s="$seconds" -v k="$kib" -v b="$bytes" -v c="$charts" 'BEGIN {
    printf "report render: repbench %.2f s   target 2.0 s   ratio %.2f   peak RSS %.0f MB\n", s, s / 2.0, k / 1024
    printf "report size:   repbench %.2f MB   target 5.0 MB   ratio %.2f   (%d charts)\n", b / 1e6, b / 5e6, c }'
