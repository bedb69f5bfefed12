"""Turn a Recipe into a Plan: read the inputs, place every segment, compute the digest.

Placement is deterministic: fixed addresses first, then the purgatory (fixed, or at the top
of the usable memory in a window whose size does not depend on the purgatory's exact size,
so a recipe-only change never moves it and never relinks it), then kernel, initrd, blobs and
the device tree, first fit from ``load_min`` upwards. The device tree is generated or fixed
up last, once every address it mentions is known.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import fdt as fdtmod
from .arches.base import Arch
from .bundle import Kind
from .kernels import KernelFormatError, KernelImage, Source
from .recipe import Input, Recipe, RecipeError

HASH_CHUNK = 1 << 20
MAX_REGIONS = 16  # entries of the purgatory's kx_regions table
ZERO_CHUNK = bytes(HASH_CHUNK)


@dataclass(frozen=True)
class PlannedSegment:
    name: str
    kind: Kind
    mem: int
    memsz: int
    source: Source
    sha256: str          # of the source bytes (bufsz = source.size)
    verified: bool
    # (offset, length) ranges of the data the loader fills at load time (device-tree seeds):
    # never hashed, so the digest does not depend on them.
    holes: tuple[tuple[int, int], ...] = ()

    @property
    def bufsz(self) -> int:
        return self.source.size


@dataclass(frozen=True)
class Plan:
    recipe: str
    recipe_file: str
    recipe_sha256: str
    arch: str
    page_size: int
    verify: str
    console: bool
    purgatory_base: int
    purgatory_window: int
    kernel_entry: int
    dtb_addr: int | None
    segments: list[PlannedSegment]          # everything but the purgatory, by address
    regions: list[tuple[int, int]]          # what the purgatory hashes, in order
    digest: str                             # hex SHA-256 over regions ("" when verify is none)
    handoff: dict[str, str]                 # purgatory symbol -> hex bytes
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        d = asdict(self)
        d["segments"] = [{**asdict(s), "kind": s.kind.name.lower()} for s in self.segments]
        return json.dumps(d, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        d = json.loads(text)
        d["segments"] = [PlannedSegment(s["name"], Kind[s["kind"].upper()], s["mem"], s["memsz"],
                                        Source(**s["source"]), s["sha256"], s["verified"],
                                        tuple(tuple(h) for h in s.get("holes", ())))
                         for s in d["segments"]]
        d["regions"] = [tuple(r) for r in d["regions"]]
        return cls(**d)

    def symbol_values(self) -> dict[str, bytes]:
        """Every purgatory symbol the patch step writes, with its exact bytes."""
        from . import arches

        arch = arches.get(self.arch)
        order = "little" if arch.little_endian else "big"
        table = bytearray(256)
        for i, (start, length) in enumerate(self.regions):
            table[16 * i:16 * i + 16] = start.to_bytes(8, order) + length.to_bytes(8, order)
        values = {
            "kx_verify": (0 if self.verify == "none" else 1).to_bytes(4, order),
            "kx_console": int(self.console).to_bytes(4, order),
            "kx_regions": bytes(table),
            "kx_digest": bytes.fromhex(self.digest) if self.digest else bytes(32),
        }
        values.update({k: bytes.fromhex(v) for k, v in self.handoff.items()})
        return values


class LayoutError(RecipeError):
    """Placement failed: no room, overlap, or an address the arch cannot use."""


def _align_up(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def _align_down(v: int, a: int) -> int:
    return v // a * a


class Allocator:
    """Free physical ranges: RAM minus reserved ranges and what is already placed."""

    def __init__(self, recipe: Recipe, limit: int) -> None:
        self.recipe = recipe
        self.limit = limit
        self.taken: list[tuple[int, int, str]] = [(s, n, f"/reserved/{i}") for i, (s, n) in enumerate(recipe.reserved)]

    def _clash(self, start: int, size: int) -> str | None:
        for s, n, who in self.taken:
            if start < s + n and s < start + size:
                return who
        return None

    def _in_ram(self, start: int, size: int) -> bool:
        return start + size <= self.limit and any(s <= start and start + size <= s + n for s, n in self.recipe.memory)

    def fixed(self, pointer: str, start: int, size: int) -> None:
        if not self._in_ram(start, size):
            raise LayoutError(self.recipe.origin(pointer), pointer,
                              f"[0x{start:x}, 0x{start + size:x}) does not fit inside the memory ranges below 0x{self.limit:x}",
                              self.recipe.arch.limit_hint)
        who = self._clash(start, size)
        if who:
            raise LayoutError(self.recipe.origin(pointer), pointer,
                              f"[0x{start:x}, 0x{start + size:x}) overlaps {who}", "move one of them")
        self.taken.append((start, size, pointer))

    def _candidates(self, lowest: int, align: int) -> list[int]:
        points = {lowest} | {s for s, _ in self.recipe.memory} | {s + n for s, n, _ in self.taken}
        return sorted({_align_up(max(p, lowest), align) for p in points})

    def first_fit(self, pointer: str, size: int, align: int, lowest: int) -> int:
        for start in self._candidates(lowest, align):
            if self._in_ram(start, size) and not self._clash(start, size):
                self.taken.append((start, size, pointer))
                return start
        raise LayoutError(self.recipe.origin(pointer), pointer,
                          f"no free 0x{size:x}-byte range above 0x{lowest:x} and below 0x{self.limit:x}",
                          "give it a fixed address, lower load_min, or add memory")

    def top_fit(self, pointer: str, size: int, align: int) -> int:
        ends = sorted({min(s + n, self.limit) for s, n in self.recipe.memory} |
                      {s for s, _, _ in self.taken}, reverse=True)
        for end in ends:
            start = _align_down(end - size, align)
            if start >= 0 and self._in_ram(start, size) and not self._clash(start, size):
                self.taken.append((start, size, pointer))
                return start
        raise LayoutError(self.recipe.origin(pointer), pointer, "no room for the purgatory below the arch limit",
                          "give /purgatory/address")


def _file_source(inp: Input) -> Source:
    assert inp.path is not None
    size = os.path.getsize(inp.path)
    if size == 0:
        raise RecipeError(inp.origin, inp.pointer + "/path", f"{inp.given} is empty", "give a non-empty file")
    return Source(str(inp.path), 0, size)


def _sha256(src: Source) -> str:
    h = hashlib.sha256()
    with open(src.path, "rb") as f:
        f.seek(src.offset)
        left = src.size
        while left:
            chunk = f.read(min(HASH_CHUNK, left))
            if not chunk:
                raise OSError(f"{src.path}: shorter than expected")
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def _file_sha256(path: str, segments: list[PlannedSegment]) -> str:
    """SHA-256 of a whole input file, reusing a segment's hash when the segment is the file."""
    size = os.path.getsize(path)
    for s in segments:
        if s.source.path == path and s.source.offset == 0 and s.source.size == size:
            return s.sha256
    return _sha256(Source(path, 0, size))


def _pieces(seg: PlannedSegment, length: int) -> list[tuple[int, int]]:
    """[start, end) offsets of ``seg`` up to ``length``, minus its holes, empty pieces left out."""
    pieces, pos = [], 0
    for off, n in sorted(seg.holes):
        if off > pos:
            pieces.append((pos, min(off, length)))
        pos = max(pos, off + n)
    if pos < length:
        pieces.append((pos, length))
    return [(a, b) for a, b in pieces if b > a]


def region_digest(segments: list[PlannedSegment], mode: str,
                  origin: str = "<plan>") -> tuple[list[tuple[int, int]], str]:
    """The regions the purgatory hashes and their SHA-256 (kexec-tools' rule for ``full``).

    ``full``: every verified segment in address order, its bytes then zeros up to memsz.
    ``data``: only the bytes from the file; the zero tails are left to the kernel.
    Either way a segment's holes (load-time seeds) are cut out: the segment becomes one region
    per piece between them, and the hole bytes are never hashed.
    """
    if mode == "none":
        return [], ""
    h = hashlib.sha256()
    regions = []
    for seg in segments:
        if not seg.verified:
            continue
        length = seg.memsz if mode == "full" else seg.bufsz
        with open(seg.source.path, "rb") as f:
            for start, end in _pieces(seg, length):
                regions.append((seg.mem + start, end - start))
                data_end = min(end, seg.bufsz)
                if start < data_end:
                    f.seek(seg.source.offset + start)
                    left = data_end - start
                    while left:
                        chunk = f.read(min(HASH_CHUNK, left))
                        if not chunk:
                            raise OSError(f"{seg.source.path}: shorter than expected")
                        h.update(chunk)
                        left -= len(chunk)
                tail = end - max(start, seg.bufsz)
                while tail > 0:
                    n = min(tail, HASH_CHUNK)
                    h.update(ZERO_CHUNK[:n])
                    tail -= n
    if len(regions) > MAX_REGIONS:
        raise RecipeError(origin, "/verify", f"{len(regions)} regions to hash; the purgatory's table holds {MAX_REGIONS}",
                          "use fewer blobs (each load-time seed splits the device tree into more regions)")
    return regions, h.hexdigest()


def _kernel(recipe: Recipe, payload: Path | None, build_dir: Path) -> tuple[KernelImage, str]:
    arch = recipe.arch
    if recipe.kernel.path is not None:
        path, label, pointer = recipe.kernel.path, str(recipe.kernel.given), "/kernel/path"
    else:
        if payload is None:
            raise RecipeError(recipe.origin("/kernel"), "/kernel/builtin", "the built-in payload was not built")
        path, label, pointer = payload, f"built-in payload ({payload.name})", "/kernel/builtin"
    try:
        return arch.load_kernel(path, label, build_dir / "kernel.flat"), str(path)
    except KernelFormatError as exc:
        raise RecipeError(recipe.origin(pointer), pointer, str(exc), exc.hint or "check the kernel file") from None


def make_plan(recipe: Recipe, build_dir: Path, payload: Path | None = None) -> Plan:
    arch: Arch = recipe.arch
    page = recipe.page_size
    build_dir.mkdir(parents=True, exist_ok=True)
    limit = arch.address_limit(list(recipe.memory))
    alloc = Allocator(recipe, limit)

    kernel, kernel_path = _kernel(recipe, payload, build_dir)
    kernel_memsz = _align_up(max(kernel.memsz, kernel.source.size), page)
    items: list[tuple[str, Kind, Input | None, Source | None, int]] = []
    items.append(("kernel", Kind.KERNEL, recipe.kernel, kernel.source, kernel_memsz))
    if recipe.initrd is not None:
        src = _file_source(recipe.initrd)
        items.append(("initrd", Kind.INITRD, recipe.initrd, src, _align_up(src.size, page)))
    for blob in recipe.blobs:
        src = _file_source(blob)
        items.append((blob.role, Kind.RAW, blob, src, _align_up(src.size, page)))

    # 1. fixed addresses, 2. the purgatory, 3. the rest first-fit.
    placed: dict[str, int] = {}
    window = _align_up(arch.purgatory_window, page)
    for name, _, inp, _, memsz in items:
        if inp is not None and inp.address is not None:
            if name == "kernel" and inp.address % kernel.align:
                raise recipe.error("/kernel/address", f"0x{inp.address:x} is not aligned to 0x{kernel.align:x}",
                                   "this kernel format needs that alignment")
            alloc.fixed(inp.pointer + "/address", inp.address, memsz)
            placed[name] = inp.address
    if recipe.purgatory_address is not None:
        alloc.fixed("/purgatory/address", recipe.purgatory_address, window)
        purg = recipe.purgatory_address
    else:
        purg = alloc.top_fit("/purgatory", window, page)
    for name, _, inp, _, memsz in items:
        if name not in placed:
            align, lowest = (max(page, kernel.align), max(recipe.load_min, kernel.min_address)) \
                if name == "kernel" else (page, recipe.load_min)
            pointer = inp.pointer if inp is not None else f"/{name}"
            placed[name] = alloc.first_fit(pointer, memsz, align, lowest)

    segments = [PlannedSegment(name, kind, placed[name], memsz, src, _sha256(src), True)
                for name, kind, _, src, memsz in items if src is not None]
    initrd = next(((s.mem, s.mem + s.bufsz) for s in segments if s.kind == Kind.INITRD), None)

    dtb_addr = None
    if recipe.dtb is not None or recipe.dtb_generate is not None:
        chosen = fdtmod.Chosen(recipe.cmdline, initrd, ((purg, window),), arch.dtb_drop,
                               arch.dtb_loadtime_seeds)
        blob, holes = _device_tree(recipe, chosen)
        dt_path = build_dir / "dtb.bin"
        _write_atomic(dt_path, blob)
        src = Source(str(dt_path), 0, len(blob))
        pointer = "/dtb"
        if recipe.dtb is not None and recipe.dtb.address is not None:
            dtb_addr = recipe.dtb.address
            alloc.fixed("/dtb/address", dtb_addr, _align_up(len(blob), page))
        else:
            dtb_addr = alloc.first_fit(pointer, _align_up(len(blob), page), page, recipe.load_min)
        segments.append(PlannedSegment("dtb", Kind.DTB, dtb_addr, _align_up(len(blob), page), src,
                                       hashlib.sha256(blob).hexdigest(), True, holes))
    segments.extend(arch.extra_plan_segments(recipe, segments, build_dir, alloc, kernel))
    segments.sort(key=lambda s: s.mem)

    regions, digest = region_digest(segments, recipe.verify, recipe.origin("/verify"))
    inputs = [{"role": "recipe" if f == recipe.file else "recipe-base", "path": _repo_relative(f), "sha256": h}
              for f, h in recipe.files]
    for inp, label in ((recipe.kernel, kernel_path), (recipe.initrd, None), (recipe.dtb, None), *((b, None) for b in recipe.blobs)):
        if inp is None:
            continue
        p = str(inp.path) if inp.path is not None else label
        if p is None:
            continue
        inputs.append({"role": inp.role, "path": inp.given if inp.given is not None else f"builtin:{recipe.kernel_builtin}",
                       "sha256": _file_sha256(p, segments)})
    kseg = next(s for s in segments if s.kind == Kind.KERNEL)
    plan = Plan(
        recipe=recipe.name, recipe_file=recipe.file, recipe_sha256=recipe.sha256, arch=arch.name,
        page_size=page, verify=recipe.verify, console=recipe.console,
        purgatory_base=purg, purgatory_window=window,
        kernel_entry=kseg.mem + kernel.entry_offset, dtb_addr=dtb_addr,
        segments=segments, regions=regions, digest=digest, handoff={}, inputs=inputs,
    )
    values = arch.handoff_values(plan, kernel)
    # The arch declares its hand-off symbols and sizes; a mismatch is a toolchain bug, caught
    # here rather than as a confusing patch error against the ELF.
    declared = dict(arch.handoff_symbols)
    if {k: len(v) for k, v in values.items()} != declared:
        raise AssertionError(f"{arch.name}: hand-off values {sorted(values)} do not match the declared "
                             f"symbols {declared}")
    handoff = {k: v.hex() for k, v in values.items()}
    return Plan(**{**plan.__dict__, "handoff": handoff})


def _repo_relative(path: str) -> str:
    from .arches.base import REPO

    full = Path(path).resolve()
    return str(full.relative_to(REPO)) if full.is_relative_to(REPO) else path


def _device_tree(recipe: Recipe, chosen: fdtmod.Chosen) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    """The packed tree and the (offset, length) of each load-time seed value in it."""
    if recipe.dtb is not None:
        assert recipe.dtb.path is not None
        blob = recipe.dtb.path.read_bytes()
        try:
            out = fdtmod.fixup(blob, chosen, str(recipe.dtb.given))
            return out, fdtmod.seed_holes(out, chosen, str(recipe.dtb.given))
        except fdtmod.FdtError as exc:
            raise RecipeError(recipe.dtb.origin, "/dtb/path", str(exc), "give a valid .dtb (e.g. a copy of /sys/firmware/fdt)") from None
    gen = recipe.dtb_generate or {}
    cpus = int(gen.get("cpus", 1))
    model = str(gen.get("model", f"kx,{recipe.arch.name}-test"))
    out = fdtmod.generate(list(recipe.memory), cpus, model, chosen, recipe.arch.generated_cpu_props)
    return out, fdtmod.seed_holes(out, chosen, "<generated>")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_plan(plan: Plan, path: Path) -> None:
    _write_atomic(path, plan.to_json().encode())


def read_plan(path: Path) -> Plan:
    return Plan.from_json(path.read_text())
