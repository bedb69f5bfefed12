#!/usr/bin/env python3
"""Caches-off cost of the purgatory's SHA-256, per arch and implementation.

With caches off every instruction fetch and every data access is a memory trip, so the cost
per hashed byte is (instructions + data loads + data stores) per byte. The emulators count
them exactly; wall-clock time under emulation means nothing here and is not shown.

Each row hashes MiB bytes (default 1 MiB, one region) through the purgatory's own
kx_hash_regions() in a small harness ELF (bench/hash_harness/), counting only the hash code:
  x86_64, arm64, riscv64: unicorn (block hook x instructions per block, read/write hooks);
  ppc64le: qemu-ppc64le-static -d in_asm,exec,nochain (Debian's qemu 7.2 user binaries have
           no TCG plugin support), executed blocks x their instructions, loads/stores by
           capstone mnemonic;
  x86_64 SHA-NI: unicorn cannot execute it, so its loop is counted statically from the
           disassembly (instructions / memory operands per 64-byte block, per-call set-up
           left out) and both x86_64 paths are also timed natively on the host if it has SHA-NI.
riscv64 has no purgatory yet: the common sha256.c is compiled for RV64GC (zig baseline_rv64).
Rows: "baseline" = the first portable C (bench/baseline/sha256_baseline.c, unchanged),
"portable" = purgatory/common/sha256.c (C), "arm64-ce"/"x86_64-ni" = the hardware paths,
"x86_64-sse" = purgatory/x86_64/sha256_sse.S, the SSE2 path sha256_ni.S takes without SHA-NI
(unicorn's CPUID has none, so the purgatory's own objects run it; code = the SSE2 file alone);
"arm64-asm" = the scalar assembly in purgatory/arm64/sha256_ce.S that the arm64 purgatory runs
when the SHA2 instructions are absent (the C core spills there); "ppc64le-asm" = the
register-resident assembly in purgatory/ppc64/sha256_ppc64.S, which the ppc64le purgatory
always runs (the "portable" ppc64le row is the C core alone, as on a purgatory without it);
"riscv64-asm" = the register-resident RV64GC assembly in purgatory/riscv64/sha256_riscv64.S
(base ISA only, no Zbb), linked over the weak hook of the same harness.
Code size = .text bytes of the hash objects (sha256.c + sha256_arch.c; hardware rows: the
hardware file alone, arm64: CE + scalar paths and the constants table; ppc64le-asm and
riscv64-asm: the assembly file alone; the C core is linked too).

Usage: .venv/bin/python bench/purgatory_hash.py [--mib N] [--arch a,b] [--out DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "hash_harness"))

import hxrun  # noqa: E402

# kexec-tools' purgatory, per byte: instructions, loads, stores.
KEXEC = {
    "x86_64": (53.4, 3.19, 1.02),
    "arm64": (30.0, 0.70, 0.45),
    "riscv64": (63.9, 4.83, 3.00),
    "ppc64le": (36.8, 0.89, 0.59),
}
# Targets: portable instructions/byte below kexec-tools', data accesses/byte at most this;
# hardware instructions/byte at most this.
ACCESS_TARGET = {"x86_64": 1.0, "arm64": 0.25, "riscv64": 0.25, "ppc64le": 0.25}
HW_TARGET = {"arm64-ce": 2.0, "x86_64-ni": 3.0}
ARCHES = ["x86_64", "arm64", "riscv64", "ppc64le"]


def rows_for(arch: str, data: bytes, out: Path) -> list[dict]:
    rows = []
    impls = ["baseline", "portable"] + {"arm64": ["arm64-ce"], "x86_64": ["x86_64-ni", "x86_64-sse"],
                                     "ppc64le": ["ppc64le-asm"], "riscv64": ["riscv64-asm"]}.get(arch, [])
    want = hashlib.sha256(data).digest()
    for impl in impls:
        b = hxrun.build(arch, impl, out)
        if impl == "x86_64-ni":
            ins, ld, st = hxrun.static_loop(b.elf.parent / "x86_64-sha256_ni.o", "kx_arch_sha256_blocks")
            rows.append(dict(arch=arch, impl=impl, how="static loop", ins=ins / 64, ld=ld / 64,
                             st=st / 64, code=b.obj_sizes["sha256_ni.S"], ok=None))
            continue
        r = hxrun.run_any(b, data, [len(data)])
        ins, ld, st = r.per_byte()
        code = b.obj_sizes.get("sha256_ce.S", b.obj_sizes.get("sha256_ppc64.S", b.code_size))
        if impl == "riscv64-asm":
            code = b.obj_sizes["sha256_riscv64.S"]
        if impl == "x86_64-sse":
            code = b.obj_sizes["sha256_sse.S"]
        rows.append(dict(arch=arch, impl=impl, how="qemu -d exec" if arch == "ppc64le" else "unicorn",
                         ins=ins, ld=ld, st=st, code=code, ok=r.digest == want))
        if impl == "arm64-ce":
            # The same image with ID_AA64ISAR0_EL1.SHA2 read as 0: sha256_ce.S's scalar path.
            r = hxrun.run_unicorn(b, data, [len(data)], setup=hxrun.arm64_hide_sha2)
            ins, ld, st = r.per_byte()
            rows.append(dict(arch=arch, impl="arm64-asm", how="unicorn, no SHA2", ins=ins, ld=ld,
                             st=st, code=code, ok=r.digest == want))
    return rows


def verdict(r: dict) -> str:
    tot = r["ld"] + r["st"]
    if r["impl"] in ("portable", "arm64-asm", "ppc64le-asm", "x86_64-sse", "riscv64-asm"):
        ok_i = r["ins"] < KEXEC[r["arch"]][0]
        ok_a = tot <= ACCESS_TARGET[r["arch"]]
        return ("instr ok" if ok_i else "instr MISS") + ", " + \
               (f"acc ok (<={ACCESS_TARGET[r['arch']]})" if ok_a else f"acc MISS (>{ACCESS_TARGET[r['arch']]})")
    if r["impl"] in HW_TARGET:
        return "ok" if r["ins"] <= HW_TARGET[r["impl"]] else "MISS"
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=float, default=1.0)
    ap.add_argument("--arch", default=",".join(ARCHES))
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    n = int(a.mib * (1 << 20)) // 64 * 64
    data = os.urandom(n)
    out = a.out or Path(tempfile.mkdtemp(prefix="purgatory-hash-"))
    rows = []
    for arch in a.arch.split(","):
        rows += rows_for(arch, data, out)
    base = {r["arch"]: r for r in rows if r["impl"] == "baseline"}
    print(f"Purgatory SHA-256, caches-off transactions per hashed byte ({n} bytes, one region)")
    hdr = (f"{'arch':8} {'impl':11} {'counted by':16} {'instr/B':>8} {'loads/B':>8} {'stores/B':>8} "
           f"{'total/B':>8} {'code B':>7} {'x base':>7} {'x kexec':>8} {'instr x kexec':>13} {'digest':>6}  targets")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        tot = r["ins"] + r["ld"] + r["st"]
        k = KEXEC[r["arch"]]
        b = base[r["arch"]]
        btot = b["ins"] + b["ld"] + b["st"]
        ok = "-" if r["ok"] is None else ("ok" if r["ok"] else "WRONG")
        print(f"{r['arch']:8} {r['impl']:11} {r['how']:16} {r['ins']:8.2f} {r['ld']:8.3f} {r['st']:8.3f} "
              f"{tot:8.2f} {r['code']:7d} {tot / btot:7.3f} {tot / sum(k):8.3f} {r['ins'] / k[0]:13.3f} {ok:>6}  {verdict(r)}")
    print()
    print("kexec-tools purgatory reference (instr/loads/stores per byte): " +
          "; ".join(f"{a_} {k[0]}/{k[1]}/{k[2]}" for a_, k in KEXEC.items()))
    if "x86_64" in a.arch.split(","):
        reps = 40
        print(f"x86_64 native on this host ({n} bytes x {reps}, same objects/flags, Linux user mode; "
              f"x86_64-sse-direct = the SSE2 path called directly):")
        for impl in ("portable", "x86_64-sse-direct") + (("x86_64-ni",) if hxrun.host_has_sha_ni() else ()):
            exe = hxrun.build_host(impl, out)
            dg, t = hxrun.run_host(exe, data, reps)
            print(f"  {impl:17} {t / reps * 1e3 / (n / (1 << 20)):7.3f} ms/MiB  digest "
                  f"{'ok' if dg == hashlib.sha256(data).digest() else 'WRONG'}")
    return 0 if all(r["ok"] in (True, None) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
