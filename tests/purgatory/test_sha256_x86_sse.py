"""The x86_64 SSE2 SHA-256 path (purgatory/x86_64/sha256_sse.S) agrees with hashlib.

- unicorn: the purgatory's own hash objects (sha256_ni.S + sha256_sse.S, bench/hash_harness,
  impl "x86_64-sse"); unicorn's CPUID has no SHA-NI, so kx_arch_sha256_blocks takes the SSE2
  fallback at CPL 0 (enabling SSE in CR0/CR4 itself). Random lengths 0..3000 split into up to
  16 regions at any start offset; the counts show the SSE2 path (not the portable C) ran.
- native: the same objects in a Linux program with the hook bound straight to the SSE2
  function (bench/hash_harness/sse_direct.c; this host may have SHA-NI), fed through
  kx_sha256_update in random pieces from misaligned buffers (tests/purgatory/x86_sse/).
"""
from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "hash_harness"))

import hxrun  # noqa: E402

HERE = Path(__file__).resolve().parent / "x86_sse"
KAT = [b"", b"abc", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
       b"klmnopqrlmnopqrsmnopqrstnopqrstu",
       bytes(55), bytes(56), bytes(63), bytes(64), bytes(119), bytes(120), b"\xff" * 1000]
_cache: dict[str, object] = {}


@pytest.fixture(scope="module")
def hx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("x86-sse")


def built(hx_dir: Path, impl: str = "x86_64-sse") -> hxrun.Built:
    if impl not in _cache:
        _cache[impl] = hxrun.build("x86_64", impl, hx_dir)
    return _cache[impl]  # type: ignore[return-value]


def native(hx_dir: Path) -> Path:
    """native_main.c + the x86_64-sse-direct hash objects (purgatory flags) for the host."""
    if "native" not in _cache:
        from toolchain.build import run
        from toolchain.compilers import DEFAULT
        t = hxrun.target("x86_64")
        out = hx_dir / "native"
        out.mkdir(exist_ok=True)
        cache = hx_dir / "zig-cache"
        flags = [f for f in hxrun._cflags(t) if f not in ("-ffreestanding", "-nostdlib", "-fno-builtin")]
        flags[1] = "x86_64-linux-musl"
        objs = []
        for src in hxrun.IMPLS["x86_64-sse-direct"] + [hxrun.COMMON / "data.c"]:
            obj = out / f"{Path(src).stem}.o"
            run([*DEFAULT.cc(), *flags, "-c", str(src), "-o", str(obj)], cache)
            objs.append(str(obj))
        exe = out / "native_main"
        run([*DEFAULT.cc(), "-target", "x86_64-linux-musl", "-O2", f"-I{hxrun.COMMON}", "-static",
             str(HERE / "native_main.c"), *objs, "-o", str(exe)], cache)
        _cache["native"] = exe
    return _cache["native"]  # type: ignore[return-value]


def run_native(exe: Path, data: bytes, offset: int, pieces: list[int]) -> bytes:
    p = subprocess.run([str(exe), str(offset), *map(str, pieces)], input=data,
                       capture_output=True, timeout=60, check=True)
    return bytes.fromhex(p.stdout.decode().strip())


@st.composite
def messages(draw, max_len: int = 3000):
    """(offset, message, region lengths): random length, up to 16 regions, some empty."""
    n = draw(st.integers(0, max_len))
    data = random.Random(draw(st.integers(0, 2**32 - 1))).randbytes(n)
    nreg = draw(st.integers(1, hxrun.MAX_REGIONS))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=nreg - 1, max_size=nreg - 1)))
    return draw(st.integers(0, 63)), data, [b - a for a, b in zip([0] + cuts, cuts + [n])]


def test_known_answers_unicorn(hx_dir: Path) -> None:
    b = built(hx_dir)
    for msg in KAT + [os.urandom(4096 + 17)]:
        r = hxrun.run_unicorn(b, msg, [len(msg)], count=False)
        assert r.digest == hashlib.sha256(msg).digest(), len(msg)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=messages())
def test_regions_unicorn(hx_dir: Path, m) -> None:
    offset, data, lens = m
    r = hxrun.run_unicorn(built(hx_dir), data, lens, offset, count=False)
    assert r.digest == hashlib.sha256(data).digest(), (offset, len(data), lens)


def test_unicorn_takes_sse_path(hx_dir: Path) -> None:
    """Without SHA-NI the purgatory objects run the SSE2 code: ~36.5 instructions and 1/8
    load per byte (four 16-byte loads per block, each two 8-byte accesses in unicorn), no
    stores in the loop, against ~53 / 4.1 / 2.9 for the portable C."""
    data = os.urandom(64 * 256)
    r = hxrun.run_unicorn(built(hx_dir), data, [len(data)])
    ins, ld, st_ = r.per_byte()
    assert r.digest == hashlib.sha256(data).digest()
    assert ins < 38.0 and ld + st_ <= 0.2, (ins, ld, st_)
    p = hxrun.run_unicorn(built(hx_dir, "portable"), data, [len(data)])
    assert p.per_byte()[0] > 45


def test_unicorn_enables_sse_at_cpl0(hx_dir: Path) -> None:
    """Start with SSE off (CR0.EM = 1, CR4.OSFXSR = 0): sha256_ni.S's fallback must turn it on
    before the SSE2 code runs. The control (the hook calling the SSE2 code directly, nothing
    enabling SSE) faults, so the emulator does enforce those bits."""
    from unicorn import UcError
    from unicorn import x86_const as X

    def sse_off(uc) -> None:
        uc.reg_write(X.UC_X86_REG_CR0, (uc.reg_read(X.UC_X86_REG_CR0) | 0x4) & ~0x2)
        uc.reg_write(X.UC_X86_REG_CR4, uc.reg_read(X.UC_X86_REG_CR4) & ~0x600)

    data = os.urandom(1000)
    r = hxrun.run_unicorn(built(hx_dir), data, [len(data)], count=False, setup=sse_off)
    assert r.digest == hashlib.sha256(data).digest()
    with pytest.raises((UcError, RuntimeError)):
        hxrun.run_unicorn(built(hx_dir, "x86_64-sse-direct"), data, [len(data)], count=False,
                          setup=sse_off)


def test_known_answers_native(hx_dir: Path) -> None:
    exe = native(hx_dir)
    for msg in KAT + [os.urandom(1 << 20)]:
        assert run_native(exe, msg, 0, []) == hashlib.sha256(msg).digest(), len(msg)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 3000), seed=st.integers(0, 2**32 - 1), offset=st.integers(0, 63),
       pieces=st.lists(st.integers(0, 700), max_size=8))
def test_pieces_native(hx_dir: Path, n: int, seed: int, offset: int, pieces: list[int]) -> None:
    data = random.Random(seed).randbytes(n)
    assert run_native(native(hx_dir), data, offset, pieces) == hashlib.sha256(data).digest()
