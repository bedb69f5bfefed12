"""Known-good reference on arm64: Debian's kexec-tools boots kernel B from kernel A (virt, TCG).

EL1 only (one machine config suffices to validate the harness); tells harness
problems apart from problems in our own bundle/loader (test_ours_arm64.py).
"""

from __future__ import annotations

import pytest

from . import harness as H
from .debian import GuestAssets

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("no_checks", [False, True], ids=["checked", "no-checks"])
def test_kexec_tools_reaches_kernel_b(arm64_assets: GuestAssets, no_checks: bool) -> None:
    h = H.run_kexec_tools(arm64_assets, no_checks=no_checks, machine="arm64")
    assert h.exec_line is not None, H.describe(h)
    assert h.loaded_line is not None, "kexec -l failed\n" + H.describe(h)
    assert h.reached_b, H.describe(h)
    assert h.b_cmdline is not None and "KXMARK=1" in h.b_cmdline.split(), H.describe(h)
    assert h.exec_to_b_first is not None
