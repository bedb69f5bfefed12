"""The e2e recipe helper must keep producing recipes the project's schema accepts
(fast: uses the cached device tree only if one was already captured)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from . import recipes
from .debian import REPO_ROOT
from .fdt import CapturedFdt


def test_recipe_matches_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = REPO_ROOT / "schemas" / "recipe.schema.json"
    if not schema_path.is_file():
        pytest.skip("no recipe schema in the tree")
    # A synthetic captured tree: header with an empty memreserve map is enough here.
    # Header + a memreserve map at 40 with an old-initrd entry and the RTAS entry.
    hdr = struct.pack(">10I", 0xD00DFEED, 104, 0, 0, 40, 16, 16, 0, 0, 0)
    rsv = struct.pack(">6Q", 0x2C90000, 0x270000, 0x2FFF0000, 0x10000, 0, 0)
    dtb = CapturedFdt(hdr + rsv, {"kernel-end": "0000000002880000", "rtas-base": "2fff0000"},
                      tmp_path / "x.dtb")
    r = recipes.ppc64le_recipe(tmp_path / "vmlinux", tmp_path / "b.cpio", dtb, "console=hvc0")
    path = recipes.write_recipe(tmp_path, r)
    jsonschema.validate(json.loads(path.read_text()), json.loads(schema_path.read_text()))
    assert r["load_min"] == "0x2880000"
    assert r["reserved"] == [{"start": "0x2fff0000", "size": "0x10000"}]


def _validate(r: dict, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = REPO_ROOT / "schemas" / "recipe.schema.json"
    if not schema_path.is_file():
        pytest.skip("no recipe schema in the tree")
    path = recipes.write_recipe(tmp_path, r)
    jsonschema.validate(json.loads(path.read_text()), json.loads(schema_path.read_text()))


def test_x86_64_recipe_from_memmap(tmp_path: Path) -> None:
    """Facts as kernel A on q35 -m 1G reports them: RAM from memmap, the rest reserved."""
    info = {
        "memmap-0": "0x0 0x9fbff System RAM", "memmap-1": "0x9fc00 0x9ffff Reserved",
        "memmap-2": "0x100000 0x3ffdefff System RAM", "memmap-3": "0x3ffdf000 0x3fffffff Reserved",
        "kernel-iomem": " 12800000-13601d31 : Kernel code; 14b0d000-15bfffff : Kernel bss;",
    }
    facts = CapturedFdt(b"", info, tmp_path / "none")
    assert facts.kernel_phys_end() == 0x15C00000
    r = recipes.x86_64_recipe(tmp_path / "vmlinuz", tmp_path / "b.cpio", facts, "console=ttyS0")
    _validate(r, tmp_path)
    assert r["memory"] == [{"start": "0x0", "size": "0x9f000"}, {"start": "0x100000", "size": "0x3fedf000"}]
    assert {"start": "0x3ffdf000", "size": "0x21000"} in r["reserved"]
    assert "dtb" not in r


def test_arm64_recipe_loads_above_kernel_a(tmp_path: Path) -> None:
    info = {"kernel-iomem": " 40210000-4185ffff : Kernel code; 41eb0000-4220ffff : Kernel data;"}
    dtb = CapturedFdt(b"", info, tmp_path / "a.dtb")
    r = recipes.arm64_recipe(tmp_path / "Image", tmp_path / "b.cpio", dtb, "console=ttyAMA0")
    _validate(r, tmp_path)
    assert r["load_min"] == "0x42400000"  # 0x42210000 rounded up to 2 MiB
    assert r["memory"] == [{"start": "0x40000000", "size": "0x40000000"}]
