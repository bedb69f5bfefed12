#!/usr/bin/env python3
"""Turn a capture of an x86 target's firmware memory map into recipe ``memory``/``reserved``.

On the target (docs/x86_64.md), /sys/firmware/memmap/N/{start,end,type} describe the map the
firmware gave the running kernel (its e820 table), one directory per entry, not sorted; end
is inclusive. Capture them as a JSON list of {"start", "end", "type"} objects, then:

    python tools/memmap2recipe.py memmap.json                 # prints the two lists
    python tools/memmap2recipe.py memmap.json --into recipes/my-target.json

"System RAM" entries become /memory, rounded inwards to the page size (the recipe requires
page-aligned RAM ranges; a partial page at either end is simply not used), with touching
ranges merged. Every other type (Reserved, ACPI Tables, ACPI Non-volatile Storage, Unusable
memory, ...) becomes /reserved, exactly as captured. The new kernel then gets RAM as e820
type 1 and those ranges as type 2 (reserved): ACPI tables stay readable through the RSDP.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RAM_TYPES = {"System RAM"}


class MemmapError(ValueError):
    pass


def _int(value: Any, what: str) -> int:
    try:
        return int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise MemmapError(f"{what}: {value!r} is not a number") from None


def convert(entries: list[dict[str, Any]], page_size: int = 0x1000) -> dict[str, list[dict[str, str]]]:
    if page_size & (page_size - 1) or page_size <= 0:
        raise MemmapError(f"page size 0x{page_size:x} is not a power of two")
    ram: list[list[int]] = []
    reserved: list[tuple[int, int]] = []
    for i, e in enumerate(entries):
        try:
            start, end, kind = _int(e["start"], f"entry {i} start"), _int(e["end"], f"entry {i} end"), str(e["type"]).strip()
        except (KeyError, TypeError):
            raise MemmapError(f"entry {i}: needs start, end and type: {e!r}") from None
        if end < start:
            raise MemmapError(f"entry {i}: end 0x{end:x} is below start 0x{start:x}")
        size = end - start + 1          # sysfs end is inclusive
        if kind in RAM_TYPES:
            ram.append([start, start + size])
        else:
            reserved.append((start, size))
    ram.sort()
    merged: list[list[int]] = []
    for s, e in ram:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    memory = []
    for s, e in merged:
        s2 = (s + page_size - 1) // page_size * page_size
        e2 = e // page_size * page_size
        if e2 > s2:
            memory.append({"start": hex(s2), "size": hex(e2 - s2)})
    if not memory:
        raise MemmapError("no System RAM entry in the capture")
    return {"memory": memory,
            "reserved": [{"start": hex(s), "size": hex(n)} for s, n in sorted(reserved)]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture", help="JSON list of {start, end, type} from /sys/firmware/memmap ('-' for stdin)")
    ap.add_argument("--page-size", default="0x1000", help="page size of the running kernel (default 0x1000)")
    ap.add_argument("--into", metavar="RECIPE", help="replace memory and reserved in this recipe file")
    args = ap.parse_args(argv)
    try:
        text = sys.stdin.read() if args.capture == "-" else Path(args.capture).read_text()
        entries = json.loads(text)
        if not isinstance(entries, list):
            raise MemmapError("the capture must be a JSON list")
        out = convert(entries, _int(args.page_size, "--page-size"))
    except (OSError, ValueError) as exc:
        print(f"memmap2recipe: {exc}", file=sys.stderr)
        return 1
    if args.into:
        path = Path(args.into)
        recipe = json.loads(path.read_text())
        recipe.update(out)
        path.write_text(json.dumps(recipe, indent=2) + "\n")
    else:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
