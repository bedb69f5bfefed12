"""Why do two bundles differ? ``python -m toolchain diff A B``.

Compares what a firmware engineer cares about, in that order: the header (arch, entry, page
size, verify flag), each segment by name (address, sizes, content hash), each value patched
into the purgatory (by symbol, from the manifests), and each provenance field (recipe and
input hashes, toolchain revision, compiler, options). Byte offsets inside the file are left
out on purpose: they follow from the rest.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import inspect


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "role" in v for v in value):
        for v in value:
            _flat(f"{prefix}[{v['role']}]", {k: x for k, x in v.items() if k != "role"}, out)
    else:
        out[prefix] = value


def compare(a_path: Path, b_path: Path) -> list[dict[str, Any]]:
    """Differences as rows {area, item, a, b}; empty when the bundles are the same."""
    rows: list[dict[str, Any]] = []

    def row(area: str, item: str, a: Any, b: Any) -> None:
        if a != b:
            rows.append({"area": area, "item": item, "a": a, "b": b})

    (ba, ma), (bb, mb) = inspect.read(a_path), inspect.read(b_path)
    row("header", "arch", ba.arch_code, bb.arch_code)
    row("header", "entry", f"0x{ba.entry:x}", f"0x{bb.entry:x}")
    row("header", "page_size", f"0x{ba.page_size:x}", f"0x{bb.page_size:x}")
    row("header", "verify", ba.verify, bb.verify)
    sa = {s.name: s for s in ba.segments}
    sb = {s.name: s for s in bb.segments}
    for name in sorted(sa.keys() | sb.keys()):
        x, y = sa.get(name), sb.get(name)
        if x is None or y is None:
            row("segment", name, "present" if x else "absent", "present" if y else "absent")
            continue
        for field in ("mem", "memsz", "bufsz"):
            row("segment", f"{name}.{field}", f"0x{getattr(x, field):x}", f"0x{getattr(y, field):x}")
        row("segment", f"{name}.flags", int(x.flags), int(y.flags))
        if x.bufsz == y.bufsz:
            row("segment", f"{name}.sha256", x.sha256, y.sha256)
    if ma is not None and mb is not None:
        syms_a = ma["purgatory"]["symbols"]
        syms_b = mb["purgatory"]["symbols"]
        for name in sorted(syms_a.keys() | syms_b.keys()):
            va = syms_a.get(name, {}).get("value")
            vb = syms_b.get(name, {}).get("value")
            row("purgatory", name, va, vb)
        pa: dict[str, Any] = {}
        pb: dict[str, Any] = {}
        _flat("", ma["provenance"], pa)
        _flat("", mb["provenance"], pb)
        for key in sorted(pa.keys() | pb.keys()):
            row("provenance", key, pa.get(key), pb.get(key))
    elif (ma is None) != (mb is None):
        row("manifest", "manifest.json", "present" if ma else "absent", "present" if mb else "absent")
    return rows


def format_table(rows: list[dict[str, Any]], a: str, b: str) -> str:
    if not rows:
        return f"{a} and {b}: no differences"

    def short(v: Any) -> str:
        text = str(v)
        return text if len(text) <= 34 else text[:15] + "..." + text[-16:]

    wi = max(len(r["item"]) for r in rows)
    lines = [f"{'area':<11} {'item':<{wi}}  {'A':<34}  B", "-" * (wi + 84)]
    for r in rows:
        lines.append(f"{r['area']:<11} {r['item']:<{wi}}  {short(r['a']):<34}  {short(r['b'])}")
    return "\n".join(lines)
