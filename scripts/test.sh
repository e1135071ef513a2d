#!/usr/bin/env bash
# The whole test suite: unit tests of every crate, reference-value tests
# (librosa, scikit-learn, Python torch outputs), doc examples and the
# end-to-end CLI tests, built with the `torch` feature (libtorch is fetched
# once into ./libtorch by scripts/fetch-libtorch.sh).
#
# Slow tests are marked #[ignore]; `scripts/test.sh -- --include-ignored`
# runs them too, as CI does. The slowest of them is a build: the
# framework's unit tests in the default build, which has no libtorch and
# must say how to get it (about a minute of compiling from scratch; it
# reuses the first pass's dependency builds because workspace-hack/
# unifies their features, scripts/check-unified-features.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-libtorch.sh
cargo test --workspace --locked --features torch "$@"
for arg in "$@"; do
  if [ "$arg" = "--include-ignored" ]; then
    cargo test --locked -p repbench-framework --lib
    break
  fi
done
