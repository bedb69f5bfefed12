#!/usr/bin/env python3
"""Hand-off latency under QEMU TCG: kexec-tools (checked / -i) vs. our bundle.

Why: the project's claim is a faster (or equally safe) kexec hand-off; this
measures it on a real kernel with the same harness the e2e tests use.  The
metric is host time from kernel A's ``KXE2E-EXEC`` console line (printed
right before the load command) to kernel B's first console line, so it
covers load + purgatory (+ digest check) + B's earliest boot.  Each row is
the median of N runs (TCG timing is noisy).  A padded B initrd (an extra cpio
member of random bytes) shows how the cost scales with the bytes hashed.

Arches: ppc64el (pseries/POWER9), amd64 (q35, -cpu max), arm64 (virt/cortex-a57, EL1), all
under TCG with Debian's 6.1 kernel as both A and B.  The ratio columns divide each
row's median by the kexec-tools medians of the same arch and initrd (checked, -i).

Usage: python bench/kexec_e2e.py [--runs 3] [--pad-mib 64] [--smp 2] [--arch amd64 ...]
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
from tests.e2e import recipes as R  # noqa: E402
from tests.e2e.debian import GuestAssets, cache_dir, ensure_host_packages, fetch_guest_assets  # noqa: E402
from tests.e2e.fdt import capture_fdt  # noqa: E402

#: Debian arch -> (our arch name, recipe builder)
OUR_ARCH = {"ppc64el": "ppc64le", "amd64": "x86_64", "arm64": "arm64"}


@dataclass
class Row:
    name: str
    arch: str = ""
    pad: str = ""
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


def our_bundle(assets: GuestAssets, facts, verify: bool, pad_bytes: int, label: str) -> Path:
    """Build the bundle for (arch, verify, pad) from the captured machine facts."""
    arch = OUR_ARCH[assets.arch]
    tag = f"bench-{arch}-{'verified' if verify else 'fast'}-{label.strip('+')}"
    work = cache_dir() / "bench" / tag
    work.mkdir(parents=True, exist_ok=True)
    initrd = work / "b.cpio"
    initrd.write_bytes(H.b_initrd(assets, pad_bytes))
    cmdline = H.b_cmdline(assets.arch)
    if arch == "ppc64le":
        recipe = R.ppc64le_recipe(assets.kernel, initrd, facts, cmdline, verify=verify)
    elif arch == "x86_64":
        recipe = R.x86_64_recipe(assets.kernel, initrd, facts, cmdline, verify=verify)
    else:
        recipe = R.arm64_recipe(assets.kernel, initrd, facts, cmdline, verify=verify)
    return R.build_bundle(R.write_recipe(work, recipe, name=tag), work / "out")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pad-mib", type=int, default=64)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=240.0)
    ap.add_argument("--arch", action="append", choices=sorted(OUR_ARCH),
                    help="Debian arch to run (repeatable; default: all three)")
    args = ap.parse_args(argv)

    ensure_host_packages()
    pad = args.pad_mib << 20
    cases: list[tuple[str, str, str, Callable[[int], H.Handoff]]] = []
    for deb_arch in args.arch or ["ppc64el", "amd64", "arm64"]:
        assets = fetch_guest_assets(deb_arch, with_kexec_tools=True)
        print(f"{deb_arch}: kernel {assets.kernel_package} ({assets.kernel_version}), -smp {args.smp}, "
              f"{args.runs} runs each, pad {args.pad_mib} MiB", flush=True)
        facts = capture_fdt(assets, smp=args.smp, mem="1G", machine=deb_arch)
        arch = OUR_ARCH[deb_arch]
        why = H.our_pieces_missing(arch)
        if why:
            from loader.build import build_loader

            build_loader(arch, H.kxload_path(arch).parent)
            why = H.our_pieces_missing(arch)
        for pad_bytes, label in ((0, "base"), (pad, f"+{args.pad_mib}MiB")):
            for no_checks in (False, True):
                name = f"{deb_arch} kexec-tools {'-i' if no_checks else 'checked'} {label}"
                cases.append((name, deb_arch, label, lambda i, a=assets, nc=no_checks, pb=pad_bytes, n=name:
                              H.run_kexec_tools(a, no_checks=nc, pad_bytes=pb, smp=args.smp,
                                                timeout=args.timeout, name=n.replace(" ", "_") + f"-run{i}")))
            if why:
                print(f"({deb_arch}: ours verified / ours fast rows skipped: {why})", flush=True)
                continue
            for verify in (True, False):
                name = f"{deb_arch} ours {'verified' if verify else 'fast'} {label}"
                bundle = our_bundle(assets, facts, verify, pad_bytes, label)
                cases.append((name, deb_arch, label, lambda i, a=assets, b=bundle, n=name, k=H.kxload_path(arch):
                              H.run_our_bundle(b, k, smp=args.smp, assets=a, timeout=args.timeout,
                                               name=n.replace(" ", "_") + f"-run{i}")))

    rows: list[Row] = []
    for name, deb_arch, label, run in cases:
        row = Row(name, deb_arch, label)
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
    print("vs kt: ->B 1st divided by kexec-tools' (checked / -i) for the same arch and initrd")
    ref: dict[tuple[str, str, str], float] = {}
    for r in rows:
        if " kexec-tools " in r.name and r.to_first:
            ref[(r.arch, r.pad, "-i" if " -i " in r.name else "checked")] = statistics.median(r.to_first)

    def ratio(r: Row, which: str) -> str:
        base = ref.get((r.arch, r.pad, which))
        return f"{statistics.median(r.to_first) / base:6.2f}" if base and r.to_first else "     -"

    print(f"{'case':40} {'load':>7} {'exec->B':>7} {'->B 1st':>7} {'->B init':>8} "
          f"{'vs kt':>6} {'vs -i':>6} {'fail':>4}  (median s, {args.runs} run(s))")
    for r in rows:
        print(f"{r.name:40} {med(r.load)} {med(r.handoff)} {med(r.to_first)} {med(r.to_init):>8} "
              f"{ratio(r, 'checked')} {ratio(r, '-i')} {len(r.failures):4}")
    for r in rows:
        for f in r.failures:
            print(f"failed: {r.name}: {f}")
    return 1 if any(r.failures for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
