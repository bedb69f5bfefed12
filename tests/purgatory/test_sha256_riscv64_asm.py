"""purgatory/riscv64/sha256_riscv64.S agrees with hashlib and keeps the LP64 ABI.

The hash harness (bench/hash_harness/, impl "riscv64-asm") links the assembly over the weak
hook with the purgatory's common hash code (sha256.c, sha256_arch.c, mem.c, data.c) for
riscv64-freestanding RV64GC (zig baseline_rv64, no Zbb) and runs it in unicorn. Two modes:
  - regions: kx_hash_regions() over a message at any offset 0..63 split into up to 16
    regions (the C update code buffers straddling/misaligned blocks and calls the hook for
    runs of aligned whole blocks);
  - direct: kx_arch_sha256_blocks() called once from unicorn on a message padded in Python
    (many blocks in one call; h at a 4-byte-aligned address), with ra/sp/gp/tp/s0-s11 set
    to patterns (and the caller-saved registers to junk) before the call and checked after.
"""
from __future__ import annotations

import hashlib
import random
import struct
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings, strategies as st

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "hash_harness"))

import hxrun  # noqa: E402

H0 = (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
# Callee-saved (and ABI-fixed) registers the hook must give back: name -> pattern.
KEPT = {"gp": 0x6770_6770_6770_6770, "tp": 0x7470_7470_7470_7470,
        **{f"s{i}": 0x5000_0000_0000_0000 | (i * 0x0101_0101_0101) | 0x8000_0000_0000_0000
           for i in range(12)}}
JUNK = ["a3", "a4", "a5", "a6", "a7", "t0", "t1", "t2", "t3", "t4", "t5", "t6"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> hxrun.Built:
    b = hxrun.build("riscv64", "riscv64-asm", tmp_path_factory.mktemp("rv64-asm"))
    assert "kx_arch_sha256_blocks" not in b.weak      # ours, not the weak default
    return b


def pad(msg: bytes) -> bytes:
    return msg + b"\x80" + bytes((55 - len(msg)) % 64) + struct.pack(">Q", 8 * len(msg))


def regions_digest(b: hxrun.Built, offset: int, data: bytes, lens: list[int]) -> bytes:
    return hxrun.run_unicorn(b, data, lens, offset, count=False).digest


def direct(b: hxrun.Built, blocks: bytes, offset: int = 0, h_off: int = 4,
           state: tuple[int, ...] = H0) -> tuple[tuple[int, ...], int]:
    """Call the hook once on whole blocks at hx_data + offset; returns (state, a0)."""
    import unicorn as U
    from unicorn import riscv_const as R
    assert len(blocks) % 64 == 0 and offset % 8 == 0
    uc = U.Uc(U.UC_ARCH_RISCV, U.UC_MODE_RISCV64)
    with open(b.elf, "rb") as f:
        for s in ELFFile(f).iter_segments():
            if s["p_type"] == "PT_LOAD":
                lo = s["p_vaddr"] & ~0xFFF
                hi = (s["p_vaddr"] + s["p_memsz"] + 0xFFF) & ~0xFFF
                uc.mem_map(lo, hi - lo)
                uc.mem_write(s["p_vaddr"], s.data())
    uc.mem_map(hxrun.STOP, 0x1000)
    data = b.symbols["hx_data"][0] + offset
    h = b.symbols["hx_data"][0] + hxrun.DATA_SIZE - 64 + h_off
    assert data + len(blocks) <= h - 64
    uc.mem_write(data, blocks)
    uc.mem_write(h, struct.pack("<8I", *state))
    reg = lambda n: getattr(R, f"UC_RISCV_REG_{n.upper()}")   # noqa: E731
    sp = b.symbols["hx_stack_top"][0] - 64
    # A canary just above sp: the hook must not write the caller's frame.
    uc.mem_write(sp, b"\xa5" * 64)
    for n, v in KEPT.items():
        uc.reg_write(reg(n), v)
    for i, n in enumerate(JUNK):
        uc.reg_write(reg(n), 0xdead_beef_0000_0000 | i)
    uc.reg_write(reg("sp"), sp)
    uc.reg_write(reg("ra"), hxrun.STOP)
    uc.reg_write(reg("a0"), h)
    uc.reg_write(reg("a1"), data)
    uc.reg_write(reg("a2"), len(blocks) // 64)
    uc.emu_start(b.symbols["kx_arch_sha256_blocks"][0], hxrun.STOP)
    assert uc.reg_read(reg("pc")) == hxrun.STOP
    assert uc.reg_read(reg("sp")) == sp
    for n, v in KEPT.items():
        assert uc.reg_read(reg(n)) == v, n
    assert bytes(uc.mem_read(sp, 64)) == b"\xa5" * 64
    assert bytes(uc.mem_read(h - 4, 4)) == bytes(4) and bytes(uc.mem_read(h + 32, 4)) == bytes(4)
    return struct.unpack("<8I", uc.mem_read(h, 32)), uc.reg_read(reg("a0"))


def digest_of(state: tuple[int, ...]) -> bytes:
    return struct.pack(">8I", *state)


KNOWN = [
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
]


def test_fips_vectors(built: hxrun.Built) -> None:
    for msg, hexd in KNOWN:
        want = bytes.fromhex(hexd)
        assert hashlib.sha256(msg).digest() == want
        assert regions_digest(built, 0, msg, [len(msg)]) == want, msg
        state, ret = direct(built, pad(msg))
        assert (digest_of(state), ret) == (want, 1), msg


def test_padding_edges_and_long(built: hxrun.Built) -> None:
    for msg in [bytes(55), bytes(56), bytes(63), bytes(64), bytes(119), bytes(120),
                b"\xff" * 200, random.Random(1).randbytes(4096)]:
        want = hashlib.sha256(msg).digest()
        assert regions_digest(built, 0, msg, [len(msg)]) == want, len(msg)
        state, ret = direct(built, pad(msg), offset=8 * (len(msg) % 8), h_off=4 * (len(msg) % 2))
        assert (digest_of(state), ret) == (want, 1), len(msg)


def test_zero_blocks_leaves_state(built: hxrun.Built) -> None:
    state = tuple(range(0x11111111, 0x11111111 * 9, 0x11111111))
    assert direct(built, b"", state=state) == (state, 1)


def test_chained_state(built: hxrun.Built) -> None:
    # Two calls (one block, then the rest) equal one call: the state round-trips through h.
    msg = pad(random.Random(2).randbytes(300))
    s1, _ = direct(built, msg[:64])
    s2, _ = direct(built, msg[64:], state=s1)
    assert digest_of(s2) == digest_of(direct(built, msg)[0])


@st.composite
def messages(draw, max_len: int = 2000):
    """(offset, message, region lengths): random length, up to 16 regions, some empty."""
    n = draw(st.integers(0, max_len))
    data = random.Random(draw(st.integers(0, 2**32 - 1))).randbytes(n)
    nreg = draw(st.integers(1, hxrun.MAX_REGIONS))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=nreg - 1, max_size=nreg - 1)))
    lens = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    return draw(st.integers(0, 63)), data, lens


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=messages())
def test_regions(built: hxrun.Built, m) -> None:
    offset, data, lens = m
    want = hashlib.sha256(data).digest()
    assert regions_digest(built, offset, data, lens) == want, (offset, len(data), lens)
    state, ret = direct(built, pad(data), offset & ~7)
    assert (digest_of(state), ret) == (want, 1)
