"""Known-good reference: Debian's kexec-tools boots kernel B from kernel A.

Why: before our bundle and kxload are trusted to the harness, the harness must
be shown to work on its own — kernel, initramfs images, console reading and
markers — with a loader that is known to work.  kexec-tools builds B's device
tree from the live system, so these runs need nothing from our toolchain.
"""

from __future__ import annotations

import struct

import pytest

from . import harness as H
from .debian import GuestAssets
from .fdt import FDT_MAGIC, CapturedFdt

pytestmark = pytest.mark.e2e


def test_captured_fdt_is_real(ppc64el_fdt: CapturedFdt) -> None:
    """The dumped /sys/firmware/fdt survived the console trip and has RTAS reserved."""
    hdr = ppc64el_fdt.header
    assert hdr["magic"] == FDT_MAGIC
    assert hdr["totalsize"] == len(ppc64el_fdt.dtb)
    assert hdr["version"] >= 16
    rtas = int(ppc64el_fdt.info["rtas-base"], 16)
    assert any(a <= rtas < a + s for a, s in ppc64el_fdt.memreserve()), ppc64el_fdt.memreserve()
    kernel_end = int(ppc64el_fdt.info["kernel-end"], 16)
    assert 0 < kernel_end < rtas


@pytest.mark.parametrize("no_checks", [False, True], ids=["checked", "no-checks"])
def test_kexec_tools_reaches_kernel_b(ppc64el_assets: GuestAssets, no_checks: bool) -> None:
    h = H.run_kexec_tools(ppc64el_assets, no_checks=no_checks, append_b="console=hvc0 KXMARK=1")
    assert h.exec_line is not None, H.describe(h)
    assert h.loaded_line is not None, "kexec -l failed\n" + H.describe(h)
    assert h.reached_b, H.describe(h)
    assert h.b_cmdline is not None and "KXMARK=1" in h.b_cmdline.split(), H.describe(h)
    assert h.b_first_line is not None and h.exec_to_b_first is not None
    assert not h.result.timed_out
