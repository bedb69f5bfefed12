"""Our own pieces on the real kernel: toolchain bundle + kxload, x86_64 (QEMU q35, TCG).

Kernel A is Debian's amd64 bzImage; it runs our static ``kxload`` on a bundle
built from a recipe whose memory map is kernel A's own /sys/firmware/memmap
(captured once, converted with tools/memmap2recipe.py).  Kernel B is the same
bzImage.  Same B initrd and marker as the kexec-tools reference run
(test_kexec_tools_x86_64.py), so a failure here points at our bundle or loader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import harness as H
from . import recipes
from .debian import GuestAssets
from .fdt import CapturedFdt

pytestmark = pytest.mark.e2e

MACHINE = "amd64"


@pytest.fixture(scope="module")
def kxload() -> Path:
    from loader.build import build_loader

    return build_loader("x86_64", H.kxload_path("x86_64").parent)


def _bundle(assets: GuestAssets, facts: CapturedFdt, work: Path, verify: bool | str, name: str) -> Path:
    work.mkdir()
    initrd = work / "b.cpio"
    initrd.write_bytes(H.b_initrd(assets))
    recipe = recipes.write_recipe(work, recipes.x86_64_recipe(
        assets.kernel, initrd, facts, H.b_cmdline(MACHINE), verify=verify), name=name)
    return recipes.build_bundle(recipe, work / "out")


def test_captured_memmap_is_real(amd64_facts: CapturedFdt) -> None:
    mm = amd64_facts.memmap()
    assert any(e["type"] == "System RAM" and int(e["start"], 0) == 0x100000 for e in mm), mm
    assert amd64_facts.kernel_phys_end(), amd64_facts.info


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "fast"])
def test_our_bundle_reaches_kernel_b(
    kxload: Path, amd64_assets: GuestAssets, amd64_facts: CapturedFdt, e2e_tmp: Path, verify: bool
) -> None:
    tag = "verified" if verify else "fast"
    bundle = _bundle(amd64_assets, amd64_facts, e2e_tmp / f"x86-ours-{tag}", verify, f"e2e-x86_64-{tag}")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=amd64_assets, machine=MACHINE,
                         name=f"x86_64-ours-{tag}")
    assert h.exec_line is not None, H.describe(h)
    assert h.reached_b, H.describe(h)
    assert h.b_cmdline is not None and "KXMARK=1" in h.b_cmdline.split(), H.describe(h)
    if verify:
        assert h.result.find("kx: verified") is not None, H.describe(h)


def test_tampered_bundle_never_reaches_kernel_b(
    kxload: Path, amd64_assets: GuestAssets, amd64_facts: CapturedFdt, e2e_tmp: Path
) -> None:
    bundle = _bundle(amd64_assets, amd64_facts, e2e_tmp / "x86-ours-tampered", True, "e2e-x86_64-tampered")
    H.tamper(bundle, "initrd")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=amd64_assets, machine=MACHINE,
                         name="x86_64-ours-tampered", stop_on=("kx: digest mismatch",),
                         linger=4.0, timeout=120)
    text = h.result.text
    assert "kx: digest mismatch" in text, H.describe(h)
    assert not h.reached_b and "KXE2E-B-CMDLINE" not in text, H.describe(h)
