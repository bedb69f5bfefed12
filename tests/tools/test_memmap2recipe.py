"""tools/memmap2recipe.py: a /sys/firmware/memmap capture -> recipe memory/reserved."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import memmap2recipe as m  # noqa: E402

# What a QEMU q35 guest with 1 GiB (SeaBIOS) shows, in sysfs (unsorted) order.
Q35 = [
    {"start": "0x100000", "end": "0x3ffdffff", "type": "System RAM"},
    {"start": "0x0", "end": "0x9fbff", "type": "System RAM"},
    {"start": "0x9fc00", "end": "0x9ffff", "type": "Reserved"},
    {"start": "0xf0000", "end": "0xfffff", "type": "Reserved"},
    {"start": "0x3ffe0000", "end": "0x3fffffff", "type": "Reserved"},
    {"start": "0xb0000000", "end": "0xbfffffff", "type": "Reserved"},
    {"start": "0xfed1c000", "end": "0xfed1ffff", "type": "Reserved"},
    {"start": "0xfeffc000", "end": "0xfeffffff", "type": "Reserved"},
    {"start": "0xfffc0000", "end": "0xffffffff", "type": "Reserved"},
]


def test_q35_matches_shipped_recipe() -> None:
    out = m.convert(Q35)
    recipe = json.loads((REPO / "recipes" / "x86_64-fast.json").read_text())
    assert out["memory"] == recipe["memory"]
    norm = lambda rs: sorted((int(r["start"], 16), int(r["size"], 16)) for r in rs)  # noqa: E731
    assert norm(out["reserved"]) == norm(recipe["reserved"])


def test_rounding_merging_and_types() -> None:
    out = m.convert([
        {"start": "0x1800", "end": "0x4fff", "type": "System RAM"},
        {"start": "0x5000", "end": "0x8fff", "type": "System RAM"},      # touches: merged
        {"start": "0x10000", "end": "0x10fff", "type": "ACPI Tables"},
        {"start": "0x11000", "end": "0x11fff", "type": "ACPI Non-volatile Storage"},
        {"start": "0x20000", "end": "0x207ff", "type": "System RAM"},    # under a page: dropped
    ])
    assert out["memory"] == [{"start": "0x2000", "size": "0x7000"}]
    assert out["reserved"] == [{"start": "0x10000", "size": "0x1000"}, {"start": "0x11000", "size": "0x1000"}]


@pytest.mark.parametrize("entries,needle", [
    ([{"start": "0x0", "end": "0xfff", "type": "Reserved"}], "no System RAM"),
    ([{"start": "0x2000", "end": "0xfff", "type": "System RAM"}], "below start"),
    ([{"start": "zz", "end": "0xfff", "type": "System RAM"}], "not a number"),
    ([{"start": "0x0"}], "needs start, end and type"),
])
def test_errors(entries: list, needle: str) -> None:
    with pytest.raises(m.MemmapError, match=needle):
        m.convert(entries)


def test_cli_into_recipe_then_recipe_loads(tmp_path: Path) -> None:
    cap = tmp_path / "memmap.json"
    cap.write_text(json.dumps(Q35))
    recipe = tmp_path / "target.json"
    base = json.loads((REPO / "recipes" / "x86_64-fast.json").read_text())
    base["memory"] = [{"start": "0x0", "size": "0x1000"}]
    base.pop("reserved")
    base.pop("$schema")
    recipe.write_text(json.dumps(base))
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "memmap2recipe.py"), str(cap), "--into", str(recipe)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from toolchain import recipe as recipemod

    r = recipemod.load(str(recipe))
    assert (0x100000, 0x3FEE0000) in r.memory and (0xB0000000, 0x10000000) in r.reserved


def test_cli_stdout_and_bad_input(tmp_path: Path) -> None:
    tool = str(REPO / "tools" / "memmap2recipe.py")
    ok = subprocess.run([sys.executable, tool, "-"], input=json.dumps(Q35), capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["memory"][0] == {"start": "0x0", "size": "0x9f000"}
    bad = subprocess.run([sys.executable, tool, "-"], input="{}", capture_output=True, text=True)
    assert bad.returncode == 1 and "JSON list" in bad.stderr
