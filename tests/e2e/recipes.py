"""Write a toolchain recipe for the e2e scenario, and build a bundle from it.

Kept tiny and isolated on purpose: the recipe format (schemas/recipe.schema.json)
and the toolchain's command line are not final, so this is the one file to
adapt when they change.  Every value here comes from what the harness
observed on the real guest (the captured device tree and kernel A's
``KXE2E-INFO`` lines), not from constants.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .debian import REPO_ROOT
from .fdt import CapturedFdt

#: ppc64 early boot runs in real mode: keep segments below 768 MiB (FACTS.md).
PPC64_REAL_MODE_LIMIT = 0x30000000


def ppc64le_recipe(
    kernel: Path,
    initrd: Path | None,
    dtb: CapturedFdt,
    cmdline: str,
    verify: bool | str = True,
    console: bool = True,
) -> dict[str, Any]:
    """Recipe for booting ``kernel`` on the same QEMU pseries config ``dtb`` came from."""
    mem_top = min(PPC64_REAL_MODE_LIMIT, 1 << 30)
    # RTAS is a memreserve entry; the old initrd's entry is for kernel A only.
    rtas_base = int(dtb.info.get("rtas-base", "0"), 16)
    reserved = [
        {"start": hex(a), "size": hex(s)}
        for a, s in dtb.memreserve()
        if rtas_base and a <= rtas_base < a + s
    ]
    r: dict[str, Any] = {
        "arch": "ppc64le",
        "page_size": "0x10000",
        "memory": [{"start": "0x0", "size": hex(mem_top)}],
        "reserved": reserved,
        "load_min": "0x" + dtb.info["kernel-end"].lstrip("0") if dtb.info.get("kernel-end") else None,
        "verify": verify,
        "purgatory": {"console": console},
        "kernel": {"path": str(kernel)},
        "dtb": {"path": str(dtb.path)},
        "cmdline": cmdline,
    }
    if initrd is not None:
        r["initrd"] = {"path": str(initrd)}
    return {k: v for k, v in r.items() if v is not None}


def x86_64_recipe(
    kernel: Path,
    initrd: Path | None,
    facts: CapturedFdt,
    cmdline: str,
    verify: bool | str = True,
    console: bool = True,
) -> dict[str, Any]:
    """Recipe for a bzImage on the QEMU q35 config ``facts`` (its /sys/firmware/memmap) came from.

    The memory map goes through tools/memmap2recipe.py's ``convert``, exactly as a
    user would do it; no device tree on x86.  ``load_min`` stays at 16 MiB: below
    it the decompressor overwrites what sits there (FACTS.md).
    """
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    try:
        from memmap2recipe import convert
    finally:
        sys.path.pop(0)
    mm = convert(facts.memmap(), 0x1000)
    r: dict[str, Any] = {
        "arch": "x86_64",
        "page_size": "0x1000",
        "memory": mm["memory"],
        "reserved": mm["reserved"],
        "load_min": "0x1000000",
        "verify": verify,
        "purgatory": {"console": console},
        "kernel": {"path": str(kernel)},
        "cmdline": cmdline,
    }
    if initrd is not None:
        r["initrd"] = {"path": str(initrd)}
    return r


#: arm64 virt: RAM at 1 GiB; the kernel wants a 2 MiB aligned base.
ARM64_RAM_BASE = 0x40000000
ARM64_LOAD_MIN = 0x42000000


def arm64_recipe(
    kernel: Path,
    initrd: Path | None,
    dtb: CapturedFdt,
    cmdline: str,
    verify: bool | str = True,
    console: bool = True,
    mem_size: int = 1 << 30,
) -> dict[str, Any]:
    """Recipe for an arm64 Image on the QEMU virt config ``dtb`` came from.

    ``load_min`` is above kernel A's image (its /proc/iomem "Kernel ..." ranges),
    rounded up to 2 MiB, and never below 0x42000000 (QEMU's DTB and A's start).
    """
    end = dtb.kernel_phys_end() or 0
    load_min = max(ARM64_LOAD_MIN, (end + 0x1FFFFF) & ~0x1FFFFF)
    r: dict[str, Any] = {
        "arch": "arm64",
        "page_size": "0x1000",
        "memory": [{"start": hex(ARM64_RAM_BASE), "size": hex(mem_size)}],
        "load_min": hex(load_min),
        "verify": verify,
        "purgatory": {"console": console},
        "kernel": {"path": str(kernel)},
        "dtb": {"path": str(dtb.path)},
        "cmdline": cmdline,
    }
    if initrd is not None:
        r["initrd"] = {"path": str(initrd)}
    return r


def write_recipe(directory: Path, recipe: dict[str, Any], name: str = "e2e") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(recipe, indent=2, sort_keys=True) + "\n")
    return path


def build_bundle(recipe_path: Path, out_dir: Path) -> Path:
    """Build ``recipe_path`` with ``scons recipe=PATH``; copy the bundle and manifest to ``out_dir``.

    SCons writes to ``build/<recipe file stem>/``; callers give each recipe a unique stem.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "SCons", "-Q", f"recipe={recipe_path}"]
    r = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    built = REPO_ROOT / "build" / recipe_path.stem
    for name in ("bundle.kxb", "manifest.json"):
        shutil.copy(built / name, out_dir / name)
    return out_dir / "bundle.kxb"
