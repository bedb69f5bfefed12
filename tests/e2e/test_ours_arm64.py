"""Our own pieces on the real kernel: toolchain bundle + kxload, arm64 (QEMU virt, cortex-a57, TCG).

Parametrized over the exception level kernel A runs at (``arm64_machine``):
EL1 (plain virt) and EL2 (``virtualization=on``: A boots at EL2, kexec goes
through the hyp stub and our purgatory runs at EL2).  The recipe's device tree
is kernel A's own /sys/firmware/fdt from the same machine config; ``load_min``
sits above kernel A's image (its /proc/iomem).  Same B initrd and marker as the
kexec-tools reference (test_kexec_tools_arm64.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import harness as H
from . import recipes
from .debian import GuestAssets
from .fdt import CapturedFdt

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kxload() -> Path:
    from loader.build import build_loader

    return build_loader("arm64", H.kxload_path("arm64").parent)


def _bundle(assets: GuestAssets, fdt: CapturedFdt, machine: str, work: Path, verify: bool | str,
            name: str) -> Path:
    work.mkdir()
    initrd = work / "b.cpio"
    initrd.write_bytes(H.b_initrd(assets))
    recipe = recipes.write_recipe(work, recipes.arm64_recipe(
        assets.kernel, initrd, fdt, H.b_cmdline(machine), verify=verify), name=name)
    return recipes.build_bundle(recipe, work / "out")


def test_captured_fdt_and_el(arm64_fdt: CapturedFdt, arm64_machine: str) -> None:
    assert arm64_fdt.header["totalsize"] == len(arm64_fdt.dtb)
    assert arm64_fdt.kernel_phys_end(), arm64_fdt.info
    want = "EL2" if arm64_machine == "arm64-el2" else "EL1"
    assert arm64_fdt.info.get("cpu-el", "").endswith(want), arm64_fdt.info


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "fast"])
def test_our_bundle_reaches_kernel_b(
    kxload: Path, arm64_assets: GuestAssets, arm64_fdt: CapturedFdt, arm64_machine: str,
    e2e_tmp: Path, verify: bool,
) -> None:
    tag = f"{arm64_machine}-{'verified' if verify else 'fast'}"
    bundle = _bundle(arm64_assets, arm64_fdt, arm64_machine, e2e_tmp / f"ours-{tag}", verify,
                     f"e2e-{tag}")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=arm64_assets, machine=arm64_machine,
                         name=f"{tag}-ours")
    assert h.exec_line is not None, H.describe(h)
    assert h.reached_b, H.describe(h)
    assert h.b_cmdline is not None and "KXMARK=1" in h.b_cmdline.split(), H.describe(h)
    if verify:
        assert h.result.find("kx: verified") is not None, H.describe(h)
    # kxload filled /chosen/kaslr-seed (and rng-seed) with fresh random bytes at load time,
    # so kernel B randomizes its layout (before: "KASLR disabled due to lack of seed").
    assert h.result.find("KASLR disabled due to lack of seed", after=h.exec_line.t) is None, H.describe(h)
    assert h.result.find("KASLR enabled", after=h.exec_line.t) is not None, H.describe(h)
    # Kernel B starts at the level our purgatory ran at: EL2 must survive the hand-off.
    el = h.result.find("CPU: All CPU(s) started at EL", after=h.exec_line.t)
    want = "EL2" if arm64_machine == "arm64-el2" else "EL1"
    assert el is not None and el.text.endswith(want), H.describe(h)


def test_tampered_bundle_never_reaches_kernel_b(
    kxload: Path, arm64_assets: GuestAssets, arm64_fdt: CapturedFdt, arm64_machine: str,
    e2e_tmp: Path,
) -> None:
    tag = f"{arm64_machine}-tampered"
    bundle = _bundle(arm64_assets, arm64_fdt, arm64_machine, e2e_tmp / f"ours-{tag}", True, f"e2e-{tag}")
    H.tamper(bundle, "initrd")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=arm64_assets, machine=arm64_machine,
                         name=f"{tag}-ours", stop_on=("kx: digest mismatch",), linger=4.0,
                         timeout=120)
    text = h.result.text
    assert "kx: digest mismatch" in text, H.describe(h)
    assert not h.reached_b and "KXE2E-B-CMDLINE" not in text, H.describe(h)
