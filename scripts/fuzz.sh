#!/usr/bin/env bash
# Longer fuzzing than the test suite's 2000 inputs per target: the config loader, the
# manifest readers and the audio decoders + resampler get mutated inputs
# for SECONDS each (default 300). A failing input is saved in the system
# temp directory (the message says where); add it to the target's
# tests/fuzz_regressions/<target>/ folder so every test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
export REPBENCH_FUZZ_SECONDS="${1:-300}"
cargo test --release --locked -p repbench-framework --lib audio::fuzz_tests
cargo test --release --locked -p repbench-datasets --test fuzz_manifest
cargo test --release --locked -p repbench --bin repbench mutated_configs
