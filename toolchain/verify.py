"""Independent re-check of a built bundle: ``python -m toolchain verify BUNDLE``.

Re-derives everything with hashlib from the bytes in the bundle, not from the build's
intermediate files: the per-segment hashes, the manifest's claims, and the digest the
purgatory will compare against (read out of the purgatory segment itself). When the input
files named in the manifest are present, their hashes are checked too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import bundle, inspect
from .arches.base import REPO
from .bundle import Bundle, SegFlag

MANIFEST_SCHEMA = REPO / "schemas" / "manifest.schema.json"


@dataclass
class Report:
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def ok(self, what: str) -> None:
        self.checks.append(what)

    def bad(self, what: str) -> None:
        self.problems.append(what)


def digest_of_regions(b: Bundle, regions: list[tuple[int, int]]) -> bytes | str:
    """SHA-256 the purgatory would compute, or a message naming the region it cannot map."""
    h = hashlib.sha256()
    for start, length in regions:
        seg = next((s for s in b.segments if s.mem <= start < s.mem + s.memsz), None)
        if seg is None or start + length > seg.mem + seg.memsz:
            return f"region 0x{start:x}+0x{length:x} is not inside one segment"
        if seg.flags & SegFlag.PURGATORY:
            return f"region 0x{start:x}+0x{length:x} covers the purgatory itself"
        off = start - seg.mem
        data = seg.data[off:off + length]
        h.update(data)
        left = length - len(data)
        while left > 0:
            n = min(left, 1 << 20)
            h.update(bytes(n))
            left -= n
    return h.digest()


def _fills(man: dict[str, Any], name: str) -> list[tuple[int, int]]:
    seg = next((m for m in man["segments"] if m["name"] == name), None)
    return sorted((int(f["offset"], 16), int(f["len"], 16)) for f in (seg or {}).get("loadtime_fill", ()))


def coverage_problems(b: Bundle, regions: list[tuple[int, int]], mode: str, man: dict[str, Any]) -> list[str]:
    """The regions cover exactly the VERIFIED segments (to memsz in ``full`` mode, to bufsz in
    ``data`` mode) minus the load-time fill ranges of SEEDS segments, and those ranges are the
    values of this arch's /chosen seed properties in the segment's device tree."""
    from . import arches, fdt as fdtmod

    problems = []
    per_seg: dict[str, list[tuple[int, int]]] = {}
    for start, length in regions:
        seg = next((s for s in b.segments if s.mem <= start < s.mem + s.memsz), None)
        if seg is None or not seg.flags & SegFlag.VERIFIED:
            problems.append(f"region 0x{start:x}+0x{length:x} is not inside a segment flagged VERIFIED")
            continue
        per_seg.setdefault(seg.name, []).append((start - seg.mem, start - seg.mem + length))
    try:
        arch: Any = arches.by_code(b.arch_code)
    except arches.ArchError:
        arch = None
    for seg in b.segments:
        if not seg.flags & SegFlag.VERIFIED:
            continue
        end = seg.memsz if mode == "full" else seg.bufsz
        gaps, pos = [], 0
        for a, z in sorted(per_seg.get(seg.name, [])):
            if a < pos:
                problems.append(f"segment {seg.name!r}: regions overlap at offset 0x{a:x}")
            elif a > pos:
                gaps.append((pos, a - pos))
            pos = max(pos, z)
        if pos < end:
            gaps.append((pos, end - pos))
        elif pos > end:
            problems.append(f"segment {seg.name!r}: regions run past offset 0x{end:x}")
        if not gaps:
            if seg.flags & SegFlag.SEEDS:
                problems.append(f"segment {seg.name!r} is flagged SEEDS but its seeds are hashed")
            continue
        if not seg.flags & SegFlag.SEEDS:
            problems.append(f"segment {seg.name!r}: not covered by the purgatory's regions at "
                            + ", ".join(f"0x{o:x}+0x{n:x}" for o, n in gaps))
            continue
        if gaps != _fills(man, seg.name):
            problems.append(f"segment {seg.name!r}: unhashed ranges {gaps} differ from the manifest's loadtime_fill")
            continue
        seeds = arch.dtb_loadtime_seeds if arch is not None else ()
        try:
            holes = fdtmod.seed_holes(bytes(seg.data), fdtmod.Chosen("", None, (), (), seeds), seg.name)
        except fdtmod.FdtError as exc:
            problems.append(f"segment {seg.name!r}: {exc.reason}")
            continue
        if list(holes) != gaps:
            problems.append(f"segment {seg.name!r}: unhashed ranges {gaps} are not exactly the /chosen seed values {list(holes)}")
    return problems


def check(path: Path, manifest_path: Path | None = None, check_inputs: bool = True) -> Report:
    rep = Report()
    b = bundle.read(path)  # raises BundleError: header, checksum, table, per-segment sha256
    rep.ok("bundle format, checksum and per-segment sha256")
    mp = manifest_path or inspect.manifest_path(path)
    if not mp.exists():
        rep.bad(f"{mp}: manifest not found (needed to locate the purgatory's symbols)")
        return rep
    man = inspect.load_manifest(mp)
    import jsonschema

    try:
        jsonschema.validate(man, json.loads(MANIFEST_SCHEMA.read_text()))
        rep.ok("manifest matches schemas/manifest.schema.json")
    except jsonschema.ValidationError as exc:
        rep.bad(f"{mp}: schema: {exc.message} at /{'/'.join(map(str, exc.absolute_path))}")
        return rep
    data = path.read_bytes()
    if man["bundle"]["sha256"] != hashlib.sha256(data).hexdigest() or man["bundle"]["size"] != len(data):
        rep.bad("manifest's bundle sha256/size do not match the file")
    else:
        rep.ok("manifest names this exact bundle")
    if int(man["entry"], 16) != b.entry:
        rep.bad(f"entry: manifest {man['entry']}, bundle 0x{b.entry:x}")
    mseg = {s["name"]: s for s in man["segments"]}
    for s in b.segments:
        m = mseg.get(s.name)
        if m is None:
            rep.bad(f"segment {s.name!r} missing from the manifest")
            continue
        for key, val in (("mem", s.mem), ("memsz", s.memsz), ("bufsz", s.bufsz)):
            if int(m[key], 16) != val:
                rep.bad(f"segment {s.name!r}: manifest {key} {m[key]} != bundle 0x{val:x}")
        if m["sha256"] != s.sha256:
            rep.bad(f"segment {s.name!r}: manifest sha256 differs from the data")
    if len(mseg) != len(b.segments):
        rep.bad("manifest and bundle list different segments")
    elif not rep.problems:
        rep.ok(f"{len(b.segments)} segments agree with the manifest")
    state = inspect.purgatory_state(b, man)
    if state.verify != b.verify:
        rep.bad(f"purgatory kx_verify={int(state.verify)} but bundle flag verify={int(b.verify)}")
    if state.verify:
        got = digest_of_regions(b, state.regions)
        if isinstance(got, str):
            rep.bad(got)
        elif got != state.digest:
            rep.bad(f"digest mismatch: purgatory holds {state.digest.hex()}, data hashes to {got.hex()}")
        else:
            rep.ok(f"purgatory digest {got.hex()[:16]}... matches {sum(n for _, n in state.regions)} bytes "
                   f"in {len(state.regions)} regions")
        mode = man["verify"]["mode"] if man["verify"] else "full"
        for problem in coverage_problems(b, state.regions, mode, man):
            rep.bad(problem)
        if man["verify"] and man["verify"]["digest"] != state.digest.hex():
            rep.bad("manifest digest differs from the purgatory's")
    else:
        rep.ok("verification disabled (kx_verify = 0) and the bundle says so")
    if check_inputs:
        _check_inputs(man, mp, rep)
    return rep


def _check_inputs(man: dict[str, Any], mp: Path, rep: Report) -> None:
    for inp in man["provenance"]["inputs"]:
        given = inp["path"]
        if given.startswith("builtin:"):
            continue
        candidates = [Path(given), REPO / given]
        if not inp["role"].startswith("recipe"):
            recipe = next((i["path"] for i in man["provenance"]["inputs"] if i["role"] == "recipe"), None)
            if recipe:
                candidates.insert(0, (REPO / recipe).parent / given)
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            rep.ok(f"input {inp['role']} ({given}) not present here; not checked")
            continue
        h = hashlib.sha256()
        with open(found, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != inp["sha256"]:
            rep.bad(f"input {inp['role']} {found}: sha256 differs from the manifest (file changed since the build)")
        else:
            rep.ok(f"input {inp['role']} {given} matches")
