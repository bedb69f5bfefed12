"""Fixtures for the kxload tests: builds once per session, bundle helpers, plan parser."""
from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from toolchain import bundle as b  # noqa: E402


def _load_build_module():
    spec = importlib.util.spec_from_file_location("kxload_build", REPO / "loader" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


kxbuild = _load_build_module()

# The machine the host (fake) build pretends to be, unless a test overrides it.
HOST_MACHINE = "x86_64"
HOST_ARCH_CODE = 3
ARCH_FLAGS = {1: 21 << 16, 2: 21 << 16, 3: 62 << 16, 4: 183 << 16, 5: 243 << 16}
UNAME = {1: "ppc64le", 2: "ppc64", 3: "x86_64", 4: "aarch64", 5: "riscv64"}


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: runs the libFuzzer target for KX_FUZZ_SECONDS (default 60)")


# ---------------------------------------------------------------- builds


def _asan_flags() -> list[str]:
    probe = subprocess.run(["gcc", "-fsanitize=address,undefined", "-x", "c", "-", "-o", os.devnull],
                           input="int main(void){return 0;}", capture_output=True, text=True)
    if probe.returncode == 0:
        return ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    return []


@pytest.fixture(scope="session")
def host_kxload(tmp_path_factory) -> Path:
    """Host build with the fake syscall layer (and sanitizers when gcc has them)."""
    out = tmp_path_factory.mktemp("kxload-host") / "kxload"
    return kxbuild.build_host(out, fake_sys=True, extra_cflags=_asan_flags())


@pytest.fixture(scope="session")
def real_loaders(tmp_path_factory) -> dict[str, Path]:
    """The five real static binaries, built with zig exactly as the SConscript does."""
    root = tmp_path_factory.mktemp("kxload-real")
    return kxbuild.build_all(list(kxbuild.TARGETS), root, REPO / "build" / "loader" / ".zig-cache")


# ---------------------------------------------------------------- running


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    calls: list[str]          # lines the fake syscall layer recorded


@pytest.fixture
def run_host(host_kxload, tmp_path):
    counter = [0]

    def run(*args: str, machine: str = HOST_MACHINE, pagesize: int | None = 4096,
            env: dict[str, str] | None = None) -> Run:
        counter[0] += 1
        log = tmp_path / f"fake-{counter[0]}.log"
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KXLOAD_FAKE_LOG": str(log),
             "KXLOAD_TEST_MACHINE": machine, "ASAN_OPTIONS": "detect_leaks=0"}
        if pagesize is not None:
            e["KXLOAD_TEST_PAGESIZE"] = str(pagesize)
        e.update(env or {})
        p = subprocess.run([str(host_kxload), *args], capture_output=True, text=True, env=e, timeout=60)
        calls = log.read_text().splitlines() if log.exists() else []
        return Run(p.returncode, p.stdout, p.stderr, calls)

    return run


# ---------------------------------------------------------------- bundles


def seg(name, kind, mem, memsz, data, flags=b.SegFlag.NONE):
    return b.Segment(name, kind, mem, memsz, data, flags)


def standard_segments(page: int = 0x1000) -> list[b.Segment]:
    """kernel, initrd, dtb, cmdline and the purgatory: the usual shape."""
    return [
        seg("kernel", b.Kind.KERNEL, 0x0, 8 * page, bytes(range(256)) * 20, b.SegFlag.VERIFIED),
        seg("initrd", b.Kind.INITRD, 16 * page, 2 * page, b"I" * 1000, b.SegFlag.VERIFIED),
        seg("dtb", b.Kind.DTB, 32 * page, page, b"\xd0\x0d\xfe\xed" + b"\0" * 60, b.SegFlag.VERIFIED),
        seg("cmdline", b.Kind.CMDLINE, 33 * page, page, b"console=hvc0\0", b.SegFlag.VERIFIED),
        seg("purgatory", b.Kind.PURGATORY, 40 * page, 2 * page, b"\x60\x00\x00\x00" * 64,
            b.SegFlag.PURGATORY),
    ]


def make_bundle(arch: int = HOST_ARCH_CODE, page: int = 0x1000, segments=None, entry=None,
                flags: int = 1) -> bytes:
    segments = segments if segments is not None else standard_segments(page)
    if entry is None:
        entry = next(s.mem for s in segments if s.flags & b.SegFlag.PURGATORY)
    return b.to_bytes(b.Bundle(arch, entry, page, flags, segments))


def fix_crc(data: bytearray | bytes) -> bytearray:
    data = bytearray(data)
    data[48:52] = b"\0\0\0\0"
    struct.pack_into("<I", data, 48, zlib.crc32(data))
    return data


def compact(data: bytes) -> bytearray:
    """Re-lay a bundle with each segment's data right after the previous one (16-byte
    aligned), as the format allows: gives a small file for exhaustive truncation tests."""
    bb = b.parse(data)
    n = len(bb.segments)
    pos = b.HEADER_SIZE + n * b.ENTRY_SIZE
    out = bytearray(data[:pos])
    for i, s in enumerate(bb.segments):
        pos = (pos + 15) // 16 * 16
        out += b"\0" * (pos - len(out))
        struct.pack_into("<Q", out, b.HEADER_SIZE + i * b.ENTRY_SIZE + 16, pos)
        out += bytes(s.data)
        pos += s.bufsz
    struct.pack_into("<Q", out, 40, len(out))
    return fix_crc(out)


def set_hdr(data, fmt: str, off: int, value, crc: bool = True) -> bytearray:
    data = bytearray(data)
    struct.pack_into("<" + fmt, data, off, value)
    return fix_crc(data) if crc else data


def set_seg(data, i: int, field: str, value, crc: bool = True) -> bytearray:
    offs = {"mem": (0, "Q"), "memsz": (8, "Q"), "offset": (16, "Q"), "bufsz": (24, "Q"),
            "flags": (32, "I"), "kind": (36, "I"), "name": (72, "24s")}
    off, fmt = offs[field]
    return set_hdr(data, fmt, b.HEADER_SIZE + i * b.ENTRY_SIZE + off, value, crc)


# ---------------------------------------------------------------- the dry-run plan


@dataclass
class Plan:
    fields: dict[str, list[str]]
    segments: list[dict]


def parse_plan(text: str) -> Plan:
    """Parse `kxload --dry-run` output (format in loader/README.md)."""
    lines = text.splitlines()
    assert lines[0] == "plan 1", lines[:1]
    assert lines[-1] == "end"
    fields: dict[str, list[str]] = {}
    segments = []
    for line in lines[1:-1]:
        key, *vals = line.split(" ")
        if key == "segment":
            idx, name, kind, mem, memsz, bufsz, offset, flags = vals
            segments.append(dict(index=int(idx), name=name, kind=kind, mem=int(mem, 16),
                                 memsz=int(memsz, 16), bufsz=int(bufsz, 16),
                                 offset=int(offset, 16), flags=int(flags, 16)))
        else:
            assert key not in fields, key
            fields[key] = vals
    assert int(fields["segments"][0]) == len(segments)
    return Plan(fields, segments)


def assert_plan_matches(plan: Plan, data: bytes) -> None:
    """The printed plan says exactly what toolchain.bundle.parse says."""
    bb = b.parse(data)
    f = plan.fields
    assert int(f["arch"][1]) == bb.arch_code
    assert int(f["arch"][2], 16) == ARCH_FLAGS[bb.arch_code]
    assert int(f["page_size"][0], 16) == bb.page_size
    assert int(f["entry"][0], 16) == bb.entry
    assert int(f["flags"][0], 16) == bb.flags
    assert int(f["verify"][0]) == int(bb.verify)
    assert int(f["file_size"][0], 16) == len(data)
    assert int(f["checksum"][0], 16) == struct.unpack_from("<I", data, 48)[0]
    assert len(plan.segments) == len(bb.segments)
    for i, (p, s) in enumerate(zip(plan.segments, bb.segments)):
        assert p == dict(index=i, name=s.name or "-", kind=s.kind.name.lower(), mem=s.mem,
                         memsz=s.memsz, bufsz=s.bufsz, offset=s.offset, flags=int(s.flags))


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
