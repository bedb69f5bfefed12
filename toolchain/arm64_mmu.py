"""Identity-map translation tables for the arm64 purgatory's experimental MMU-on hashing.

Written from the Arm Architecture Reference Manual for A-profile (VMSAv8-64, chapter D8
"The AArch64 Virtual Memory System Architecture"): 4 KiB translation granule, a 39-bit
input address range (TCR.T0SZ = 25), so the walk starts at level 1 with 512 entries of
1 GiB, level 2 entries map 2 MiB, level 3 entries 4 KiB. Each level uses the largest
descriptor that covers a uniform range: a 1 GiB or 2 MiB *block*, else a *table* pointing
at the next level; level 3 uses *page* descriptors.

What is mapped (identity, VA == PA, over the first 512 GiB):

* the recipe's ``/memory`` ranges minus ``/reserved``: Normal memory, Inner/Outer
  Write-Back Read/Write-Allocate (MAIR attribute 0xff, index ``ATTR_NORMAL``), Inner
  Shareable, read/write, **execute-never** except ...
* ... the purgatory's own window (its code, data and stack): Normal, read/write, executable.
  Everything else in RAM is data the purgatory only reads (segments) or never touches.
* everything else, ``/reserved`` included: Device-nGnRE (MAIR 0x04, index
  ``ATTR_DEVICE``), read/write, execute-never. The PL011 at 0x09000000 lives there. Device
  memory is never accessed speculatively, so mapping holes as Device is harmless; XN keeps
  instruction fetches (speculative ones too) away from it.

Two trees are emitted back to back in one blob, because the execute-never bits differ by
translation regime (D8.4 "Memory access control"):

* ``el1``: the EL1&0 regime (also EL2&0 when HCR_EL2.E2H = 1, VHE): PXN is bit 53, UXN bit 54;
  AP[2:1] = 00 (EL1 read/write, no EL0 access). AP[1] = 1 would make the page EL0-writable,
  and the architecture then treats it as privileged-execute-never: the purgatory could not
  run from it.
* ``el2``: the EL2 regime without VHE (one privilege level): bit 54 is XN, bit 53 is RES0 and
  left 0; AP[2:1] = 00 (read/write).

Every descriptor has AF = 1 (no Access flag faults: hardware AF management is not assumed)
and nG = 0 (global; no ASIDs are used).
"""
from __future__ import annotations

from dataclasses import dataclass

GRANULE = 0x1000
ENTRIES = 512
VA_BITS = 39
T0SZ = 64 - VA_BITS
COVER = 1 << VA_BITS                  # 512 GiB identity-mapped
LEVEL_SIZE = {1: 1 << 30, 2: 1 << 21, 3: 1 << 12}

ATTR_DEVICE = 0                       # MAIR_ELx.Attr0 = 0x04 Device-nGnRE
ATTR_NORMAL = 1                       # MAIR_ELx.Attr1 = 0xff Normal WB RW-alloc, inner and outer
MAIR = (0xFF << 8) | 0x04

DESC_VALID = 1 << 0
DESC_TABLE = 1 << 1                   # bit 1: table (levels 1-2) or page (level 3); 0 = block
SH_INNER = 0b11 << 8
AF = 1 << 10
PXN = 1 << 53
UXN = 1 << 54                         # XN in the EL2 regime
OA_MASK = ((1 << 48) - 1) & ~(GRANULE - 1)

REGIMES = ("el1", "el2")


class MmuError(ValueError):
    """The recipe cannot be identity-mapped by these tables."""


@dataclass(frozen=True)
class Kind:
    normal: bool
    executable: bool

    def descriptor_bits(self, regime: str) -> int:
        bits = AF | ((ATTR_NORMAL << 2) | SH_INNER if self.normal else ATTR_DEVICE << 2)
        if regime == "el1":
            bits |= UXN                       # EL0 never executes anything
            if not self.executable:
                bits |= PXN
        elif not self.executable:
            bits |= UXN                       # EL2 regime: bit 54 is XN
        return bits


DEVICE = Kind(False, False)
RAM = Kind(True, False)
RAM_EXEC = Kind(True, True)


def _kind_map(ram: list[tuple[int, int]], reserved: list[tuple[int, int]],
              executable: list[tuple[int, int]]) -> list[tuple[int, Kind]]:
    """Piecewise-constant map: sorted (start, kind) breakpoints covering [0, COVER)."""
    points = {0, COVER}
    for s, n in (*ram, *reserved, *executable):
        points.update((min(s, COVER), min(s + n, COVER)))
    out: list[tuple[int, Kind]] = []
    for p in sorted(points):
        if p >= COVER:
            break
        def inside(ranges: list[tuple[int, int]]) -> bool:
            return any(s <= p < s + n for s, n in ranges)
        kind = DEVICE
        if inside(ram) and not inside(reserved):
            kind = RAM_EXEC if inside(executable) else RAM
        if not out or out[-1][1] != kind:
            out.append((p, kind))
    return out


def _uniform(kinds: list[tuple[int, Kind]], start: int, size: int) -> Kind | None:
    """The kind of [start, start + size) if it has one kind, else None."""
    found: Kind | None = None
    for i, (p, kind) in enumerate(kinds):
        end = kinds[i + 1][0] if i + 1 < len(kinds) else COVER
        if end <= start or p >= start + size:
            continue
        if found is not None and kind != found:
            return None
        found = kind
    return found


def _tree(base: int, kinds: list[tuple[int, Kind]], regime: str) -> list[bytearray]:
    """Tables of one regime; tables[0] is the level-1 root at ``base``."""
    tables: list[bytearray] = []

    def build(level: int, va: int) -> int:
        index = len(tables)
        table = bytearray(GRANULE)
        tables.append(table)
        size = LEVEL_SIZE[level]
        for i in range(ENTRIES):
            a = va + i * size
            kind = _uniform(kinds, a, size)
            if kind is None:
                assert level < 3, "ranges are 4 KiB aligned"
                child = build(level + 1, a)
                desc = (base + child * GRANULE) | DESC_TABLE | DESC_VALID
            else:
                desc = a | kind.descriptor_bits(regime) | DESC_VALID | (DESC_TABLE if level == 3 else 0)
            table[8 * i:8 * i + 8] = desc.to_bytes(8, "little")
        return index

    build(1, 0)
    return tables


@dataclass(frozen=True)
class Tables:
    base: int
    blob: bytes
    roots: dict[str, int]           # regime -> TTBR0 value (root table address)


def check_ranges(ram: list[tuple[int, int]], executable: list[tuple[int, int]]) -> None:
    for s, n in (*ram, *executable):
        if s % GRANULE or n % GRANULE:
            raise MmuError(f"range 0x{s:x}+0x{n:x} is not 4 KiB aligned")
        if s + n > COVER:
            raise MmuError(f"range 0x{s:x}+0x{n:x} reaches above the {VA_BITS}-bit identity map (0x{COVER:x})")


def table_size(ram: list[tuple[int, int]], reserved: list[tuple[int, int]],
               executable: list[tuple[int, int]]) -> int:
    """Bytes the tables of both regimes need (independent of where they go)."""
    kinds = _kind_map(ram, reserved, executable)
    return len(REGIMES) * len(_tree(0, kinds, "el1")) * GRANULE


def build(base: int, ram: list[tuple[int, int]], reserved: list[tuple[int, int]],
          executable: list[tuple[int, int]]) -> Tables:
    """Tables for both regimes at physical address ``base`` (4 KiB aligned)."""
    if base % GRANULE:
        raise MmuError(f"table base 0x{base:x} is not 4 KiB aligned")
    check_ranges(ram, executable)
    kinds = _kind_map(ram, reserved, executable)
    blob = bytearray()
    roots: dict[str, int] = {}
    for regime in REGIMES:
        root = base + len(blob)
        roots[regime] = root
        for t in _tree(root, kinds, regime):
            blob += t
    return Tables(base, bytes(blob), roots)


# ---- a reader, for tests and `inspect`-style checks -------------------------------------

@dataclass(frozen=True)
class Leaf:
    va: int
    size: int
    pa: int
    desc: int

    @property
    def attr_index(self) -> int:
        return (self.desc >> 2) & 7

    @property
    def normal(self) -> bool:
        return self.attr_index == ATTR_NORMAL

    def executable(self, regime: str) -> bool:
        if regime == "el1":
            return not self.desc & PXN
        return not self.desc & UXN

    @property
    def writable(self) -> bool:
        return not self.desc & (1 << 7)       # AP[2] = 0


def walk(blob: bytes, base: int, root: int, va: int) -> Leaf | None:
    """Translate ``va`` as the hardware would (4 KiB granule, start level 1)."""
    if va >= COVER:
        return None
    table = root
    for level in (1, 2, 3):
        shift = {1: 30, 2: 21, 3: 12}[level]
        off = table - base + 8 * ((va >> shift) & (ENTRIES - 1))
        if not 0 <= off < len(blob):
            raise MmuError(f"table at 0x{table:x} lies outside the blob")
        desc = int.from_bytes(blob[off:off + 8], "little")
        if not desc & DESC_VALID:
            return None
        is_table = bool(desc & DESC_TABLE)
        if level < 3 and is_table:
            table = desc & OA_MASK
            continue
        if level == 3 and not is_table:
            return None                       # reserved encoding at level 3
        size = 1 << shift
        start = va & ~(size - 1)
        return Leaf(start, size, desc & OA_MASK & ~(size - 1), desc)
    return None


def leaves(blob: bytes, base: int, root: int) -> list[Leaf]:
    """Every leaf of one tree, in address order."""
    out: list[Leaf] = []

    def visit(table: int, level: int, va: int) -> None:
        shift = {1: 30, 2: 21, 3: 12}[level]
        for i in range(ENTRIES):
            off = table - base + 8 * i
            desc = int.from_bytes(blob[off:off + 8], "little")
            a = va + (i << shift)
            if not desc & DESC_VALID:
                continue
            if level < 3 and desc & DESC_TABLE:
                visit(desc & OA_MASK, level + 1, a)
            else:
                out.append(Leaf(a, 1 << shift, desc & OA_MASK & ~((1 << shift) - 1), desc))

    visit(root, 1, 0)
    return out
