"""purgatory/ppc64/sha256_ppc64.S agrees with hashlib, little- and big-endian.

The harness in tests/purgatory/ppc64_asm/ links the assembly with the purgatory's common
hash code (sha256.c, sha256_arch.c, mem.c, data.c; purgatory flags) into a static Linux
program, built twice: powerpc64le-freestanding (the purgatory's own target and flags) run by
qemu-ppc64le-static, and powerpc64-freestanding -mabi=elfv2 (same flags otherwise) run by
qemu-ppc64-static. Two modes:
  - regions: kx_hash_regions() over a message at any offset 0..63 split into up to 16
    regions (the C update code buffers straddling/misaligned blocks and calls the hook for
    runs of aligned whole blocks);
  - direct: the hook called once on a message padded in Python (many blocks in one call),
    with r2 and r14-r31 set to patterns around the call and checked afterwards.
The real ppc64le purgatory (build_purgatory, every .S of purgatory/ppc64) must contain the
hook as a strong symbol.
"""
from __future__ import annotations

import hashlib
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings, strategies as st

from toolchain.arches import get
from toolchain.arches.base import REPO
from toolchain.build import compile_command, link_command, run

ARCH = get("ppc64le")
HERE = Path(__file__).resolve().parent / "ppc64_asm"
COMMON = REPO / "purgatory" / "common"
SOURCES = [COMMON / "sha256.c", COMMON / "sha256_arch.c", COMMON / "mem.c", COMMON / "data.c",
           REPO / "purgatory" / "ppc64" / "sha256_ppc64.S", HERE / "main.c", HERE / "start.S"]
QEMU = {"le": "qemu-ppc64le-static", "be": "qemu-ppc64-static"}
MAX_REGIONS = 16


def _be(cmd: list[str]) -> list[str]:
    """The purgatory's ppc64le command, retargeted to big-endian ELFv2."""
    i = cmd.index("-target")
    assert cmd[i + 1] == ARCH.zig_target
    return cmd[:i + 1] + ["powerpc64-freestanding", "-mabi=elfv2"] + cmd[i + 2:]


def build(endian: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "zig-cache"
    fix = _be if endian == "be" else (lambda c: c)
    objs = []
    for src in SOURCES:
        obj = out / f"{src.parent.name}-{src.stem}.o"
        run(fix(compile_command(ARCH, src, obj)), cache)
        objs.append(obj)
    elf = out / "tx.elf"
    run(fix(link_command(ARCH, objs, HERE / "link.ld", elf)), cache)
    return elf


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    for q in QEMU.values():
        if not shutil.which(q):
            pytest.skip(f"{q} not installed")
    base = tmp_path_factory.mktemp("ppc64-asm")
    return {e: build(e, base / e) for e in QEMU}


def run_tx(elf: Path, endian: str, mode: int, offset: int, lens: list[int], data: bytes) -> bytes:
    assert sum(lens) == len(data) and len(lens) <= MAX_REGIONS
    hdr = struct.pack(">19Q", mode, offset, len(lens), *lens, *[0] * (MAX_REGIONS - len(lens)))
    p = subprocess.run([QEMU[endian], str(elf)], input=hdr + data, capture_output=True, timeout=30)
    assert p.returncode == 0, (endian, p.returncode, p.stderr[-500:])
    return p.stdout


def regions_digest(elf: Path, endian: str, offset: int, data: bytes, lens: list[int]) -> bytes:
    return run_tx(elf, endian, 0, offset, lens, data)


def pad(msg: bytes) -> bytes:
    return msg + b"\x80" + bytes((55 - len(msg)) % 64) + struct.pack(">Q", 8 * len(msg))


def direct(elf: Path, endian: str, msg: bytes, offset: int = 0) -> tuple[bytes, int, int]:
    padded = pad(msg)
    out = run_tx(elf, endian, 1, offset, [len(padded)], padded)
    assert len(out) == 40
    ret, changed = struct.unpack(">II", out[32:])
    return out[:32], ret, changed


def test_real_purgatory_links_the_hook(ppc64_purgatory: Path) -> None:
    with open(ppc64_purgatory, "rb") as f:
        syms = {s.name: s for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    s = syms["kx_arch_sha256_blocks"]
    assert s["st_info"]["bind"] == "STB_GLOBAL" and s["st_size"] > 8000


def test_harness_links_the_hook(images: dict[str, Path]) -> None:
    for elf in images.values():
        with open(elf, "rb") as f:
            e = ELFFile(f)
            s = next(s for s in e.get_section_by_name(".symtab").iter_symbols()
                     if s.name == "kx_arch_sha256_blocks")
            assert s["st_info"]["bind"] == "STB_GLOBAL"
            assert e["e_flags"] & 3 == 2        # ELFv2 on both byte orders
    with open(images["be"], "rb") as f:
        assert not ELFFile(f).little_endian


@pytest.mark.parametrize("endian", ["le", "be"])
def test_known_answers(images: dict[str, Path], endian: str) -> None:
    elf = images[endian]
    for msg in [b"", b"abc", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                bytes(55), bytes(56), bytes(63), bytes(64), bytes(119), bytes(120),
                random.Random(1).randbytes(4096)]:
        want = hashlib.sha256(msg).digest()
        assert regions_digest(elf, endian, 0, msg, [len(msg)]) == want, (endian, len(msg))
        got, ret, changed = direct(elf, endian, msg, offset=8 * (len(msg) % 8))
        assert (got, ret, changed) == (want, 1, 0), (endian, len(msg), ret, hex(changed))


@st.composite
def messages(draw, max_len: int = 2000):
    """(offset, message, region lengths): random length, up to 16 regions, some empty."""
    n = draw(st.integers(0, max_len))
    data = random.Random(draw(st.integers(0, 2**32 - 1))).randbytes(n)
    nreg = draw(st.integers(1, MAX_REGIONS))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=nreg - 1, max_size=nreg - 1)))
    lens = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    return draw(st.integers(0, 63)), data, lens


@pytest.mark.parametrize("endian", ["le", "be"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=messages())
def test_regions(images: dict[str, Path], endian: str, m) -> None:
    offset, data, lens = m
    want = hashlib.sha256(data).digest()
    assert regions_digest(images[endian], endian, offset, data, lens) == want, (offset, len(data), lens)
    got, ret, changed = direct(images[endian], endian, data, offset & ~7)
    assert (got, ret, changed) == (want, 1, 0)
