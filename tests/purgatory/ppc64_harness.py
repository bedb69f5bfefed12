"""Build and run helpers for the ppc64le purgatory tests.

The *test link* reuses the very object files build_purgatory compiled (common code plus the
ppc64 objects that are safe in Linux user mode) and adds purgatory/ppc64/test/ (a user-mode
_start and replacements of the console, hand-off and halt), linked by
purgatory/ppc64/test/link.ld as a static program at 0x10000000 for qemu-ppc64le-static.
"""
from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from toolchain import elfimage
from toolchain.arches import get
from toolchain.arches.base import REPO
from toolchain.build import build_purgatory, compile_command, link_command, run, sources
from toolchain.patch import patch_symbols

ARCH = get("ppc64le")
TEST_SRC = REPO / "purgatory" / "ppc64" / "test"
# Objects of purgatory/ppc64 that need a real machine (hypercalls, rfid, the image head):
# the test link leaves them out; test/stubs.c and test/start.S stand in for them.
MACHINE_ONLY = {"ppc64-head.o", "ppc64-handoff.o", "ppc64-console.o"}
QEMU = ARCH.qemu_user or "qemu-ppc64le-static"
HANDOFF_RE = re.compile(
    r"KXTEST handoff r3=(0x[0-9a-f]+) r4=(0x[0-9a-f]+) r5=(0x[0-9a-f]+) cpu=(0x[0-9a-f]+|none)")


def build_real(out_dir: Path, base: int = 0x2FF00000) -> Path:
    return build_purgatory(ARCH, base, out_dir)


def build_test_link(real_dir: Path, out_dir: Path) -> Path:
    """Link the objects left by build_real in ``real_dir`` with the user-mode test files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = out_dir / "zig-cache"
    objs = sorted(p for p in real_dir.glob("*.o") if p.name not in MACHINE_ONLY)
    for src in sources(TEST_SRC):
        obj = out_dir / f"test-{src.stem}.o"
        run(compile_command(ARCH, src, obj), cache)
        objs.append(obj)
    elf = out_dir / "purgatory-test.elf"
    run(link_command(ARCH, objs, TEST_SRC / "link.ld", elf), cache)
    return elf


@dataclass
class Result:
    rc: int
    out: str

    @property
    def handoff(self) -> dict[str, int | None] | None:
        m = HANDOFF_RE.search(self.out)
        if not m:
            return None
        return {"r3": int(m[1], 16), "r4": int(m[2], 16), "r5": int(m[3], 16),
                "cpu": None if m[4] == "none" else int(m[4], 16)}


class TestImage:
    """A linked test program plus the addresses of its test globals."""

    def __init__(self, elf: Path) -> None:
        self.elf = elf
        img = elfimage.read(elf)
        self.symbols = img.symbols
        self.buf = img.symbols["kx_test_buf"].value
        self.buf_size = img.symbols["kx_test_buf"].size
        self.dt = img.symbols["kx_test_dt"].value

    def run(self, work: Path, values: dict[str, bytes], timeout: float = 60) -> Result:
        dst = work / "patched.elf"
        patch_symbols(self.elf, dst, values)
        dst.chmod(0o755)
        proc = subprocess.run([QEMU, str(dst)], capture_output=True, timeout=timeout)
        return Result(proc.returncode, proc.stdout.decode("latin-1"))


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def regions(table: list[tuple[int, int]]) -> bytes:
    assert len(table) <= 16
    table = table + [(0, 0)] * (16 - len(table))
    return b"".join(struct.pack("<QQ", s, n) for s, n in table)


def dt_header(version: int = 17, cpu: int = 0, totalsize: int = 64) -> bytes:
    hdr = struct.pack(">IIIIIIIIII", 0xD00DFEED, totalsize, 0, 0, 0, version, 16, cpu, 0, 0)
    return hdr + bytes(64 - len(hdr))
