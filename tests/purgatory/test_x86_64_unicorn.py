"""The real x86_64 purgatory (built, linked and patched by the toolchain) under unicorn.

Every run loads the bundle's segments at their physical addresses in a fresh cpu and starts
at the bundle entry in long mode (flat addresses = the kexec identity map). Success is the
pc reaching kx_kernel_entry; a failed check is the pc reaching kx_arch_halt's hlt loop.
"""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import unicorn_run as ur
from toolchain import arches
from toolchain.bundle import Kind

ARCH = arches.get("x86_64")
LIMIT = 20_000_000
GDT_CODE = 0x00AF9A000000FFFF
GDT_DATA = 0x00CF92000000FFFF
ACCESSED = 1 << 40


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from payloads.build import build_payload

    return build_payload(ARCH, tmp_path_factory.mktemp("x86-payload"))


@pytest.fixture(scope="module")
def purg_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("x86-purgatory")


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory, payload: Path, purg_dir: Path) -> ur.Built:
    return ur.build("x86_64-verified", tmp_path_factory.mktemp("x86-verified"), payload, purgatory_dir=purg_dir)


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory, payload: Path, purg_dir: Path) -> ur.Built:
    return ur.build("x86_64-fast", tmp_path_factory.mktemp("x86-fast"), payload, purgatory_dir=purg_dir)


def _boot_params(b: ur.Built) -> int:
    return next(s.mem for s in b.plan.segments if s.kind == Kind.BOOT_PARAMS)


def _run(b: ur.Built, count: bool = False, irq_on: bool = False,
         poke: dict[int, bytes] | None = None, extra: list[tuple[int, int]] | None = None) -> tuple[ur.Result, ur.X86_64Machine]:
    cls = type("M", (ur.X86_64Machine,), {"interrupts_on_entry": irq_on})
    m = cls(b.bundle, extra)
    for addr, data in (poke or {}).items():
        m.write(addr, data)
    return m.run(ur.x86_stops(b.symbols, b.plan), LIMIT, count), m


def test_verified_reaches_kernel_entry_with_boot_protocol_state(verified: ur.Built) -> None:
    res, m = _run(verified)
    assert res.stop == "entry", res
    r = res.registers
    assert r["rip"] == verified.plan.kernel_entry
    assert r["rip"] == next(s.mem for s in verified.plan.segments if s.kind == Kind.KERNEL) + 0x200
    assert r["rsi"] == _boot_params(verified)
    assert r["rbx"] == r["rbp"] == r["rdi"] == 0
    assert r["cs"] == 0x10
    assert r["ds"] == r["es"] == r["ss"] == r["fs"] == r["gs"] == 0x18
    assert r["eflags"] & (1 << 9) == 0, "interrupts must be off"
    _, base, limit, _ = r["gdtr"]
    assert base == verified.symbols["kx_gdt"] and limit == 4 * 8 - 1
    code, data = struct.unpack("<QQ", m.read(base + 0x10, 16))
    assert code & ~ACCESSED == GDT_CODE and data & ~ACCESSED == GDT_DATA
    total = sum(n for _, n in verified.plan.regions)
    assert f"kx: verified {total} bytes" in res.console


def test_interrupts_enabled_at_entry_are_masked(verified: ur.Built) -> None:
    res, _ = _run(verified, irq_on=True)
    assert res.stop == "entry" and res.registers["eflags"] & (1 << 9) == 0


def _flip_cases() -> list[tuple[str, str]]:
    return [(k, w) for k in ("kernel", "boot_params") for w in ("first", "middle", "last")]


@pytest.mark.parametrize("segment,where", _flip_cases())
def test_flipped_byte_never_reaches_kernel(verified: ur.Built, segment: str, where: str) -> None:
    seg = next(s for s in verified.plan.segments if s.name == segment)
    start, length = next((a, n) for a, n in verified.plan.regions if a == seg.mem)
    addr = {"first": start, "middle": start + length // 2, "last": start + length - 1}[where]
    m0 = ur.X86_64Machine(verified.bundle)
    old = m0.read(addr, 1)[0]
    res, _ = _run(verified, poke={addr: bytes([old ^ 0x01])})
    assert res.stop == "halt", res
    assert "digest mismatch" in res.console
    assert "verified" not in res.console


def test_verify_none_skips_hashing(verified: ur.Built, fast: ur.Built) -> None:
    assert fast.plan.regions == [] and fast.plan.purgatory_base == verified.plan.purgatory_base
    slow_res, _ = _run(verified, count=True)
    fast_res, _ = _run(fast, count=True)
    assert slow_res.stop == fast_res.stop == "entry"
    assert fast_res.console == ""
    assert fast_res.registers["rsi"] == _boot_params(fast)
    assert fast_res.instructions is not None and slow_res.instructions is not None
    assert fast_res.instructions * 20 < slow_res.instructions, (fast_res.instructions, slow_res.instructions)


SCRATCH = 0x2000000
SCRATCH_SIZE = 0x10000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=14),
       offset=st.integers(0, 63), corrupt=st.booleans())
def test_sha256_matches_hashlib(verified: ur.Built, data: bytes, cuts: list[int], offset: int, corrupt: bool) -> None:
    # Split data at the cut points into up to 15 regions (empty ones included: they are no-ops).
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    regions = [(SCRATCH + offset + a, b - a) for a, b in zip(points, points[1:])]
    table = b"".join(struct.pack("<QQ", a, n) for a, n in regions).ljust(16 * 16, b"\0")
    digest = bytearray(hashlib.sha256(data).digest())
    if corrupt:
        digest[0] ^= 0x80
    s = verified.symbols
    res, _ = _run(verified, extra=[(SCRATCH, SCRATCH_SIZE)],
                  poke={SCRATCH + offset: data, s["kx_regions"]: table, s["kx_digest"]: bytes(digest)})
    assert res.stop == ("halt" if corrupt else "entry"), res
    if not corrupt:
        assert f"kx: verified {len(data)} bytes" in res.console


def test_payload_reports_boot_params(verified: ur.Built) -> None:
    """Purgatory -> payload: the payload prints what it found in boot_params, then halts."""
    m = ur.X86_64Machine(verified.bundle)
    res = m.run({}, LIMIT)
    bp = _boot_params(verified)
    lines = res.console.replace("\r", "").splitlines()
    assert lines[0].startswith("kx: verified")
    assert lines[1] == f"KXPAYLOAD rsi=0x{bp:x} cs=0x10 ds=0x18"
    assert lines[2] == "KXPAYLOAD cmdline=console=ttyS0 earlyprintk=serial,ttyS0,115200 kx.recipe=x86_64-verified"
    assert lines[3] == "KXPAYLOAD initrd=0x0+0x0"
    assert lines[4] == "KXPAYLOAD e820=9"
    assert lines[5] == "KXPAYLOAD done"
    assert (0xF4, 0x10) in m.ports


def test_zero_page_contents(verified: ur.Built, payload: Path) -> None:
    seg = next(s for s in verified.plan.segments if s.kind == Kind.BOOT_PARAMS)
    zp = seg.source.read()
    raw = payload.read_bytes()
    end = 0x202 + raw[0x201]
    loader_written = {0x210, 0x211, *range(0x218, 0x220), *range(0x228, 0x22C)}
    assert [(i, zp[i]) for i in range(0x1F1, end) if i not in loader_written] == \
        [(i, raw[i]) for i in range(0x1F1, end) if i not in loader_written]
    assert zp[end:0x2D0] == bytes(0x2D0 - end)
    assert zp[:0x1F1] == bytes(0x1E8) + bytes([zp[0x1E8]]) + bytes(8)   # only e820_entries set
    assert zp[0x210] == 0xFF and zp[0x211] & 1
    cmd = struct.unpack_from("<I", zp, 0x228)[0] | struct.unpack_from("<I", zp, 0xC8)[0] << 32
    assert cmd == seg.mem + 0x1000
    text = zp[0x1000:].split(b"\0")[0].decode()
    assert text.endswith("kx.recipe=x86_64-verified") and len(text) < 2048
    n = zp[0x1E8]
    entries = [struct.unpack_from("<QQI", zp, 0x2D0 + 20 * i) for i in range(n)]
    assert entries == sorted(entries)
    assert (0x100000, 0x3FEE0000, 1) in entries and (0xB0000000, 0x10000000, 2) in entries
    assert all(a + s <= b for (a, s, _), (b, _, _) in zip(entries, entries[1:]))
