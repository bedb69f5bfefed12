"""Write ``bundle.kxb`` and ``manifest.json`` from a plan and the patched purgatory.

Both files are written to temporary names and renamed into place only when both are
complete, so an interrupted or failed build never leaves a bundle that looks finished.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import bundle, elfimage
from .arches import get as get_arch
from .bundle import Kind, SegFlag
from .layout import Plan
from .version import VERSION, git_revision

MANIFEST_VERSION = 1


class EmitError(Exception):
    pass


def _hex(v: int) -> str:
    return f"0x{v:x}"


def purgatory_segment(plan: Plan, patched: Path) -> tuple[bundle.Segment, int]:
    img = elfimage.read(patched, with_symbols=False)
    if img.paddr != plan.purgatory_base or img.vaddr != plan.purgatory_base:
        raise EmitError(f"{patched}: linked at 0x{img.vaddr:x}, the plan puts the purgatory at 0x{plan.purgatory_base:x}")
    memsz = (img.memsz + plan.page_size - 1) // plan.page_size * plan.page_size
    if memsz > plan.purgatory_window:
        raise EmitError(f"{patched}: purgatory needs 0x{memsz:x} bytes, its window is 0x{plan.purgatory_window:x}")
    seg = bundle.Segment("purgatory", Kind.PURGATORY, plan.purgatory_base, memsz, img.data, SegFlag.PURGATORY)
    return seg, img.entry


def build_bundle(plan: Plan, patched: Path) -> bundle.Bundle:
    arch = get_arch(plan.arch)
    purg, entry = purgatory_segment(plan, patched)
    segs = [purg]
    for s in plan.segments:
        flags = SegFlag.VERIFIED if s.verified and plan.verify != "none" else SegFlag.NONE
        if s.holes:
            if s.kind != Kind.DTB:
                raise EmitError(f"segment {s.name!r}: load-time fill ranges on a {s.kind.name.lower()} segment")
            flags |= SegFlag.SEEDS
        segs.append(bundle.Segment(s.name, s.kind, s.mem, s.memsz, s.source.read(), flags, known_sha256=s.sha256))
    segs.sort(key=lambda s: s.mem)
    flags = bundle.FLAG_VERIFY if plan.verify != "none" else 0
    return bundle.Bundle(arch.code, entry, plan.page_size, flags, segs)


# Purgatory routines whose addresses tools need (emulate stops there); recorded when present.
LANDMARKS = ("kx_main", "kx_arch_setup", "kx_arch_handoff", "kx_arch_halt", "kx_arch_fault")


def manifest(plan: Plan, b: bundle.Bundle, bundle_size: int, bundle_sha256: str, compiler: str,
             symbols: dict[str, bytes], addresses: dict[str, int], landmarks: dict[str, int]) -> dict[str, Any]:
    offsets, _ = bundle.layout_offsets(b.segments)
    holes = {s.name: s.holes for s in plan.segments}
    segs = []
    for seg, off in zip(b.segments, offsets):
        segs.append({
            "name": seg.name, "kind": seg.kind.name.lower(), "mem": _hex(seg.mem), "memsz": _hex(seg.memsz),
            "bufsz": _hex(seg.bufsz), "offset": _hex(off), "sha256": seg.sha256,
            "verified": bool(seg.flags & SegFlag.VERIFIED),
            "loadtime_fill": [{"offset": _hex(o), "len": _hex(n), "fill": "random"}
                              for o, n in holes.get(seg.name, ())],
        })
    verify: Any = False if plan.verify == "none" else {
        "mode": plan.verify,
        "regions": [{"start": _hex(s), "len": _hex(n)} for s, n in plan.regions],
        "bytes": sum(n for _, n in plan.regions),
        "digest": plan.digest,
    }
    return {
        "manifest_version": MANIFEST_VERSION,
        "recipe": plan.recipe,
        "arch": plan.arch,
        "entry": _hex(b.entry),
        "page_size": _hex(plan.page_size),
        "verify": verify,
        "segments": segs,
        "purgatory": {"symbols": {k: {"address": _hex(addresses[k]), "size": len(v), "value": v.hex()}
                                  for k, v in sorted(symbols.items())},
                      "landmarks": {k: _hex(v) for k, v in sorted(landmarks.items())}},
        "bundle": {"format_version": bundle.VERSION, "size": bundle_size, "sha256": bundle_sha256},
        "provenance": {
            "recipe_sha256": plan.recipe_sha256,
            "inputs": plan.inputs,
            "toolchain": {"version": VERSION, "git": git_revision()},
            "compiler": compiler,
            "options": {"verify": plan.verify, "console": plan.console, "page_size": _hex(plan.page_size),
                        "purgatory_base": _hex(plan.purgatory_base)},
        },
    }


def emit(plan: Plan, patched: Path, out_bundle: Path, out_manifest: Path, compiler: str) -> dict[str, Any]:
    for stale in (out_bundle, out_manifest):
        stale.unlink(missing_ok=True)
    b = build_bundle(plan, patched)
    chunks = bundle.to_chunks(b)
    h = hashlib.sha256()
    size = 0
    for c in chunks:
        h.update(c)
        size += len(c)
    values = plan.symbol_values()
    syms = elfimage.read(patched).symbols
    man = manifest(plan, b, size, h.hexdigest(), compiler, values, {k: syms[k].value for k in values},
                   {k: syms[k].value for k in LANDMARKS if k in syms})
    text = json.dumps(man, indent=2, sort_keys=False) + "\n"
    tmp_b = out_bundle.with_name(out_bundle.name + ".tmp")
    tmp_m = out_manifest.with_name(out_manifest.name + ".tmp")
    try:
        with open(tmp_b, "wb") as f:
            for c in chunks:
                f.write(c)
        tmp_m.write_text(text)
        os.chmod(tmp_b, 0o644)
        os.chmod(tmp_m, 0o644)
        os.replace(tmp_m, out_manifest)
        os.replace(tmp_b, out_bundle)
    finally:
        tmp_b.unlink(missing_ok=True)
        tmp_m.unlink(missing_ok=True)
    return man
