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
