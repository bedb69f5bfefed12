"""Run a guest kernel under QEMU TCG and watch its console as it streams.

Why streaming with timestamps: the e2e assertions are about *what* the guest
printed (markers from kernel A's and kernel B's /init), and the benchmark is
about *when* (host time from A's exec marker to B's first console line).  QEMU
always runs under a hard timeout and is killed on the way out, so a hung
purgatory costs one timeout, never a stuck test session.  The full console,
with host timestamps, is saved to a log file for diagnosis.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

#: printk time prefix, e.g. "[    0.000000] "; kernel B's clock restarts from 0.
PRINTK_TIME = re.compile(r"^\[\s*(\d+)\.(\d+)\]")


@dataclass(frozen=True)
class MachineConfig:
    """QEMU machine options per machine key (a Debian arch, or a variant like ``arm64-el2``).

    ``-no-reboot`` turns both ``poweroff -f`` and ``panic=1`` into a QEMU exit,
    so the end of a run is visible as process exit.  ``console_args`` are the
    kernel command-line options both kernel A and kernel B need to talk on the
    serial console from their first line on (FACTS.md: x86 B needs
    ``earlyprintk``, arm64 B ``earlycon``).
    """

    qemu: str
    args: tuple[str, ...]
    console: str
    console_args: str = ""

    @property
    def console_cmdline(self) -> str:
        return f"console={self.console} {self.console_args}".strip()


MACHINES: dict[str, MachineConfig] = {
    "ppc64el": MachineConfig(
        "qemu-system-ppc64",
        ("-M", "pseries", "-cpu", "POWER9", "-nographic", "-vga", "none", "-no-reboot"),
        "hvc0",
    ),
    # -cpu max (what FACTS.md's probes used) rather than the default qemu64: both boot
    # Debian's 6.1 kernel under TCG; see KX_E2E_X86_CPU below for the comparison knob.
    "amd64": MachineConfig(
        "qemu-system-x86_64",
        ("-M", "q35", "-cpu", os.environ.get("KX_E2E_X86_CPU", "max"), "-nographic", "-no-reboot"),
        "ttyS0",
        "earlyprintk=serial,ttyS0,115200",
    ),
    "arm64": MachineConfig(
        "qemu-system-aarch64",
        ("-M", "virt", "-cpu", "cortex-a57", "-nographic", "-no-reboot"),
        "ttyAMA0",
        "earlycon=pl011,0x9000000",
    ),
    # Kernel A boots at EL2 (hyp stub); kexec then enters our purgatory at EL2.
    "arm64-el2": MachineConfig(
        "qemu-system-aarch64",
        ("-M", "virt,virtualization=on", "-cpu", "cortex-a57", "-nographic", "-no-reboot"),
        "ttyAMA0",
        "earlycon=pl011,0x9000000",
    ),
}


@dataclass(frozen=True)
class Line:
    t: float  # host seconds since QEMU was started
    text: str

    @property
    def printk_time(self) -> float | None:
        m = PRINTK_TIME.match(self.text)
        return float(f"{m.group(1)}.{m.group(2)}") if m else None


@dataclass
class Result:
    lines: list[Line]
    returncode: int | None
    timed_out: bool
    elapsed: float
    log: Path | None
    cmd: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(l.text for l in self.lines)

    def find(self, needle: str, after: float = -1.0) -> Line | None:
        """First line containing ``needle`` printed after host time ``after``."""
        for l in self.lines:
            if l.t > after and needle in l.text:
                return l
        return None

    def index(self, needle: str) -> int | None:
        for i, l in enumerate(self.lines):
            if needle in l.text:
                return i
        return None

    def tail(self, n: int = 40) -> str:
        return "\n".join(l.text for l in self.lines[-n:])


class Qemu:
    """One QEMU process; a reader thread collects console lines as they arrive."""

    def __init__(self, cmd: Sequence[str], log: Path | None = None) -> None:
        self.cmd = list(cmd)
        self.log = log
        self.lines: list[Line] = []
        self._cond = threading.Condition()
        self._done = False
        self.t0 = 0.0
        self.proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._logfh = None

    def start(self) -> "Qemu":
        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            self._logfh = open(self.log, "w", encoding="utf-8", errors="replace")
            self._logfh.write("# " + " ".join(self.cmd) + "\n")
        self.t0 = time.monotonic()
        # Own process group so the kill also takes anything QEMU spawned; stdin
        # closed so -nographic never puts a terminal into raw mode.
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()
        return self

    def _add(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").replace("\r", "").rstrip("\n")
        line = Line(time.monotonic() - self.t0, text)
        with self._cond:
            self.lines.append(line)
            self._cond.notify_all()
        if self._logfh:
            self._logfh.write(f"{line.t:9.3f} {text}\n")
            self._logfh.flush()

    def _reader(self) -> None:
        assert self.proc and self.proc.stdout
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                self._add(raw)
        if buf:
            self._add(buf)
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def wait_for(self, needles: Iterable[str], timeout: float) -> Line | None:
        """Block until a line contains any of ``needles``, QEMU exits, or timeout."""
        needles = list(needles)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for l in self.lines[seen:]:
                    if any(n in l.text for n in needles):
                        return l
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if self._done or left <= 0:
                    return None
                self._cond.wait(min(left, 1.0))

    def wait_exit(self, timeout: float) -> bool:
        """True if QEMU exited (and its output was drained) before ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._done:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 1.0))
        assert self.proc
        self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        return True

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self._thread:
            self._thread.join(timeout=5)
        if self._logfh:
            self._logfh.close()
            self._logfh = None

    def __enter__(self) -> "Qemu":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def qemu_cmd(
    kernel: Path,
    initrd: Path,
    append: str,
    arch: str = "ppc64el",
    smp: int = 2,
    mem: str = "1G",
    extra: Sequence[str] = (),
) -> list[str]:
    m = MACHINES[arch]
    return [
        m.qemu, *m.args, "-m", mem, "-smp", str(smp),
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", append, *extra,
    ]


def run_vm(
    kernel: Path,
    initrd: Path,
    *,
    arch: str = "ppc64el",
    append: str | None = None,
    smp: int = 2,
    mem: str = "1G",
    timeout: float = 120.0,
    log: Path | None = None,
    stop_on: Sequence[str] = (),
    linger: float = 0.0,
    extra: Sequence[str] = (),
) -> Result:
    """Boot, collect the console until QEMU exits, a ``stop_on`` marker, or timeout.

    Guests end with ``poweroff -f`` (or panic with ``panic=1``), which with
    ``-no-reboot`` makes QEMU exit on its own; ``stop_on`` is for guests that
    would otherwise keep running.  ``linger`` keeps reading a moment after a
    stop marker so the lines right after it are in the log too.
    """
    if append is None:
        append = f"{MACHINES[arch].console_cmdline} panic=1"
    cmd = qemu_cmd(kernel, initrd, append, arch, smp, mem, extra)
    q = Qemu(cmd, log)
    timed_out = False
    with q:
        if stop_on:
            hit = q.wait_for(stop_on, timeout)
            if hit is None and not q._done:
                timed_out = True
            elif hit is not None and linger:
                q.wait_exit(linger)
        elif not q.wait_exit(timeout):
            timed_out = True
        rc = q.proc.poll() if q.proc else None
    elapsed = time.monotonic() - q.t0
    if timed_out and q.log:
        with open(q.log, "a") as fh:
            fh.write(f"# TIMEOUT after {timeout}s\n")
    return Result(list(q.lines), rc, timed_out, elapsed, log, cmd)
