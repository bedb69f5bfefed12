"""Our own pieces on the real kernel: toolchain bundle + kxload, ppc64le.

Skipped, with the reason, until ``build/loader/ppc64le/kxload`` exists and
``python -m toolchain`` runs.  Same kernel A, same B initrd and marker as the
kexec-tools reference run, so a failure here points at our bundle or loader.
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
    """Build the static ppc64le loader (as `scons` would) so CI never skips this proof."""
    from loader.build import build_loader

    return build_loader("ppc64le", H.kxload_path("ppc64le").parent)


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "fast"])
def test_our_bundle_reaches_kernel_b(
    kxload: Path, ppc64el_assets: GuestAssets, ppc64el_fdt: CapturedFdt, e2e_tmp: Path, verify: bool
) -> None:
    work = e2e_tmp / f"ours-{'v' if verify else 'f'}"
    work.mkdir()
    initrd = work / "b.cpio"
    initrd.write_bytes(H.b_initrd(ppc64el_assets))
    recipe = recipes.write_recipe(work, recipes.ppc64le_recipe(
        ppc64el_assets.kernel, initrd, ppc64el_fdt, "console=hvc0 KXMARK=1", verify=verify),
        name=f"e2e-ppc64le-{'verified' if verify else 'fast'}")
    bundle = recipes.build_bundle(recipe, work / "out")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=ppc64el_assets,
                         name=f"ours-{'verified' if verify else 'fast'}")
    assert h.exec_line is not None, H.describe(h)
    assert h.reached_b, H.describe(h)
    assert h.b_cmdline is not None and "KXMARK=1" in h.b_cmdline.split(), H.describe(h)


def test_tampered_bundle_never_reaches_kernel_b(
    kxload: Path, ppc64el_assets: GuestAssets, ppc64el_fdt: CapturedFdt, e2e_tmp: Path
) -> None:
    work = e2e_tmp / "ours-tampered"
    work.mkdir()
    initrd = work / "b.cpio"
    initrd.write_bytes(H.b_initrd(ppc64el_assets))
    recipe = recipes.write_recipe(work, recipes.ppc64le_recipe(
        ppc64el_assets.kernel, initrd, ppc64el_fdt, "console=hvc0 KXMARK=1", verify=True),
        name="e2e-ppc64le-tampered")
    bundle = recipes.build_bundle(recipe, work / "out")
    H.tamper(bundle, "initrd")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=ppc64el_assets, name="ours-tampered",
                         stop_on=("kx: digest mismatch",), linger=4.0, timeout=120)
    text = "\n".join(line.text for line in h.result.lines)
    assert "kx: digest mismatch" in text, H.describe(h)
    assert not h.reached_b and "KXMARK=1" not in text, H.describe(h)


def test_builtin_payload_via_shipped_recipe_shape(
    kxload: Path, ppc64el_assets: GuestAssets, ppc64el_fdt: CapturedFdt, e2e_tmp: Path
) -> None:
    """The embedded test kernel, kexec'd by a real kernel: it prints what it was handed."""
    import json

    work = e2e_tmp / "ours-payload"
    work.mkdir()
    r = recipes.ppc64le_recipe(ppc64el_assets.kernel, None, ppc64el_fdt, "console=hvc0 kx.payload=1", verify=True)
    r["kernel"] = {"builtin": "payload"}
    recipe = recipes.write_recipe(work, r, name="e2e-ppc64le-payload")
    bundle = recipes.build_bundle(recipe, work / "out")
    man = json.loads((work / "out" / "manifest.json").read_text())
    kernel = next(s for s in man["segments"] if s["kind"] == "kernel")
    dtb = next(s for s in man["segments"] if s["kind"] == "dtb")
    h = H.run_our_bundle(bundle, kxload, smp=2, assets=ppc64el_assets, name="ours-payload",
                         stop_on=("KXPAYLOAD done",), linger=1.0, timeout=120)
    lines = [line.text for line in h.result.lines]
    first = next((t for t in lines if t.startswith("KXPAYLOAD r3=")), None)
    assert first is not None, H.describe(h)
    regs = dict(kv.split("=", 1) for kv in first.split()[1:])
    assert int(regs["r3"], 16) == int(dtb["mem"], 16), first
    assert int(regs["r4"], 16) == int(kernel["mem"], 16), first
    assert int(regs["r5"], 16) == 0, first
    assert any(t == "KXPAYLOAD bootargs=console=hvc0 kx.payload=1" for t in lines), H.describe(h)
