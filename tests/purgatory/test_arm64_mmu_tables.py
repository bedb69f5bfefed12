"""The identity-map translation tables of the experimental arm64 MMU-on mode, walked in Python.

Checks, for both trees (EL1&0 format and EL2 format), that every recipe RAM byte maps to
itself as Normal Write-Back, the PL011 maps Device, only the purgatory window is executable,
nothing is Device *and* executable, and the recipe checks around /purgatory/mmu.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolchain import arm64_mmu as M
from toolchain import recipe as recipemod
from toolchain.layout import LayoutError

UART = 0x09000000
RAM = [(0x40000000, 0x40000000)]
WINDOW = (0x7FFF0000, 0x10000)


def _check(t: M.Tables, ram, reserved, windows) -> None:
    for regime in M.REGIMES:
        root = t.roots[regime]
        leaves = M.leaves(t.blob, t.base, root)
        # leaves tile [0, COVER) exactly, identity
        pos = 0
        for leaf in leaves:
            assert leaf.va == pos and leaf.pa == leaf.va
            pos += leaf.size
        assert pos == M.COVER
        for leaf in leaves:
            in_ram = any(s <= leaf.va and leaf.va + leaf.size <= s + n for s, n in ram) and \
                not any(s < leaf.va + leaf.size and leaf.va < s + n for s, n in reserved)
            in_win = any(s <= leaf.va and leaf.va + leaf.size <= s + n for s, n in windows)
            assert leaf.normal == in_ram, (regime, hex(leaf.va))
            assert leaf.executable(regime) == in_win, (regime, hex(leaf.va))
            assert leaf.writable
            assert leaf.desc & M.AF
            assert not (leaf.executable(regime) and not leaf.normal)
            if leaf.normal:
                assert (leaf.desc >> 8) & 3 == 3          # inner shareable
            if regime == "el2":
                assert not leaf.desc & M.PXN               # bit 53 RES0 in the EL2 regime
            else:
                assert leaf.desc & M.UXN                   # never EL0-executable
            assert not leaf.desc & (1 << 6)                # AP[1] = 0: no EL0 access
        # every RAM byte: sample the ends and every 2 MiB step through hardware-style walks
        for s, n in ram:
            for va in [s, s + n - 1, *range(s, s + n, 0x200000)]:
                leaf = M.walk(t.blob, t.base, root, va)
                assert leaf is not None and leaf.pa + (va - leaf.va) == va
                assert leaf.normal or any(r0 <= va < r0 + rn for r0, rn in reserved)
        uart = M.walk(t.blob, t.base, root, UART)
        assert uart is not None and not uart.normal and not uart.executable(regime)
        assert M.walk(t.blob, t.base, root, M.COVER) is None
    assert M.MAIR & 0xFF == 0x04 and (M.MAIR >> 8) & 0xFF == 0xFF


def test_qemu_virt_tables() -> None:
    t = M.build(0x42006000, RAM, [], [WINDOW])
    assert len(t.blob) == 6 * 4096                       # L1 + L2 + L3 per regime
    assert t.roots == {"el1": 0x42006000, "el2": 0x42009000}
    _check(t, RAM, [], [WINDOW])


def test_odd_ranges_and_reserved() -> None:
    ram = [(0x40000000, 0x3FE00000 + 0x1000), (0x80200000, 0x1F000), (0x880000000, 0x80000000)]
    reserved = [(0x40010000, 0x3000), (0x880000000, 0x200000)]
    win = [(0x4FFF0000, 0x10000)]
    t = M.build(0x41000000, ram, reserved, win)
    assert M.table_size(ram, reserved, win) == len(t.blob)
    _check(t, ram, reserved, win)


def test_refuses_ram_above_the_map() -> None:
    with pytest.raises(M.MmuError):
        M.build(0x40000000, [(1 << 40, 0x1000)], [], [])
    with pytest.raises(M.MmuError):
        M.build(0x40000800, RAM, [], [])


def _recipe(tmp: Path, arch_base: str, **extra: object) -> Path:
    base = Path(__file__).resolve().parents[2] / "recipes" / arch_base
    p = tmp / "r.json"
    p.write_text(json.dumps({"extends": str(base), **extra}))
    return p


def test_recipe_field(tmp_path: Path) -> None:
    r = recipemod.load(str(_recipe(tmp_path, "arm64-verified.json", purgatory={"mmu": True})), {})
    assert r.purgatory_mmu is True
    assert recipemod.load("arm64-verified", {}).purgatory_mmu is False


@pytest.mark.parametrize("base", ["x86_64-verified.json", "ppc64-verified.json"])
def test_other_arches_refuse(tmp_path: Path, base: str) -> None:
    with pytest.raises(recipemod.RecipeError) as e:
        recipemod.check(recipemod.load(str(_recipe(tmp_path, base, purgatory={"mmu": True})), {}))
    assert e.value.pointer == "/purgatory/mmu"


def test_high_ram_refused_at_layout(tmp_path: Path) -> None:
    from toolchain import layout

    image = bytearray(0x1000)                      # smallest arm64 Image header: size, flags, magic
    image[16:24] = (0x1000).to_bytes(8, "little")
    image[24:32] = (2).to_bytes(8, "little")
    image[0x38:0x3C] = b"ARM\x64"
    (tmp_path / "Image").write_bytes(bytes(image))
    p = tmp_path / "high.json"
    p.write_text(json.dumps({
        "arch": "arm64", "verify": True, "purgatory": {"mmu": True},
        "memory": [{"start": "0x40000000", "size": "0x40000000"}, {"start": "0x10000000000", "size": "0x40000000"}],
        "kernel": {"path": str(tmp_path / "Image")}, "dtb": {"generate": {}}}))
    r = recipemod.load(str(p), {})
    with pytest.raises(LayoutError) as e:
        layout.make_plan(r, tmp_path / "out", None)
    assert e.value.pointer == "/purgatory/mmu"
