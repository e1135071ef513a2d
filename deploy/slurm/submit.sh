#!/bin/bash
# Submits N extraction shards as a job array and the evaluation after them.
#
#   deploy/slurm/submit.sh configs/my_experiment.toml 8
set -euo pipefail
CONFIG="${1:?usage: submit.sh CONFIG N}"
N="${2:?usage: submit.sh CONFIG N}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p logs
repbench validate "$CONFIG"
array=$(sbatch --parsable --array=0-$((N - 1)) "$HERE/extract.sbatch" "$CONFIG")
sbatch --dependency=afterok:"$array" "$HERE/evaluate.sbatch" "$CONFIG"
