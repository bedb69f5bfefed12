"""Build-speed benchmark: prints a table of medians (not a test; these machines are noisy).

Measures, side by side in one run:
  cold      `scons recipe=ppc64-fast` with an empty build/ (zig cache included)
  no-op     the same again, nothing to do
  recipe    a recipe-only change (cmdline=...): plan, patch, emit; no compile, no link
  initrd    the same recipe with a 64 MiB initrd vs a 4 KiB one (emit cost of big inputs)
  all -j2   `scons recipe=all -j2` from cold vs the sum of cold single-recipe builds
Each row is the median of N runs (default 3; `--runs N`).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def scons(*args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "SCons", "-Q", *args], cwd=REPO, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"scons {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return dt


def clean() -> None:
    shutil.rmtree(REPO / "build", ignore_errors=True)


def median(fn, runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from toolchain import recipe as recipemod

    recipes = recipemod.known_recipes()
    rows: list[tuple[str, float, str]] = []

    def cold() -> float:
        clean()
        return scons("recipe=ppc64-fast")

    c = median(cold, args.runs)
    rows.append(("cold scons recipe=ppc64-fast", c, "target <= 3 s"))
    scons("recipe=ppc64-fast")
    rows.append(("no-op rebuild", median(lambda: scons("recipe=ppc64-fast"), args.runs), "target <= 0.3 s"))
    counter = iter(range(10**6))
    rows.append(("recipe-only change (cmdline)",
                 median(lambda: scons("recipe=ppc64-fast", f"cmdline=console=hvc0 n={next(counter)}"), args.runs),
                 "target <= 0.5 s"))
    with tempfile.TemporaryDirectory() as d:
        small, big = Path(d) / "small", Path(d) / "big"
        small.write_bytes(os.urandom(4096))
        big.write_bytes(os.urandom(64 << 20))
        t_small = median(lambda: scons("recipe=ppc64-verified", f"initrd={small}", f"cmdline=s{next(counter)}"), args.runs)
        t_big = median(lambda: scons("recipe=ppc64-verified", f"initrd={big}", f"cmdline=b{next(counter)}"), args.runs)
    rows.append(("verified, 4 KiB initrd (plan+patch+emit)", t_small, ""))
    rows.append(("verified, 64 MiB initrd (plan+patch+emit)", t_big, f"+{t_big - t_small:.2f} s; target <= +0.5 s"))

    def all_j2() -> float:
        clean()
        return scons("recipe=all", "-j2")

    def singles() -> float:
        total = 0.0
        for name in recipes:
            clean()
            total += scons(f"recipe={name}")
        return total

    a = median(all_j2, args.runs)
    s = median(singles, args.runs)
    rows.append((f"recipe=all -j2 ({len(recipes)} recipes, cold)", a, f"{a / s:.2f}x of the sum of singles"))
    rows.append((f"sum of {len(recipes)} cold single builds", s, ""))

    w = max(len(r[0]) for r in rows)
    print(f"{'build step':<{w}}  {'median s':>9}  note")
    print("-" * (w + 30))
    for name, t, note in rows:
        print(f"{name:<{w}}  {t:>9.3f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
