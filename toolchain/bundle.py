"""Reader and writer of the ``.kxb`` bundle format (docs/bundle-format.md).

One implementation used by emit, inspect, verify, diff and emulate, so the format has exactly
one Python definition; the C loader (loader/bundle.c) is tested against it.
"""
from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from pathlib import Path
from typing import BinaryIO

MAGIC = b"KXBUNDL\x1a"
VERSION = 1
HEADER = struct.Struct("<8sHHHHIIQQQIIQ")
ENTRY = struct.Struct("<QQQQII32s24s")
HEADER_SIZE = HEADER.size  # 64
ENTRY_SIZE = ENTRY.size  # 96
CHECKSUM_OFFSET = 48
DATA_ALIGN = 4096
MAX_SEGMENTS = 16
FLAG_VERIFY = 1

assert HEADER_SIZE == 64 and ENTRY_SIZE == 96


class BundleError(Exception):
    """A bundle that does not follow the format; ``path`` names the file when known."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


class Kind(IntEnum):
    RAW = 0
    KERNEL = 1
    INITRD = 2
    DTB = 3
    CMDLINE = 4
    PURGATORY = 5
    BOOT_PARAMS = 6


class SegFlag(IntFlag):
    NONE = 0
    PURGATORY = 1
    VERIFIED = 2
    SEEDS = 4  # a dtb whose /chosen seed properties the loader fills at load time


KNOWN_SEG_FLAGS = SegFlag.PURGATORY | SegFlag.VERIFIED | SegFlag.SEEDS


@dataclass(frozen=True)
class Segment:
    name: str
    kind: Kind
    mem: int
    memsz: int
    data: bytes | memoryview
    flags: SegFlag = SegFlag.NONE
    offset: int = 0  # set by the writer / reader
    known_sha256: str | None = None  # lets a caller that already hashed the data skip a pass

    @property
    def bufsz(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return self.known_sha256 or hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Bundle:
    arch_code: int
    entry: int
    page_size: int
    flags: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def verify(self) -> bool:
        return bool(self.flags & FLAG_VERIFY)


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to


def layout_offsets(segments: list[Segment]) -> tuple[list[int], int]:
    """File offsets of each segment's data and the total file size."""
    pos = _align(HEADER_SIZE + ENTRY_SIZE * len(segments), DATA_ALIGN)
    offsets = []
    for i, seg in enumerate(segments):
        offsets.append(pos)
        pos = pos + seg.bufsz if i == len(segments) - 1 else _align(pos + seg.bufsz, DATA_ALIGN)
    return offsets, pos


def encode_header(bundle: Bundle, file_size: int, checksum: int) -> bytes:
    return HEADER.pack(MAGIC, VERSION, HEADER_SIZE, ENTRY_SIZE, len(bundle.segments),
                       bundle.arch_code, bundle.flags, bundle.entry, bundle.page_size,
                       file_size, checksum, 0, 0)


def write(bundle: Bundle, out: BinaryIO) -> int:
    """Write ``bundle`` to ``out`` (a seekable binary file); returns the file size.

    Segments must already be sorted by address; the writer does not reorder so that the
    table order is exactly what the plan decided.
    """
    segs = bundle.segments
    if not 1 <= len(segs) <= MAX_SEGMENTS:
        raise BundleError(f"{len(segs)} segments; a bundle holds 1..{MAX_SEGMENTS}")
    offsets, size = layout_offsets(segs)
    table = bytearray()
    for seg, off in zip(segs, offsets):
        name = seg.name.encode("ascii")
        if len(name) > 23:
            raise BundleError(f"segment name {seg.name!r} is longer than 23 characters")
        table += ENTRY.pack(seg.mem, seg.memsz, off, seg.bufsz, int(seg.flags), int(seg.kind),
                            bytes.fromhex(seg.sha256), name)
    crc = zlib.crc32(encode_header(bundle, size, 0))
    crc = zlib.crc32(table, crc)
    pos = HEADER_SIZE + len(table)
    chunks: list[bytes | memoryview] = [table]
    for seg, off in zip(segs, offsets):
        pad = b"\0" * (off - pos)
        chunks += [pad, seg.data]
        crc = zlib.crc32(seg.data, zlib.crc32(pad, crc))
        pos = off + seg.bufsz
    out.write(encode_header(bundle, size, crc))
    for chunk in chunks:
        out.write(chunk)
    return size


class _Sink:
    """A write-only file that keeps the chunks instead of copying them into one buffer."""

    def __init__(self) -> None:
        self.chunks: list[bytes | memoryview] = []

    def write(self, chunk: bytes | memoryview) -> int:
        self.chunks.append(chunk)
        return len(chunk)


def to_chunks(bundle: Bundle) -> list[bytes | memoryview]:
    sink = _Sink()
    write(bundle, sink)  # type: ignore[arg-type]
    return sink.chunks


def to_bytes(bundle: Bundle) -> bytes:
    return b"".join(to_chunks(bundle))


def parse(data: bytes | memoryview, path: str | None = None) -> Bundle:
    """Parse and validate a bundle held in memory (the checks mirror the C loader's)."""
    view = memoryview(data)
    if len(view) < HEADER_SIZE:
        raise BundleError(f"file is {len(view)} bytes, shorter than the {HEADER_SIZE}-byte header", path)
    (magic, version, hsize, esize, nseg, arch, flags, entry, page, fsize, checksum, r0,
     r1) = HEADER.unpack_from(view, 0)
    if magic != MAGIC:
        raise BundleError("bad magic: not a .kxb bundle", path)
    if version != VERSION:
        raise BundleError(f"unsupported version {version} (this reader knows {VERSION})", path)
    if hsize != HEADER_SIZE or esize != ENTRY_SIZE:
        raise BundleError(f"header/entry size {hsize}/{esize}, expected {HEADER_SIZE}/{ENTRY_SIZE}", path)
    if fsize != len(view):
        raise BundleError(f"header says {fsize} bytes but the file has {len(view)} (truncated?)", path)
    crc = zlib.crc32(view[:CHECKSUM_OFFSET])
    crc = zlib.crc32(b"\0\0\0\0", crc)
    crc = zlib.crc32(view[CHECKSUM_OFFSET + 4:], crc)
    if crc != checksum:
        raise BundleError(f"checksum mismatch (file 0x{checksum:08x}, computed 0x{crc:08x})", path)
    if not 1 <= nseg <= MAX_SEGMENTS:
        raise BundleError(f"{nseg} segments; kexec_load takes 1..{MAX_SEGMENTS}", path)
    if r0 or r1:
        raise BundleError("reserved header fields are not zero", path)
    if flags & ~FLAG_VERIFY:
        raise BundleError(f"unknown header flag bits 0x{flags & ~FLAG_VERIFY:x}", path)
    if page & (page - 1) or not 0x1000 <= page <= 0x100000:
        raise BundleError(f"page size 0x{page:x} is not a power of two in 4 KiB..1 MiB", path)
    table_end = HEADER_SIZE + nseg * ENTRY_SIZE
    if table_end > fsize:
        raise BundleError("segment table runs past the end of the file", path)
    segs: list[Segment] = []
    for i in range(nseg):
        mem, memsz, off, bufsz, sflags, kind, sha, name = ENTRY.unpack_from(view, HEADER_SIZE + i * ENTRY_SIZE)
        label = f"segment {i}"
        if mem % page or memsz % page or memsz == 0:
            raise BundleError(f"{label}: mem 0x{mem:x}/memsz 0x{memsz:x} not aligned to page size 0x{page:x}", path)
        if sflags & ~int(KNOWN_SEG_FLAGS):  # int: ~ of an IntFlag keeps only its own bits
            raise BundleError(f"{label}: unknown flag bits 0x{sflags:x}", path)
        if sflags & SegFlag.SEEDS and kind != Kind.DTB:
            raise BundleError(f"{label}: SEEDS flag on a segment of kind {kind} (only a dtb, kind 3, has seeds)", path)
        if mem + memsz >= 2**64:
            raise BundleError(f"{label}: mem + memsz overflows", path)
        if bufsz > memsz:
            raise BundleError(f"{label}: bufsz 0x{bufsz:x} > memsz 0x{memsz:x}", path)
        if off % 16 or off < table_end or off + bufsz > fsize:
            raise BundleError(f"{label}: data [0x{off:x}, +0x{bufsz:x}) outside the file's data area", path)
        if b"\0" not in name:
            raise BundleError(f"{label}: name is not NUL-terminated", path)
        try:
            kind_v = Kind(kind)
        except ValueError:
            raise BundleError(f"{label}: unknown kind {kind}", path) from None
        payload = view[off:off + bufsz]
        if hashlib.sha256(payload).digest() != sha:
            raise BundleError(f"{label}: sha256 of the data does not match the table", path)
        segs.append(Segment(name.split(b"\0", 1)[0].decode("ascii", "replace"), kind_v, mem, memsz,
                            payload, SegFlag(sflags), off, known_sha256=sha.hex()))
    for a, b in zip(segs, segs[1:]):
        if a.mem + a.memsz > b.mem:
            raise BundleError(f"segments {a.name!r} and {b.name!r} overlap or are not sorted by address", path)
    spans = sorted((s.offset, s.offset + s.bufsz, s.name) for s in segs if s.bufsz)
    for (_, a_end, a), (b_start, _, b) in zip(spans, spans[1:]):
        if a_end > b_start:
            raise BundleError(f"data of segments {a!r} and {b!r} overlap in the file", path)
    if flags & FLAG_VERIFY and not any(s.flags & SegFlag.VERIFIED for s in segs):
        raise BundleError("verify flag set but no segment is VERIFIED", path)
    purg = [s for s in segs if s.flags & SegFlag.PURGATORY]
    if len(purg) != 1:
        raise BundleError(f"{len(purg)} segments flagged PURGATORY; exactly one is required", path)
    if not purg[0].mem <= entry < purg[0].mem + purg[0].memsz:
        raise BundleError(f"entry 0x{entry:x} is not inside the purgatory segment", path)
    return Bundle(arch, entry, page, flags, segs)


def read(path: str | Path) -> Bundle:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read: {exc.strerror}", str(path)) from None
    return parse(data, str(path))
