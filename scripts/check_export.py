#!/usr/bin/env python3
"""Check that `repbench export` round-trips through pandas.

Exports the long table of RUN_DIR as Parquet and as CSV with the given
repbench binary, reads both with pandas (`read_parquet`, `read_csv`) and
compares every column with the run's own `results.jsonl` read by
`pandas.read_json(lines=True)`: strings equal, numbers equal to the last
bit (null/NaN where the record has null), `params` spread into one
`param_<name>` column per hyper-parameter. Exits 1 on the first mismatch.

    python3 scripts/check_export.py --repbench target/release/repbench runs/quickstart

Needs pandas and pyarrow (`pip install pandas pyarrow`); CI does not run it.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

# Columns of results.jsonl that the long table carries as they are.
PLAIN = [
    "run_id", "encoder", "layer", "dataset", "task", "evaluator", "probe",
    "perturbation", "severity", "seed", "metric", "higher_is_better", "value",
    "ci_low", "ci_high", "n", "probe_seed", "seed_sd", "undefined_resamples",
    "implementation", "test_set", "valid_score", "versus_encoder",
    "versus_layer", "embedding_key", "config_hash", "repbench_version",
]
# Columns a record may leave out, and what their absence means.
ABSENT = {"undefined_resamples": 0}


def missing(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def same(a, b):
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return str(a) == str(b)


def compare(name, table, records):
    if len(table) != len(records):
        sys.exit(f"{name}: {len(table)} rows, results.jsonl has {len(records)}")
    params = sorted({k for r in records for k in (r.get("params") or {})})
    for column in PLAIN + [f"param_{p}" for p in params]:
        if column not in table.columns:
            sys.exit(f"{name}: no column {column}")
    for i, record in enumerate(records):
        for column in PLAIN:
            want = record.get(column, ABSENT.get(column))
            got = table[column].iloc[i]
            if not same(got, want):
                sys.exit(f"{name}: row {i} column {column}: {got!r} != {want!r}")
        for p in params:
            want = (record.get("params") or {}).get(p)
            got = table[f"param_{p}"].iloc[i]
            if not same(got, want):
                sys.exit(f"{name}: row {i} param_{p}: {got!r} != {want!r}")


def read_csv(path):
    # CSV has no types: layer names stay text.
    return pd.read_csv(
        path, dtype={"layer": str, "versus_layer": str}
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repbench", default="target/release/repbench")
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    with open(args.run_dir / "results.jsonl") as f:
        records = [json.loads(line) for line in f if line.strip()]
    # pandas itself reads the run's file too, as a user would.
    by_pandas = pd.read_json(args.run_dir / "results.jsonl", lines=True)
    if len(by_pandas) != len(records):
        sys.exit("pandas.read_json reads another number of records")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, read in [("parquet", pd.read_parquet), ("csv", read_csv)]:
            out = Path(tmp) / f"long.{fmt}"
            subprocess.run(
                [args.repbench, "export", str(args.run_dir), "--format", fmt,
                 "--out", str(out)],
                check=True, stdout=subprocess.DEVNULL,
            )
            table = read(out)
            compare(fmt, table, records)
            print(f"{fmt}: {len(table)} rows x {len(table.columns)} columns equal results.jsonl")


if __name__ == "__main__":
    main()
