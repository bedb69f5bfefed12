"""Fixtures for the purgatory tests: everything is built once per session into tmp dirs."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import ppc64_harness as h  # noqa: E402

PPC64_BASE = 0x2FF00000  # 64 KiB aligned, below the 0x30000000 real-mode limit


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: boots a whole machine under qemu-system (slow)")


@pytest.fixture(scope="session")
def ppc64_real_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ppc64-real")


@pytest.fixture(scope="session")
def ppc64_purgatory(ppc64_real_dir: Path) -> Path:
    """The real ppc64le purgatory image, linked at PPC64_BASE."""
    return h.build_real(ppc64_real_dir, PPC64_BASE)


@pytest.fixture(scope="session")
def ppc64_test_image(ppc64_purgatory: Path, ppc64_real_dir: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> h.TestImage:
    """The same objects, test-linked for qemu-ppc64le-static."""
    if not shutil.which(h.QEMU):
        pytest.skip(f"{h.QEMU} not installed")
    return h.TestImage(h.build_test_link(ppc64_real_dir, tmp_path_factory.mktemp("ppc64-test")))


@pytest.fixture(scope="session")
def ppc64_payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from payloads.build import build_payload

    return build_payload(h.ARCH, tmp_path_factory.mktemp("ppc64-payload"))
