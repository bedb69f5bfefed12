"""Read a bundle back: what it loads where, and what its purgatory will check.

``describe`` is what ``python -m toolchain inspect`` prints; ``purgatory_state`` reads the
values the patch step wrote, straight from the purgatory segment inside the bundle, using
the symbol addresses recorded in the manifest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import arches, bundle
from .bundle import Bundle, SegFlag


@dataclass(frozen=True)
class PurgatoryState:
    verify: bool
    regions: list[tuple[int, int]]
    digest: bytes
    values: dict[str, bytes]


def manifest_path(bundle_path: Path) -> Path:
    return bundle_path.with_name("manifest.json")


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def purgatory_state(b: Bundle, man: dict[str, Any]) -> PurgatoryState:
    arch = arches.by_code(b.arch_code)
    order = "little" if arch.little_endian else "big"
    purg = next(s for s in b.segments if s.flags & SegFlag.PURGATORY)
    values: dict[str, bytes] = {}
    for name, sym in man["purgatory"]["symbols"].items():
        off = int(sym["address"], 16) - purg.mem
        if not 0 <= off <= len(purg.data) - sym["size"]:
            raise bundle.BundleError(f"manifest symbol {name} at {sym['address']} is outside the purgatory's data")
        values[name] = bytes(purg.data[off:off + sym["size"]])
    table = values.get("kx_regions", b"")
    regions = []
    for i in range(0, len(table), 16):
        start = int.from_bytes(table[i:i + 8], order)
        length = int.from_bytes(table[i + 8:i + 16], order)
        if length:
            regions.append((start, length))
    return PurgatoryState(int.from_bytes(values.get("kx_verify", b"\0"), order) != 0, regions,
                          values.get("kx_digest", b""), values)


def describe(b: Bundle, path: str, state: PurgatoryState | None) -> dict[str, Any]:
    arch = arches.by_code(b.arch_code)
    return {
        "bundle": path,
        "arch": arch.name,
        "entry": f"0x{b.entry:x}",
        "page_size": f"0x{b.page_size:x}",
        "flags": {"verify": b.verify},
        "segments": [{"index": i, "name": s.name, "kind": s.kind.name.lower(), "mem": f"0x{s.mem:x}",
                      "memsz": f"0x{s.memsz:x}", "bufsz": f"0x{s.bufsz:x}", "offset": f"0x{s.offset:x}",
                      "flags": [f.name.lower() for f in SegFlag if f and s.flags & f], "sha256": s.sha256}
                     for i, s in enumerate(b.segments)],
        "purgatory": None if state is None else {
            "verify": state.verify,
            "regions": [{"start": f"0x{a:x}", "len": f"0x{n:x}"} for a, n in state.regions],
            "digest": state.digest.hex(),
        },
    }


def format_table(d: dict[str, Any]) -> str:
    lines = [f"bundle   {d['bundle']}", f"arch     {d['arch']}", f"entry    {d['entry']}",
             f"page     {d['page_size']}", f"verify   {'yes' if d['flags']['verify'] else 'no (skip checks)'}", "",
             f"{'#':>2}  {'name':<12} {'kind':<10} {'mem':>18} {'memsz':>12} {'bufsz':>12}  flags"]
    for s in d["segments"]:
        lines.append(f"{s['index']:>2}  {s['name']:<12} {s['kind']:<10} {s['mem']:>18} {s['memsz']:>12} "
                     f"{s['bufsz']:>12}  {','.join(s['flags']) or '-'}")
    p = d.get("purgatory")
    if p:
        lines.append("")
        if p["verify"]:
            lines.append(f"digest   {p['digest']}")
            for r in p["regions"]:
                lines.append(f"region   {r['start']} +{r['len']}")
        else:
            lines.append("digest   (not checked: the purgatory skips verification)")
    return "\n".join(lines)


def read(path: Path) -> tuple[Bundle, dict[str, Any] | None]:
    b = bundle.read(path)
    mp = manifest_path(path)
    man = load_manifest(mp) if mp.exists() else None
    return b, man
