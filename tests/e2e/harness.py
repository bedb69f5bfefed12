"""Kexec hand-off runs: kernel A loads and executes kernel B, the host watches.

Why one module: the pytest tests and ``bench/kexec_e2e.py`` must run exactly
the same scenario, so the image building, the QEMU run and the reading of the
console (did B boot? with which cmdline? how long from A's exec marker to B's
first line?) live here once.

Two loaders plug into the same scenario:
* Debian's kexec-tools (``run_kexec_tools``) — the known-good reference that
  validates the harness itself;
* our own ``kxload`` + ``bundle.kxb`` (``run_our_bundle``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import initramfs as I
from .debian import ARCHES, REPO_ROOT, GuestAssets, cache_dir
from .qemu import Line, MACHINES, Result, run_vm

DEFAULT_TIMEOUT = 180.0

#: Lines kernel A prints while shutting down for kexec; never B's first line.
_A_SHUTDOWN_HINTS = ("kexec", "Starting new kernel", "reboot:", "Bye!")


@dataclass
class Handoff:
    """What a hand-off run showed on the console."""

    result: Result
    exec_line: Line | None
    loaded_line: Line | None
    b_first_line: Line | None
    b_booted: Line | None
    b_cmdline: str | None

    @property
    def reached_b(self) -> bool:
        return self.b_booted is not None

    @property
    def exec_to_b_first(self) -> float | None:
        """Host seconds from ``KXE2E-EXEC`` to kernel B's first console line."""
        if self.exec_line and self.b_first_line:
            return self.b_first_line.t - self.exec_line.t
        return None

    @property
    def loaded_to_b_first(self) -> float | None:
        """Host seconds from ``KXE2E-LOADED`` (before ``kexec -e``) to B's first line:
        the hand-off proper (shutdown of A, purgatory incl. any digest check, B's start)."""
        if self.loaded_line and self.b_first_line:
            return self.b_first_line.t - self.loaded_line.t
        return None

    @property
    def exec_to_b_init(self) -> float | None:
        if self.exec_line and self.b_booted:
            return self.b_booted.t - self.exec_line.t
        return None

    @property
    def load_seconds(self) -> float | None:
        if self.exec_line and self.loaded_line:
            return self.loaded_line.t - self.exec_line.t
        return None


def b_first_line(lines: list[Line], after: Line) -> Line | None:
    """Kernel B's first console line after A's exec marker.

    Kernel B's printk clock restarts, so its first line is the first one whose
    printk timestamp drops below the highest one A printed after the marker
    (A's shutdown messages keep rising).  Untimestamped lines after the marker
    (purgatory output, if any) are not B's.
    """
    started = False
    high = -1.0
    for l in lines:
        if l is after:
            started = True
            continue
        if not started:
            continue
        pt = l.printk_time
        if pt is None:
            continue
        if high >= 0 and pt < high:
            return l
        high = max(high, pt)
    # A printed no timestamped line after the marker: take the first kernel line.
    return None


def analyse(result: Result) -> Handoff:
    exec_line = result.find(I.MARK_EXEC + "\n") or next(
        (l for l in result.lines if l.text == I.MARK_EXEC), None
    )
    # kexec-tools runs print our LOADED marker between `kexec -l` and `kexec -e`; our
    # kxload loads and executes in one call and reports "loaded <bundle>: ..." in between.
    loaded = next((l for l in result.lines
                   if l.text == I.MARK_LOADED or l.text.startswith("loaded /bundle.kxb:")), None)
    booted = next((l for l in result.lines if l.text == I.MARK_B_BOOTED), None)
    cmdline = next(
        (l.text[len(I.MARK_B_CMDLINE) :].strip() for l in result.lines
         if l.text.startswith(I.MARK_B_CMDLINE)),
        None,
    )
    first = b_first_line(result.lines, exec_line) if exec_line else None
    return Handoff(result, exec_line, loaded, first, booted, cmdline)


def log_dir() -> Path:
    d = cache_dir() / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def b_initrd(assets: GuestAssets, pad_bytes: int = 0) -> bytes:
    cpio = I.b_initramfs(assets.busybox)
    return I.padded(cpio, pad_bytes) if pad_bytes else cpio


def b_cmdline(machine: str, marker: str = "KXMARK=1") -> str:
    """Kernel B's command line: the machine's console options plus the marker B echoes."""
    return f"{MACHINES[machine].console_cmdline} {marker}"


def run_kexec_tools(
    assets: GuestAssets,
    *,
    no_checks: bool = False,
    pad_bytes: int = 0,
    append_b: str | None = None,
    smp: int = 2,
    mem: str = "1G",
    timeout: float = DEFAULT_TIMEOUT,
    name: str | None = None,
    machine: str | None = None,
) -> Handoff:
    """A runs ``kexec [-i] -l /vmlinux --initrd=/b.cpio --append=... && kexec -e``.

    kexec-tools builds B's device tree from A's live /proc/device-tree, so
    this run needs nothing from our toolchain: it validates the harness.
    """
    if assets.kexec is None:
        raise RuntimeError("assets fetched without kexec-tools")
    machine = machine or assets.arch
    if append_b is None:
        append_b = b_cmdline(machine)
    name = name or f"kexec-tools-{machine}{'-i' if no_checks else ''}-pad{pad_bytes >> 20}M-smp{smp}"
    work = Path(tempfile.mkdtemp(prefix="kxe2e-", dir=cache_dir()))
    try:
        a_cpio = I.a_initramfs_kexec_tools(
            assets.busybox,
            assets.root,
            ARCHES[assets.arch].triplet,
            assets.kernel,
            b_initrd(assets, pad_bytes),
            append_b,
            "-i" if no_checks else "",
        )
        (work / "a.cpio").write_bytes(a_cpio)
        res = run_vm(assets.kernel, work / "a.cpio", arch=machine, smp=smp, mem=mem,
                     timeout=timeout, log=log_dir() / f"{name}.log",
                     stop_on=(I.MARK_B_BOOTED,), linger=15.0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return analyse(res)


# --------------------------------------------------------------------------- our pieces


def kxload_path(arch: str = "ppc64le") -> Path:
    return REPO_ROOT / "build" / "loader" / arch / "kxload"


def our_pieces_missing(arch: str = "ppc64le") -> str | None:
    """Why the tests of our own loader/toolchain cannot run yet (None if they can)."""
    k = kxload_path(arch)
    if not (k.is_file() and os.access(k, os.X_OK)):
        return f"{k.relative_to(REPO_ROOT)} not built yet"
    r = subprocess.run([sys.executable, "-m", "toolchain", "--help"], cwd=REPO_ROOT,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "`python -m toolchain` is not runnable yet: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def run_our_bundle(
    bundle_path: Path,
    kxload_path: Path,
    smp: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    assets: GuestAssets | None = None,
    mem: str = "1G",
    name: str = "ours",
    stop_on: tuple[str, ...] = (I.MARK_B_BOOTED,),
    linger: float = 15.0,
    machine: str | None = None,
) -> Handoff:
    """A runs ``/kxload --exec /bundle.kxb``; wait for B's marker or the timeout.

    Kernel A is the same Debian kernel as in the kexec-tools runs, so a
    difference in outcome points at the bundle or the loader.  Returns the
    console lines with host timestamps (``.result.lines``) plus the analysis.
    """
    if assets is None:
        from .debian import fetch_guest_assets

        assets = fetch_guest_assets("ppc64el", with_kexec_tools=False)
    work = Path(tempfile.mkdtemp(prefix="kxe2e-", dir=cache_dir()))
    try:
        (work / "a.cpio").write_bytes(I.a_initramfs_ours(assets.busybox, kxload_path, bundle_path))
        res = run_vm(assets.kernel, work / "a.cpio", arch=machine or assets.arch, smp=smp, mem=mem,
                     timeout=timeout, log=log_dir() / f"{name}-smp{smp}.log",
                     stop_on=stop_on, linger=linger)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return analyse(res)


def tamper(bundle: Path, segment: str) -> None:
    """Test-only: change one byte of a segment and re-seal the file (table sha, CRC).

    The loader's checks pass (the file is self-consistent); only the purgatory's digest,
    computed at build time over the original bytes, can notice.
    """
    from toolchain import bundle as kxb

    b = kxb.read(bundle)
    segs = []
    for s in b.segments:
        data = bytes(s.data)
        if s.name == segment:
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0x40]) + data[mid + 1:]
        segs.append(kxb.Segment(s.name, s.kind, s.mem, s.memsz, data, s.flags))
    bundle.write_bytes(kxb.to_bytes(kxb.Bundle(b.arch_code, b.entry, b.page_size, b.flags, segs)))


def describe(h: Handoff) -> str:
    """One paragraph for assertion messages: where it stopped and the console tail."""
    r = h.result
    return (
        f"timed_out={r.timed_out} rc={r.returncode} elapsed={r.elapsed:.1f}s "
        f"exec={h.exec_line is not None} loaded={h.loaded_line is not None} "
        f"b_first={h.b_first_line.text if h.b_first_line else None!r} "
        f"b_booted={h.reached_b} log={r.log}\n--- console tail ---\n{r.tail(30)}"
    )


__all__ = [
    "Handoff", "analyse", "b_first_line", "b_initrd", "describe", "run_kexec_tools",
    "run_our_bundle", "our_pieces_missing", "kxload_path", "MACHINES", "time", "tamper",
    "b_cmdline",
]
