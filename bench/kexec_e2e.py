#!/usr/bin/env python3
"""Hand-off latency under QEMU TCG: kexec-tools (checked / -i) vs. our bundle.

Why: the project's claim is a faster (or equally safe) kexec hand-off; this
measures it on a real kernel with the same harness the e2e tests use.  The
metric is host time from kernel A's ``KXE2E-EXEC`` console line (printed
right before the load command) to kernel B's first console line, so it
covers load + purgatory (+ digest check) + B's earliest boot.  Each row is
the median of N runs (TCG timing is noisy).  A padded B initrd (an extra cpio
member of random bytes) shows how the cost scales with the bytes hashed.

Usage: python bench/kexec_e2e.py [--runs 3] [--pad-mib 64] [--smp 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e import harness as H  # noqa: E402
from tests.e2e.debian import ensure_host_packages, fetch_guest_assets  # noqa: E402


@dataclass
class Row:
    name: str
    to_first: list[float] = field(default_factory=list)
    to_init: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    handoff: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, h: H.Handoff) -> None:
        if not h.reached_b or h.exec_to_b_first is None:
            self.failures.append(str(h.result.log))
            return
        self.to_first.append(h.exec_to_b_first)
        if h.exec_to_b_init is not None:
            self.to_init.append(h.exec_to_b_init)
        if h.load_seconds is not None:
            self.load.append(h.load_seconds)
        if h.loaded_to_b_first is not None:
            self.handoff.append(h.loaded_to_b_first)


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs):7.2f}" if xs else "      -"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pad-mib", type=int, default=64)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=240.0)
    args = ap.parse_args(argv)

    ensure_host_packages()
    assets = fetch_guest_assets("ppc64el", with_kexec_tools=True)
    pad = args.pad_mib << 20
    print(f"kernel {assets.kernel_package} ({assets.kernel_version}), -smp {args.smp}, "
          f"{args.runs} runs each, pad {args.pad_mib} MiB", flush=True)

    cases: list[tuple[str, Callable[[int], H.Handoff]]] = []
    for pad_bytes, label in ((0, "base"), (pad, f"+{args.pad_mib}MiB")):
        for no_checks in (False, True):
            name = f"kexec-tools {'-i' if no_checks else 'checked'} {label}"
            cases.append((name, lambda i, nc=no_checks, pb=pad_bytes, n=name: H.run_kexec_tools(
                assets, no_checks=nc, pad_bytes=pb, smp=args.smp, timeout=args.timeout,
                name=n.replace(" ", "_") + f"-run{i}")))

    # ---- OURS: "ours verified" / "ours fast" rows --------------------------------------
    # TODO(ours): fill in when the toolchain can build a bundle for this scenario.  Build a
    # bundle per (verify, pad) with tests/e2e/recipes.py (ppc64le_recipe + build_bundle,
    # using the captured DT from tests/e2e/fdt.capture_fdt) and append rows like:
    #   cases.append((f"ours verified {label}", lambda i: H.run_our_bundle(
    #       bundle_verified, H.kxload_path(), smp=args.smp, assets=assets, name=...)))
    #   cases.append((f"ours fast {label}", lambda i: H.run_our_bundle(bundle_fast, ...)))
    why = H.our_pieces_missing("ppc64le")
    if why:
        print(f"(ours verified / ours fast rows skipped: {why})", flush=True)
    # -------------------------------------------------------------------------------------

    rows: list[Row] = []
    for name, run in cases:
        row = Row(name)
        for i in range(args.runs):
            h = run(i)
            row.add(h)
            t = h.exec_to_b_first
            print(f"  [load avg {os.getloadavg()[0]:.1f}] {name} run {i}: exec->B first line "
                  f"{'FAILED ' + str(h.result.log) if not h.reached_b or t is None else f'{t:.2f}s'}"
                  f" (boot cycle {h.result.elapsed:.1f}s)", flush=True)
        rows.append(row)

    print()
    print("load: EXEC->LOADED (kexec -l); exec->B: LOADED->B 1st line (kexec -e, purgatory, B start);")
    print("->B 1st: EXEC->B 1st line (the headline: load + hand-off); ->B init: EXEC->B's /init")
    print(f"{'case':32} {'load':>7} {'exec->B':>7} {'->B 1st':>7} {'->B init':>8} {'fail':>4}  (median s)")
    for r in rows:
        print(f"{r.name:32} {med(r.load)} {med(r.handoff)} {med(r.to_first)} {med(r.to_init):>8} "
              f"{len(r.failures):4}")
    for r in rows:
        for f in r.failures:
            print(f"failed: {r.name}: {f}")
    return 1 if any(r.failures for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
