#!/usr/bin/env bash
# Creates the Python environment the zoo export scripts run in (default
# /tmp/zooenv; first argument overrides): torch 2.13.0 (the libtorch version
# repbench links, so the saved TorchScript files match it), numpy and
# transformers at the version the fixtures were made with.
#
# torch is installed from PyPI the normal way (several GB of NVIDIA wheels
# on Linux). With ZOO_TORCH_FROM_CACHE=1 it instead reuses the torch wheel
# that scripts/fetch-libtorch.sh keeps in $REPBENCH_CACHE/wheels (default
# ~/.cache/repbench/wheels), installed with --no-deps together with the two
# cached NVIDIA runtime wheels; the other CUDA libraries torch's Python
# extension links against (cuBLAS, cuDNN, NCCL, ...) are replaced by stub
# libraries that define their symbols and are never called: the exports run
# on the CPU only (torch.cuda.is_available() is False). The stubs need nm
# and gcc. The committed tiny fixtures were made this way.
set -euo pipefail

VENV="${1:-/tmp/zooenv}"
TORCH=2.13.0
TRANSFORMERS=5.24.0
CACHE="${REPBENCH_CACHE:-$HOME/.cache/repbench}/wheels"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"

python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip

if [[ "${ZOO_TORCH_FROM_CACHE:-0}" != 1 ]]; then
    "$PY" -m pip install --quiet "torch==$TORCH"
else
    wheel() { ls "$CACHE"/"$1"-*.whl 2>/dev/null | head -n 1; }
    if [[ -z "$(wheel "torch-$TORCH")" ]]; then
        echo "no cached torch wheel in $CACHE: running scripts/fetch-libtorch.sh to download it"
        "$ROOT/scripts/fetch-libtorch.sh"
    fi
    "$PY" -m pip install --quiet --no-deps "$(wheel "torch-$TORCH")" \
        "$(wheel nvidia_cuda_runtime)" "$(wheel nvidia_cuda_cupti)"
    "$PY" -m pip install --quiet filelock typing-extensions sympy networkx jinja2 fsspec

    SP="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    LIB="$SP/nvidia/cu13/lib"
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
    # Symbols torch's libraries import that nothing present defines, with the
    # symbol version (= the library's soname, NVSHMEM for nvshmem) they ask for.
    for f in "$SP"/torch/lib/*.so; do nm -D --undefined-only "$f" | awk '{print $2}'; done | sort -u > "$WORK/undef"
    for f in "$SP"/torch/lib/*.so "$SP"/torch/lib/libgomp* "$LIB"/libcudart.so.* "$LIB"/libcupti.so.*; do
        nm -D --defined-only "$f" | awk '{print $3}'
    done | sed 's/@.*//' | sort -u > "$WORK/def"
    grep -E '^(cu|nccl|nvrtc|nvshmem|cudnn|CUfile|__cuda)' "$WORK/undef" > "$WORK/cuda" || true
    sed 's/@.*//' "$WORK/cuda" | sort -u | comm -23 - "$WORK/def" > "$WORK/missing"
    grep -v @ "$WORK/cuda" | comm -23 - "$WORK/def" > "$WORK/unversioned" || true
    stub() {  # stub <soname> [<symbol version>]
        local so=$1 ver=${2:-} c="$WORK/$1.c" map="$WORK/$1.map" vs=()
        { cat "$WORK/unversioned"; [[ -n "$ver" ]] && grep "@@*$ver\$" "$WORK/cuda" | sed 's/@.*//'; } \
            | sort -u | grep -Fxf "$WORK/missing" | awk '{print "int " $1 "(void) { return 999; }"}' > "$c" || true
        if [[ -n "$ver" ]]; then
            { echo "$ver {"; echo " global: *;"; echo "};"; } > "$map"
            vs=(-Wl,--version-script="$map")
        fi
        gcc -shared -fPIC -w -Wl,-soname,"$so" "${vs[@]}" -o "$LIB/$so" "$c"
    }
    for v in libcublasLt.so.13 libcublas.so.13 libcudnn.so.9 libnvrtc.so.13 libcufft.so.12 \
             libcusparse.so.12 libcusolver.so.12; do
        stub "$v" "$v"
    done
    stub libnvshmem_host.so.3 NVSHMEM
    for so in libnvrtc-builtins.so.13 libcurand.so.10 libnvJitLink.so.13 libcusparseLt.so.0 \
              libnccl.so.2 libcufile.so.0 libcuda.so.1; do
        stub "$so"
    done
fi

"$PY" -m pip install --quiet numpy "transformers==$TRANSFORMERS"
# PANNs CNN14 and VGGish (export_panns.py, export_vggish.py) import their
# model classes and reference front ends from these. torchvggish and
# panns-inference go in with --no-deps: torchvggish lists torch, which would
# pull the CUDA wheels into a ZOO_TORCH_FROM_CACHE venv; their other
# dependencies are on the first line.
"$PY" -m pip install --quiet "librosa==0.11.0" "torchlibrosa==0.1.0" "matplotlib==3.11.2" "resampy==0.4.3"
"$PY" -m pip install --quiet --no-deps "panns-inference==0.1.1" "torchvggish==0.2"
"$PY" -c 'import torch, transformers, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "numpy", numpy.__version__)'
