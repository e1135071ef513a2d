#!/usr/bin/env bash
# The whole test suite: unit tests of every crate, reference-value tests
# (librosa, scikit-learn, Python torch outputs), doc examples and the
# end-to-end CLI tests, built with the `torch` feature (libtorch is fetched
# once into ./libtorch by scripts/fetch-libtorch.sh). Then the framework's
# unit tests in the default build, which has no libtorch and must say how
# to get it; it reuses the first pass's dependency builds because
# workspace-hack/ unifies their features (scripts/check-unified-features.sh).
# Slow tests are marked #[ignore]; `scripts/test.sh -- --include-ignored`
# runs them too, as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-libtorch.sh
cargo test --workspace --locked --features torch "$@"
cargo test --locked -p repbench-framework --lib
