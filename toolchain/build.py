"""Compile and link the purgatory (and the test payloads) for an arch.

SCons calls these functions from its builders; tests and benchmarks call them directly. The
flags live here and in the arch modules only, so every caller builds the same bytes.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.dynamic import DynamicSection
from elftools.elf.relocation import RelocationSection

from .arches.base import REPO, Arch
from .compilers import DEFAULT, ZigCC, reproducible_flags

# Flags for every freestanding object, whatever the arch. -fno-zero-initialized-in-bss keeps
# patched globals in PROGBITS even if their initial value is zero.
COMMON_CFLAGS = (
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-nostdlib",
    "-fno-zero-initialized-in-bss",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-pic",
    "-Wall",
    "-Wextra",
    "-Werror",
)


class BuildError(Exception):
    """A compile, link or post-link check failed; ``output`` holds the tool's messages."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message + (f"\n{output}" if output else ""))


def cflags(arch: Arch, include: list[Path] | None = None) -> list[str]:
    incs = [REPO / "purgatory" / "common", arch.purgatory_src] + (include or [])
    return [
        "-target", arch.zig_target, *arch.cflags, *COMMON_CFLAGS,
        *reproducible_flags(REPO),
        *(f"-I{p}" for p in incs),
    ]


def compile_command(arch: Arch, src: Path, obj: Path, cc: ZigCC = DEFAULT,
                    extra: list[str] | None = None) -> list[str]:
    return [*cc.cc(), *cflags(arch), *(extra or []), "-c", str(src), "-o", str(obj)]


def link_command(arch: Arch, objs: list[Path], script: Path, out: Path,
                 cc: ZigCC = DEFAULT) -> list[str]:
    # No -O here: zig's link step treats it as a request to strip .symtab, and the patch step
    # needs the symbols.
    return [*cc.cc(), "-target", arch.zig_target, "-nostdlib", "-static",
            f"-Wl,-T,{script}", "-Wl,--build-id=none", "-Wl,--no-undefined",
            *map(str, objs), "-o", str(out)]


def run(cmd: list[str], cache_dir: Path, cc: ZigCC = DEFAULT) -> None:
    proc = subprocess.run(cmd, env=cc.env(cache_dir), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"command failed: {' '.join(cmd)}", proc.stderr + proc.stdout)


def sources(directory: Path) -> list[Path]:
    """C and assembly sources of one purgatory or payload folder, in a stable order."""
    return sorted(p for p in directory.iterdir() if p.suffix in (".c", ".S") and p.is_file())


def purgatory_sources(arch: Arch) -> list[Path]:
    return sources(REPO / "purgatory" / "common") + sources(arch.purgatory_src)


def check_fully_linked(path: Path) -> None:
    """Refuse an image that would need relocation at load time.

    The purgatory is linked at its final address; a dynamic section or any surviving
    relocation would mean some address is wrong once the kernel copies it into place.
    """
    with open(path, "rb") as f:
        elf = ELFFile(f)
        if elf["e_type"] != "ET_EXEC":
            raise BuildError(f"{path}: linked purgatory is {elf['e_type']}, expected ET_EXEC")
        for sec in elf.iter_sections():
            if isinstance(sec, (RelocationSection, DynamicSection)) and sec.data_size:
                raise BuildError(f"{path}: section {sec.name} needs load-time relocation")
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        if len(loads) != 1:
            raise BuildError(f"{path}: {len(loads)} PT_LOAD segments, the purgatory needs exactly 1")


def build_purgatory(arch: Arch, base: int, out_dir: Path, cache_dir: Path | None = None,
                    cc: ZigCC = DEFAULT) -> Path:
    """Compile and link the purgatory at ``base`` without SCons (tests, benchmarks)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir or out_dir / "zig-cache"
    objs = []
    for src in purgatory_sources(arch):
        obj = out_dir / f"{src.parent.name}-{src.stem}.o"
        run(compile_command(arch, src, obj, cc), cache, cc)
        objs.append(obj)
    script = out_dir / "purgatory.ld"
    script.write_text(arch.linker_script(base))
    elf = out_dir / "purgatory.elf"
    run(link_command(arch, objs, script, elf, cc), cache, cc)
    check_fully_linked(elf)
    return elf
