#!/usr/bin/env bash
# The whole test suite: unit tests of every crate, reference-value tests
# (librosa, scikit-learn), doc examples and the end-to-end CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
