#!/usr/bin/env bash
# Fetches libtorch 2.13.0 (the version tch 0.26 is built against) from the
# PyPI wheels into ./libtorch, the folder .cargo/config.toml points LIBTORCH
# at. No Python is needed at build or run time: the wheels are zip files.
#
# Reuses ./libtorch when it already holds this version, and the downloaded
# wheels from $REPBENCH_CACHE (default ~/.cache/repbench) when present, so a
# second clone on the same machine fetches nothing.
#
# What is kept: torch/include, libtorch_cpu / libc10 / libgomp from the torch
# wheel, and libcudart / libcupti from NVIDIA's runtime wheels (libtorch_cpu
# links them even for CPU work). libtorch.so itself is replaced by an empty
# stub: the real one pulls in libtorch_cuda and the whole CUDA wheel set.
# For a GPU build, point LIBTORCH at a full CUDA libtorch instead (README).
set -euo pipefail

VERSION=2.13.0
CUDART=13.0.96
CUPTI=13.0.85
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/libtorch"
CACHE="${REPBENCH_CACHE:-$HOME/.cache/repbench}/wheels"

if [[ -f "$DEST/build-version" && "$(cat "$DEST/build-version")" == "$VERSION" && -f "$DEST/lib/libtorch_cpu.so" ]]; then
    echo "libtorch $VERSION already in $DEST"
    exit 0
fi

need() { command -v "$1" >/dev/null || { echo "fetch-libtorch: '$1' is required ($2)" >&2; exit 1; }; }
need python3 "pip downloads the wheels and zipfile unpacks them; nothing is installed"
need gcc "to build the libtorch.so stub"

mkdir -p "$CACHE"
wheel() { ls "$CACHE"/"$1"-*.whl 2>/dev/null | head -n 1; }
if [[ -z "$(wheel "torch-$VERSION")" || -z "$(wheel "nvidia_cuda_runtime-$CUDART")" || -z "$(wheel "nvidia_cuda_cupti-$CUPTI")" ]]; then
    echo "downloading torch $VERSION wheels into $CACHE (about 540 MB)"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.11 \
        --dest "$CACHE" \
        "torch==$VERSION" "nvidia-cuda-runtime==$CUDART" "nvidia-cuda-cupti==$CUPTI"
fi

STAGE="$(mktemp -d "$ROOT/.libtorch-staging.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
# Wheels are zip files: take the headers and the CPU libraries only.
python3 - "$STAGE" "$(wheel "torch-$VERSION")" "$(wheel "nvidia_cuda_runtime-$CUDART")" \
    "$(wheel "nvidia_cuda_cupti-$CUPTI")" <<'PY'
import fnmatch, os, shutil, sys, zipfile
stage, torch_whl, *nvidia = sys.argv[1:]
keep = ["torch/include/*", "torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "torch/lib/libgomp*"]
with zipfile.ZipFile(torch_whl) as z:
    z.extractall(stage, [n for n in z.namelist() if any(fnmatch.fnmatch(n, k) for k in keep)])
for whl in nvidia:
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if fnmatch.fnmatch(n, "*/libcudart.so.13") or fnmatch.fnmatch(n, "*/libcupti.so.13"):
                with z.open(n) as src, open(os.path.join(stage, "torch/lib", os.path.basename(n)), "wb") as dst:
                    shutil.copyfileobj(src, dst)
PY
gcc -shared -o "$STAGE/torch/lib/libtorch.so" -x c /dev/null
echo "$VERSION" > "$STAGE/torch/build-version"

rm -rf "$DEST"
mv "$STAGE/torch" "$DEST"
echo "libtorch $VERSION ready in $DEST"
