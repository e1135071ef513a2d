#!/usr/bin/env bash
# Checks that every dependency of repbench-framework is built with the same
# features alone (the default-feature pass of scripts/test.sh) as in the
# whole workspace with libtorch (the first pass), so the second pass reuses
# the first pass's builds instead of compiling them again (about 80 s on 2
# cores). A dependency listed below gets its missing features added to
# workspace-hack/Cargo.toml ([build-dependencies] for build scripts and proc
# macros).
set -euo pipefail
cd "$(dirname "$0")/.."
features() {
  cargo tree --locked --prefix none -e normal,build,dev -f '{p}|{f}' "$@" |
    sed -e 's/ (\*)$//' -e 's/ (proc-macro)//' -e 's/ ([^)]*)|/|/' | sort -u
}
# One after the other: two cargo processes would wait on each other's lock.
alone=$(features -p repbench-framework)
workspace=$(features --workspace --features torch)
apart=$(comm -23 <(echo "$alone") <(echo "$workspace") | grep -v '^repbench' || true)
if [ -n "$apart" ]; then
  echo "repbench-framework alone builds these dependencies with other features than the workspace does"
  echo "(package|features); add the workspace's features to workspace-hack/Cargo.toml:"
  echo "$apart"
  exit 1
fi
echo "dependency features unified: the framework's own test pass reuses the workspace build"
