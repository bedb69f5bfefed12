"""Experimental MMU-on hashing (recipe ``purgatory.mmu = true``) on the real kernel, arm64.

Same machine, kernels, device tree and loader as test_ours_arm64.py (kernel A kexecs into
kernel B through kxload and our purgatory), at EL1 (plain virt) and EL2
(``virtualization=on``, through the hyp stub). The only difference in the recipe is
``/purgatory/mmu``: the purgatory turns the MMU and caches on with the toolchain's identity
map, hashes, turns them off, cleans to PoC and jumps. QEMU models no caches, so this shows
the sequence is functionally right (translation, attributes, EL2 register layouts, the jump
with the MMU off), not that the cache maintenance is complete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import harness as H
from . import recipes
from .debian import GuestAssets
from .fdt import CapturedFdt
from .test_ours_arm64 import kxload  # noqa: F401  (module fixture, reused)

pytestmark = pytest.mark.e2e


def _mmu_bundle(assets: GuestAssets, fdt: CapturedFdt, machine: str, work: Path, name: str) -> Path:
    work.mkdir()
    initrd = work / "b.cpio"
    initrd.write_bytes(H.b_initrd(assets))
    r = recipes.arm64_recipe(assets.kernel, initrd, fdt, H.b_cmdline(machine), verify=True)
    r["purgatory"]["mmu"] = True
    return recipes.build_bundle(recipes.write_recipe(work, r, name=name), work / "out")


def test_mmu_bundle_reaches_kernel_b(
    kxload: Path, arm64_assets: GuestAssets, arm64_fdt: CapturedFdt, arm64_machine: str,  # noqa: F811
    e2e_tmp: Path,
) -> None:
    tag = f"{arm64_machine}-mmu"
    bundle = _mmu_bundle(arm64_assets, arm64_fdt, arm64_machine, e2e_tmp / f"ours-{tag}", f"e2e-{tag}")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=arm64_assets, machine=arm64_machine,
                         name=f"{tag}-ours")
    el = "2" if arm64_machine == "arm64-el2" else "1"
    assert h.exec_line is not None, H.describe(h)
    assert h.result.find(f"kx: mmu on el={el}") is not None, H.describe(h)
    assert h.result.find("kx: verified") is not None, H.describe(h)
    assert h.reached_b, H.describe(h)
    assert h.b_cmdline is not None and "KXMARK=1" in h.b_cmdline.split(), H.describe(h)
    started = h.result.find("CPU: All CPU(s) started at EL", after=h.exec_line.t)
    assert started is not None and started.text.endswith(f"EL{el}"), H.describe(h)


def test_mmu_tampered_bundle_never_reaches_kernel_b(
    kxload: Path, arm64_assets: GuestAssets, arm64_fdt: CapturedFdt, arm64_machine: str,  # noqa: F811
    e2e_tmp: Path,
) -> None:
    tag = f"{arm64_machine}-mmu-tampered"
    bundle = _mmu_bundle(arm64_assets, arm64_fdt, arm64_machine, e2e_tmp / f"ours-{tag}", f"e2e-{tag}")
    H.tamper(bundle, "initrd")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=arm64_assets, machine=arm64_machine,
                         name=f"{tag}-ours", stop_on=("kx: digest mismatch",), linger=4.0,
                         timeout=120)
    text = h.result.text
    assert "kx: mmu on" in text and "kx: digest mismatch" in text, H.describe(h)
    assert not h.reached_b and "KXE2E-B-CMDLINE" not in text, H.describe(h)
