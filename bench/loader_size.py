"""Size report for the five static kxload binaries (built via loader/build.py).

Prints arch, stripped size, the 16 KiB limit and the ratio; always exits 0 (a report,
not a test: tests/loader checks the limit).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    spec = importlib.util.spec_from_file_location("kxload_build", REPO / "loader" / "build.py")
    kxbuild = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kxbuild)
    paths = kxbuild.build_all(sys.argv[1:] or None)
    limit = kxbuild.SIZE_LIMIT
    print(f"{'arch':<8} {'size':>6} {'limit':>6} {'ratio':>6}")
    for arch, path in paths.items():
        size = path.stat().st_size
        print(f"{arch:<8} {size:>6} {limit:>6} {size / limit:>6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
