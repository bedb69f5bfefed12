"""The Python reader/writer of the .kxb format (the C loader has its own tests)."""
from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from toolchain import bundle as b


def _bundle(n: int = 2, verify: bool = True) -> b.Bundle:
    segs = [b.Segment("purgatory", b.Kind.PURGATORY, 0x10000, 0x10000, b"P" * 100, b.SegFlag.PURGATORY)]
    for i in range(1, n):
        segs.append(b.Segment(f"s{i}", b.Kind.RAW, 0x10000 * (2 * i + 1), 0x10000, bytes([i]) * (i * 1000),
                              b.SegFlag.VERIFIED))
    return b.Bundle(1, 0x10000, 0x10000, b.FLAG_VERIFY if verify else 0, segs)


@given(st.lists(st.binary(max_size=3000), min_size=0, max_size=15), st.booleans())
@settings(max_examples=50, deadline=None)
def test_roundtrip(datas: list[bytes], verify: bool) -> None:
    segs = [b.Segment("purgatory", b.Kind.PURGATORY, 0, 0x1000, b"p", b.SegFlag.PURGATORY)]
    for i, d in enumerate(datas):
        segs.append(b.Segment(f"s{i}", b.Kind.RAW, 0x1000 * (i + 1), 0x1000, d, b.SegFlag.VERIFIED))
    verify = verify and bool(datas)  # the format requires a VERIFIED segment when verifying
    raw = b.to_bytes(b.Bundle(3, 0x10, 0x1000, int(verify), segs))
    back = b.parse(raw)
    assert [(s.name, s.mem, s.memsz, bytes(s.data)) for s in back.segments] == \
        [(s.name, s.mem, s.memsz, bytes(s.data)) for s in segs]
    assert back.verify == verify and back.entry == 0x10
    offs, size = b.layout_offsets(segs)
    assert size == len(raw) and all(o % 4096 == 0 for o in offs)


def _fix_crc(raw: bytearray) -> bytearray:
    raw[48:52] = b"\0\0\0\0"
    raw[48:52] = struct.pack("<I", zlib.crc32(raw))
    return raw


@pytest.mark.parametrize("mutate,text", [
    (lambda r: r.__setitem__(slice(0, 8), b"NOTKXB!!"), "bad magic"),
    (lambda r: r.__setitem__(slice(8, 10), b"\x02\x00"), "unsupported version 2"),
    (lambda r: r.__setitem__(slice(14, 16), b"\x11\x00"), "17 segments"),
    (lambda r: r.__setitem__(slice(64, 72), struct.pack("<Q", 0x10001)), "not aligned"),
    (lambda r: r.__setitem__(slice(64 + 96, 72 + 96), struct.pack("<Q", 0x10000)), "overlap"),
    (lambda r: r.__setitem__(slice(64 + 16, 72 + 16), struct.pack("<Q", 2**63)), "outside the file"),
    (lambda r: r.__setitem__(slice(24, 32), struct.pack("<Q", 0x90000)), "not inside the purgatory"),
    (lambda r: r.__setitem__(slice(64 + 32, 68 + 32), b"\0\0\0\0"), "exactly one is required"),
    (lambda r: r.__setitem__(64 + 40, r[64 + 40] ^ 1), "sha256 of the data"),
])
def test_corruptions_are_refused(mutate, text) -> None:
    raw = bytearray(b.to_bytes(_bundle(3)))
    mutate(raw)
    with pytest.raises(b.BundleError) as exc:
        b.parse(bytes(_fix_crc(raw)))
    assert text in str(exc.value)


def test_checksum_and_truncation() -> None:
    raw = bytearray(b.to_bytes(_bundle(3)))
    flipped = bytearray(raw)
    flipped[-1] ^= 1
    with pytest.raises(b.BundleError, match="checksum mismatch"):
        b.parse(bytes(flipped))
    for cut in (0, 10, 63, 64, 200, len(raw) - 1):
        with pytest.raises(b.BundleError):
            b.parse(bytes(raw[:cut]))


def test_seeds_flag_only_on_a_dtb() -> None:
    segs = [b.Segment("purgatory", b.Kind.PURGATORY, 0x10000, 0x10000, b"P" * 100, b.SegFlag.PURGATORY),
            b.Segment("dtb", b.Kind.DTB, 0x30000, 0x10000, b"\xd0\x0d\xfe\xed" + bytes(60),
                      b.SegFlag.VERIFIED | b.SegFlag.SEEDS)]
    raw = b.to_bytes(b.Bundle(4, 0x10000, 0x10000, b.FLAG_VERIFY, segs))
    assert b.parse(raw).segments[1].flags == b.SegFlag.VERIFIED | b.SegFlag.SEEDS
    bad = bytearray(raw)
    struct.pack_into("<I", bad, b.HEADER_SIZE + b.ENTRY_SIZE + 36, int(b.Kind.RAW))
    with pytest.raises(b.BundleError, match="SEEDS flag on a segment of kind 0"):
        b.parse(bytes(_fix_crc(bad)))
    struct.pack_into("<I", bad, b.HEADER_SIZE + b.ENTRY_SIZE + 32, 2 | 8)
    with pytest.raises(b.BundleError, match="unknown flag bits 0xa"):
        b.parse(bytes(_fix_crc(bad)))
