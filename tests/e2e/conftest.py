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


def _assets(arch: str, qemu: str) -> GuestAssets:
    ensure_host_packages()
    if shutil.which(qemu) is None:
        pytest.fail(f"{qemu} missing even after installing the host packages")
    return fetch_guest_assets(arch, with_kexec_tools=True)


@pytest.fixture(scope="session")
def amd64_assets() -> GuestAssets:
    return _assets("amd64", "qemu-system-x86_64")


@pytest.fixture(scope="session")
def amd64_facts(amd64_assets: GuestAssets) -> CapturedFdt:
    """Kernel A's /sys/firmware/memmap (and /proc/iomem) on QEMU q35 -smp 2 -m 1G; no DT on x86."""
    return capture_fdt(amd64_assets, smp=2, mem="1G", machine="amd64")


@pytest.fixture(scope="session")
def arm64_assets() -> GuestAssets:
    return _assets("arm64", "qemu-system-aarch64")


@pytest.fixture(scope="session", params=["arm64", "arm64-el2"], ids=["EL1", "EL2"])
def arm64_machine(request: pytest.FixtureRequest) -> str:
    """QEMU virt with kernel A at EL1, and with virtualization=on (A at EL2, kexec via the hyp stub)."""
    return request.param


@pytest.fixture(scope="session")
def arm64_fdt(arm64_assets: GuestAssets, arm64_machine: str) -> CapturedFdt:
    """Device tree of QEMU virt -smp 2 -m 1G as kernel A sees it, plus A's physical end."""
    return capture_fdt(arm64_assets, smp=2, mem="1G", machine=arm64_machine)
