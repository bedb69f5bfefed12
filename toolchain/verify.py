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
        covered = {s.mem for s in b.segments if s.flags & SegFlag.VERIFIED}
        if covered != {start for start, _ in state.regions}:
            rep.bad("the purgatory's regions do not match the segments flagged VERIFIED")
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
