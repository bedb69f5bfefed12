"""Shared fixtures: things that are slow to build are built once per test session."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from toolchain import arches, build  # noqa: E402
from toolchain.compilers import DEFAULT  # noqa: E402


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ppc64le_purgatory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real ppc64le purgatory, linked at 0x2fff0000."""
    return build.build_purgatory(arches.get("ppc64le"), 0x2FFF0000, tmp_path_factory.mktemp("purg"))


@pytest.fixture(scope="session")
def foreign_elfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny fully linked ELFs for other machines and byte orders (wrong-kernel tests)."""
    d = tmp_path_factory.mktemp("foreign")
    src = d / "k.c"
    src.write_text("void _start(void) { for (;;) ; }\n")
    out = {}
    for name, target in (("x86_64", "x86_64-freestanding"), ("ppc64be", "powerpc64-freestanding"),
                         ("ppc64le", "powerpc64le-freestanding")):
        elf = d / f"{name}.elf"
        extra = ["-mcpu=pwr8-vsx-altivec-power8_vector-direct_move-crypto"] if "ppc" in name else []
        subprocess.run([*DEFAULT.cc(), "-target", target, *extra, "-nostdlib", "-static", "-O1",
                        str(src), "-o", str(elf)], check=True, env=DEFAULT.env(d / "zc"),
                       capture_output=True)
        out[name] = elf
    return out


@pytest.fixture
def write_recipe(tmp_path: Path) -> Callable[..., Path]:
    """Write a recipe JSON into a temp dir; ``base`` defaults to a valid ppc64le recipe."""

    def write(name: str = "r", extends_shipped: bool = False, **fields: Any) -> Path:
        data: dict[str, Any] = {
            "arch": "ppc64le",
            "page_size": "0x10000",
            "memory": [{"start": "0x0", "size": "0x40000000"}],
            "verify": True,
            "kernel": {"builtin": "payload"},
            "dtb": {"generate": {"cpus": 1}},
            "cmdline": "console=hvc0",
        }
        data.update(fields)
        data = {k: v for k, v in data.items() if v is not None}
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data, indent=1))
        return path

    return write
