#!/usr/bin/env bash
# How long the README's test command takes on a fresh clone: a clean
# worktree of HEAD (or of the commit given as $1) with an empty
# CARGO_TARGET_DIR, so every dependency is compiled. Prints the build, the
# test run and the whole against the issue #15 target of 8 minutes, and
# the ten compile units that took longest (cargo --timings).
#
# libtorch comes from ./libtorch of this checkout (scripts/fetch-libtorch.sh
# first), linked into the worktree, so no download is timed. Needs about
# 8 GB free under $TMPDIR and a quiet machine: it uses every core.
#
#   bench/test_suite.sh            # HEAD
#   bench/test_suite.sh e764dc8    # another commit
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
REV="${1:-HEAD}"
TARGET_MINUTES=8
[ -f libtorch/lib/libtorch_cpu.so ] || scripts/fetch-libtorch.sh
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/repbench-test-suite.XXXXXX")"
cleanup() {
  git -C "$ROOT" worktree remove --force "$SCRATCH/clone" 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
git worktree add --detach -q "$SCRATCH/clone" "$REV"
ln -s "$ROOT/libtorch" "$SCRATCH/clone/libtorch"
export CARGO_TARGET_DIR="$SCRATCH/target"

echo "commit $(git rev-parse --short "$REV"), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$SCRATCH/clone"
start=$(date +%s)
cargo test --workspace --locked --features torch --no-run --timings >"$SCRATCH/build.log" 2>&1 ||
  { tail -30 "$SCRATCH/build.log"; exit 1; }
built=$(date +%s)
scripts/test.sh >"$SCRATCH/test.log" 2>&1 || { tail -60 "$SCRATCH/test.log"; exit 1; }
done_at=$(date +%s)

passed=$(grep -h "^test result" "$SCRATCH/test.log" | awk '{s += $4} END {print s}')
ignored=$(grep -h "^test result" "$SCRATCH/test.log" | awk '{s += $8} END {print s}')
python3 - "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html" <<'PY'
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
total = sum(u["duration"] for u in units)
ours = sum(u["duration"] for u in units if u["name"].startswith("repbench"))
print(f"compile units: {len(units)}, {total:.0f} s summed over units: "
      f"dependencies {total - ours:.0f} s, this workspace {ours:.0f} s")
for u in sorted(units, key=lambda u: -u["duration"])[:10]:
    print(f"  {u['duration']:6.1f} s  {u['name']} {u['target'].strip()}")
PY
awk -v b=$((built - start)) -v t=$((done_at - built)) -v goal=$TARGET_MINUTES -v p="$passed" -v i="$ignored" 'BEGIN {
  w = b + t
  printf "build (cargo test --workspace --features torch --no-run): %d min %02d s\n", b / 60, b % 60
  printf "tests (scripts/test.sh, %d passed, %d ignored): %d min %02d s\n", p, i, t / 60, t % 60
  printf "whole: %d min %02d s   target: %d min   ratio: %.2f\n", w / 60, w % 60, goal, w / (goal * 60)
}'
