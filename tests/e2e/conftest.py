"""Session fixtures for the real-kernel e2e tests.

Why session scope: a QEMU TCG boot costs ~7-12 s and the Debian downloads
~50 MB, so the guest assets, the B initrd and the captured device tree are
fetched/built once per session (and cached across sessions on disk).

Select or skip the slow tests with ``-m e2e`` / ``-m "not e2e"``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .debian import GuestAssets, ensure_host_packages, fetch_guest_assets
from .fdt import CapturedFdt, capture_fdt


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: boots real Debian kernels under QEMU TCG (slow, downloads ~50 MB once)"
    )


@pytest.fixture(scope="session")
def ppc64el_assets() -> GuestAssets:
    ensure_host_packages()
    if shutil.which("qemu-system-ppc64") is None:
        pytest.fail("qemu-system-ppc64 missing even after installing qemu-system-ppc")
    return fetch_guest_assets("ppc64el", with_kexec_tools=True)


@pytest.fixture(scope="session")
def ppc64el_fdt(ppc64el_assets: GuestAssets) -> CapturedFdt:
    """Device tree of QEMU pseries with -smp 2 -m 1G, as kernel A sees it."""
    return capture_fdt(ppc64el_assets, smp=2, mem="1G")


@pytest.fixture(scope="session")
def e2e_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")
