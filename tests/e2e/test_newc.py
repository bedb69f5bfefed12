"""Fast checks of the pure-Python newc writer (no QEMU): it must be byte-stable
and readable by GNU cpio, since every guest image goes through it."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from .initramfs import Archive, padded, parse_newc


def sample() -> Archive:
    a = Archive()
    a.add_file("/init", b"#!/bin/sh\necho hi\n", 0o755)
    a.add_symlink("/bin/sh", "busybox")
    a.add_file("/bin/busybox", b"\x7fELF" + bytes(range(7)), 0o755)
    a.add_dir("/proc")
    a.add_chardev("/dev/console", 5, 1)
    return a


def test_roundtrip_and_determinism() -> None:
    blob = sample().to_bytes()
    assert blob == sample().to_bytes()
    assert len(blob) % 512 == 0
    e = parse_newc(blob)
    assert sorted(e) == ["bin", "bin/busybox", "bin/sh", "dev", "dev/console", "init", "proc"]
    assert e["init"].data == b"#!/bin/sh\necho hi\n" and stat.S_IMODE(e["init"].mode) == 0o755
    assert stat.S_ISLNK(e["bin/sh"].mode) and e["bin/sh"].data == b"busybox"
    assert stat.S_ISCHR(e["dev/console"].mode) and e["dev/console"].rdev == (5, 1)


def test_padded_is_concatenation() -> None:
    base = sample().to_bytes()
    p = padded(base, 4096)
    assert p.startswith(base) and len(parse_newc(p)["pad.bin"].data) == 4096
    assert padded(base, 4096) == p  # seeded


@pytest.mark.skipif(shutil.which("cpio") is None, reason="GNU cpio not installed")
def test_gnu_cpio_lists_it(tmp_path: Path) -> None:
    f = tmp_path / "a.cpio"
    f.write_bytes(sample().to_bytes())
    out = subprocess.run(["cpio", "-it", "--quiet"], stdin=open(f, "rb"),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["bin", "bin/busybox", "bin/sh", "dev", "dev/console", "init", "proc"]
