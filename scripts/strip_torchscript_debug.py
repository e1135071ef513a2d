#!/usr/bin/env python3
"""Remove the debug records from TorchScript files, in place.

`torch.jit.save` stores, next to each module's code, `*.debug_pkl` records:
the Python source lines the code was traced from, with the exporting
machine's absolute file paths (virtualenv, checkout). Modules load and run
the same without them (they only enrich error messages), so every export
script in this repository strips them before it verifies the saved file:
committed models carry no machine paths, and are smaller.

Usage: scripts/strip_torchscript_debug.py FILE.pt [FILE.pt ...]
"""

import os
import sys
import zipfile


def strip(path: str) -> int:
    """Rewrites `path` without its `*.debug_pkl` entries (stored, fixed
    timestamps, original order); returns how many entries were removed."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        kept = [(info.filename, archive.read(info)) for info in infos
                if not info.filename.endswith(".debug_pkl")]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as out:
        for name, data in kept:
            out.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    os.replace(tmp, path)
    return len(infos) - len(kept)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        print(f"{path}: removed {strip(path)} debug records")


if __name__ == "__main__":
    main()
