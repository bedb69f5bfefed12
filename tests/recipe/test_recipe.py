"""Recipes: shipped ones load; every kind of bad input is refused with file, pointer and hint."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolchain import recipe
from toolchain.recipe import RecipeError


def test_shipped_recipes_load() -> None:
    names = recipe.known_recipes()
    assert {"ppc64-fast", "ppc64-verified"} <= set(names)
    for name in names:
        r = recipe.load(name)
        assert r.arch.name in ("ppc64le", "x86_64", "arm64", "ppc64", "riscv64")
    assert recipe.load("ppc64-fast").verify == "none"
    assert recipe.load("ppc64-verified").verify == "full"


def test_unknown_recipe_lists_known() -> None:
    with pytest.raises(RecipeError) as exc:
        recipe.load("no-such-recipe")
    assert "unknown recipe 'no-such-recipe'" in str(exc.value)
    assert "ppc64-fast" in exc.value.hint


def test_invalid_json(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"arch": "ppc64le",\n "memory": [}')
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.file.endswith("bad.json")
    assert "invalid JSON at line 2" in exc.value.message


@pytest.mark.parametrize("fields,pointer,text", [
    ({"arch": "mips"}, "/arch", "'mips' is not one of"),
    ({"memory": []}, "/memory", "should be non-empty"),
    ({"memory": [{"start": "12", "size": "0x1000"}]}, "/memory/0/start", "is not valid"),
    ({"verify": "maybe"}, "/verify", "is not valid"),
    ({"bogus": 1}, "", "unknown field"),
    ({"kernel": {"path": "a", "builtin": "payload"}}, "/kernel", "exactly one"),
    ({"blobs": [{"name": "bad name!", "path": "x"}]}, "/blobs/0/name", "does not match"),
])
def test_schema_violations(write_recipe, fields, pointer, text) -> None:
    p = write_recipe(**fields)
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == pointer
    assert text in exc.value.message
    assert exc.value.file.endswith("r.json")


def test_unaligned_memory(write_recipe) -> None:
    p = write_recipe(memory=[{"start": "0x1000", "size": "0x40000000"}])
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/memory/0" and "not aligned" in exc.value.message


def test_overlapping_memory(write_recipe) -> None:
    p = write_recipe(memory=[{"start": "0x0", "size": "0x20000000"}, {"start": "0x10000000", "size": "0x20000000"}])
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/memory/1" and "overlaps /memory/0" in exc.value.message


def test_unaligned_fixed_address(write_recipe) -> None:
    p = write_recipe(kernel={"builtin": "payload", "address": "0x4001000"})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/kernel/address" and "page size" in exc.value.message


def test_segment_outside_ram(write_recipe) -> None:
    p = write_recipe(kernel={"builtin": "payload", "address": "0x80000000"})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/kernel/address" and "outside every /memory range" in exc.value.message


def test_ppc64_rma_limit(write_recipe) -> None:
    """ppc64 segments must stay in the lowest memory node and under the real-mode limit."""
    p = write_recipe(memory=[{"start": "0x0", "size": "0x80000000"}],
                     kernel={"builtin": "payload", "address": "0x40000000"})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/kernel/address" and "limit 0x30000000" in exc.value.message
    p = write_recipe(name="two", memory=[{"start": "0x0", "size": "0x10000000"}, {"start": "0x10000000", "size": "0x10000000"}],
                     purgatory={"address": "0x18000000"})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/purgatory/address" and "limit 0x10000000" in exc.value.message


def test_too_many_segments(write_recipe, tmp_path: Path) -> None:
    blob = tmp_path / "b.bin"
    blob.write_bytes(b"x")
    p = write_recipe(blobs=[{"name": f"b{i}", "path": str(blob)} for i in range(13)],
                     initrd={"path": str(blob)})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert "17 segments" in exc.value.message and "at most 16" in exc.value.message


def test_missing_input_file(write_recipe) -> None:
    p = write_recipe(initrd={"path": "does-not-exist.cpio"})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/initrd/path"
    assert "cannot read does-not-exist.cpio" in exc.value.message


def test_unreadable_input_file(write_recipe, tmp_path: Path) -> None:
    d = tmp_path / "adir"
    d.mkdir()
    p = write_recipe(initrd={"path": str(d)})
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/initrd/path" and "Is a directory" in exc.value.message


def test_extends_merges_and_blames_the_right_file(tmp_path: Path, write_recipe) -> None:
    base = write_recipe(name="base", cmdline="from-base")
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"extends": "base.json", "verify": "data"}))
    r = recipe.load(str(child))
    assert r.verify == "data" and r.cmdline == "from-base"
    assert r.origin("/cmdline").endswith("base.json") and r.origin("/verify").endswith("child.json")
    grandchild = tmp_path / "gc.json"
    grandchild.write_text(json.dumps({"extends": "child.json", "kernel": {"builtin": "payload", "address": "0x4001000"}}))
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(grandchild))
    assert exc.value.file.endswith("gc.json")
    # A bad value set in the base is blamed on the base even when loaded through a child.
    base.write_text(json.dumps({**json.loads(base.read_text()), "page_size": "0x3000"}))
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(grandchild))
    assert exc.value.file.endswith("base.json") and exc.value.pointer == "/page_size"


def test_extends_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"extends": "b.json"}))
    (tmp_path / "b.json").write_text(json.dumps({"extends": "a.json"}))
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(tmp_path / "a.json"))
    assert "cycle" in exc.value.message


def test_command_line_overrides(write_recipe, tmp_path: Path) -> None:
    p = write_recipe()
    r = recipe.load(str(p), {"cmdline": "root=/dev/sda", "verify": "false", "console": "1"})
    assert (r.cmdline, r.verify, r.console) == ("root=/dev/sda", "none", True)
    assert recipe.load(str(p), {"verify": "true"}).verify == "data"
    assert r.origin("/cmdline") == recipe.COMMAND_LINE
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p), {"initrd": str(tmp_path / "nope")})
    assert exc.value.file == recipe.COMMAND_LINE and exc.value.pointer == "/initrd/path"


def test_schema_arch_without_a_module_is_a_clear_error(write_recipe) -> None:
    """The schema names every planned arch; one without an arch module yet is refused cleanly."""
    from toolchain import arches

    planned = {"ppc64le", "ppc64", "x86_64", "arm64", "riscv64"}
    missing = sorted(planned - set(arches.names()))
    if not missing:
        pytest.skip("every planned arch has a module")
    p = write_recipe(arch=missing[0])
    with pytest.raises(RecipeError) as exc:
        recipe.load(str(p))
    assert exc.value.pointer == "/arch" and "not supported by this toolchain yet" in exc.value.message
