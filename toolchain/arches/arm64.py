"""arm64 (AArch64, little-endian), booted through the Linux arm64 boot protocol.

Facts used here (see ../shared/FACTS.md and Documentation/arch/arm64/booting.rst): the kernel
is an ``Image`` loaded at a 2 MiB aligned address (+ text_offset, 0 on current kernels) and
entered at its first byte with x0 = physical address of the device tree and x1 = x2 = x3 = 0,
MMU and D-cache off. The purgatory is entered the same way (MMU and caches off, interrupts
masked) at EL2 or EL1. With the MMU off every access is to Device memory, where unaligned
accesses fault: the C code is built with ``-mstrict-align`` and ``-mgeneral-regs-only`` (no
FP/SIMD registers, so no vectorised copies either).

Placement: QEMU virt has its RAM from 0x40000000 and puts its own DTB at the start of it;
automatic placement starts 32 MiB in (0x42000000, the layout shown to boot Debian's 6.1),
the purgatory goes to the top of RAM.

Device tree: the old kernel's crash-kernel properties are dropped. ``kaslr-seed`` (8 bytes)
and ``rng-seed`` (64 bytes) are re-created as zero placeholders that the loader fills with
fresh random bytes at every load; they are excluded from the digest (docs/arm64.md).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import register
from .base import Arch
from .. import arm64_mmu
from ..bundle import Kind
from ..kernels import KernelImage, Source, arm64image

if TYPE_CHECKING:
    from ..emulate import EmuSpec
    from ..layout import Allocator, Plan, PlannedSegment
    from ..recipe import Recipe

QEMU_VIRT_UART = 0x09000000


def _emu_setup(uc: "Any", console: bytearray) -> None:
    """A PL011 at QEMU virt's address: UARTDR writes are the console, UARTFR reads 0."""
    def read(uc: "Any", offset: int, size: int, _: "Any") -> int:
        return 0

    def write(uc: "Any", offset: int, size: int, value: int, _: "Any") -> None:
        if offset == 0:
            console.append(value & 0xFF)

    uc.mmio_map(0x09000000, 0x1000, read, None, write, None)


class Arm64(Arch):
    def emulator(self) -> "EmuSpec":
        from unicorn import UC_ARCH_ARM64, UC_MODE_ARM
        from unicorn import arm64_const as A

        from ..emulate import EmuSpec

        regs = {f"x{i}": getattr(A, f"UC_ARM64_REG_X{i}") for i in range(4)}
        regs.update(pc=A.UC_ARM64_REG_PC, sp=A.UC_ARM64_REG_SP, vbar_el1=A.UC_ARM64_REG_VBAR_EL1)
        return EmuSpec(UC_ARCH_ARM64, UC_MODE_ARM, A.UC_ARM64_REG_PC, _emu_setup, regs,
                       stop_symbols=("kx_arch_halt", "kx_arch_fault"))

    def load_kernel(self, path: Path, source: str, scratch: Path | None = None) -> KernelImage:
        return arm64image.load(path, source, scratch, self.default_page_size)

    def generated_cpu_props(self, cpu: int) -> dict[str, bytes]:
        # Linux/arm64 refuses cpus without an enable-method; QEMU virt provides PSCI.
        return {"compatible": b"arm,armv8\0", "enable-method": b"psci\0"}

    def extra_segments(self, recipe: "Recipe") -> int:
        return 1 if _mmu_wanted(recipe) else 0

    def extra_plan_segments(self, recipe: "Recipe", segments: list["PlannedSegment"], build_dir: Path,
                            alloc: "Allocator", kernel: KernelImage) -> list["PlannedSegment"]:
        """Experimental MMU-on hashing: the identity-map tables as a segment of their own.

        The tables go in a separate, verified RAW segment ``mmu_tables`` (placed first-fit like
        the other segments) rather than inside the purgatory image: their contents depend on
        the final addresses of the purgatory window, and the layout knows those before the
        purgatory is linked. The segment is part of the hashed regions, so the purgatory also
        cleans and invalidates it with the other regions (purgatory/arm64/mmu.S).
        """
        if not _mmu_wanted(recipe):
            return []
        from ..layout import LayoutError, PlannedSegment

        window = next(((s, n) for s, n, who in alloc.taken if who in ("/purgatory", "/purgatory/address")), None)
        assert window is not None, "the purgatory is placed before the extra segments"
        ram, reserved = list(recipe.memory), list(recipe.reserved)
        pointer = "/purgatory/mmu"
        try:
            size = arm64_mmu.table_size(ram, reserved, [window])
            page = recipe.page_size
            addr = alloc.first_fit(pointer, -(-size // page) * page, max(page, arm64_mmu.GRANULE), recipe.load_min)
            tables = arm64_mmu.build(addr, ram, reserved, [window])
        except arm64_mmu.MmuError as exc:
            raise LayoutError(recipe.origin(pointer), pointer, str(exc),
                              "the experimental MMU mode maps the first 512 GiB only; set /purgatory/mmu to false")
        path = build_dir / "mmu_tables.bin"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(tables.blob)
        tmp.replace(path)
        return [PlannedSegment(MMU_SEGMENT, Kind.RAW, addr, -(-len(tables.blob) // page) * page,
                               Source(str(path), 0, len(tables.blob)),
                               hashlib.sha256(tables.blob).hexdigest(), True)]

    def handoff_values(self, plan: "Plan", kernel: KernelImage) -> dict[str, bytes]:
        values = {
            "kx_kernel_entry": self.u64(plan.kernel_entry),
            "kx_dtb": self.u64(plan.dtb_addr or 0),
            "kx_uart": self.u64(QEMU_VIRT_UART if plan.console else 0),
            "kx_mmu": (0).to_bytes(4, "little"),
            "kx_mmu_ttbr_el1": self.u64(0),
            "kx_mmu_ttbr_el2": self.u64(0),
        }
        seg = next((s for s in plan.segments if s.name == MMU_SEGMENT and s.kind == Kind.RAW), None)
        if seg is not None and plan.verify != "none":
            # Tree order in the blob is arm64_mmu.REGIMES: el1 first, el2 after it.
            blob = Path(seg.source.path).read_bytes()[seg.source.offset:seg.source.offset + seg.source.size]
            half = len(blob) // 2
            values.update({
                "kx_mmu": (1).to_bytes(4, "little"),
                "kx_mmu_ttbr_el1": self.u64(seg.mem),
                "kx_mmu_ttbr_el2": self.u64(seg.mem + half),
            })
        return values


MMU_SEGMENT = "mmu_tables"


def _mmu_wanted(recipe: "Recipe") -> bool:
    """MMU-on hashing needs something to hash: with verify none the option does nothing."""
    return recipe.purgatory_mmu and recipe.verify != "none"


ARM64 = register(
    Arm64(
        name="arm64",
        code=4,
        elf_machine="EM_AARCH64",
        little_endian=True,
        default_page_size=0x1000,
        zig_target="aarch64-freestanding",
        loader_target="aarch64-linux-musl",
        purgatory_dir="arm64",
        cflags=("-mstrict-align", "-mgeneral-regs-only"),
        qemu_user="qemu-aarch64-static",
        handoff_symbols={
            "kx_kernel_entry": 8,
            "kx_dtb": 8,
            "kx_uart": 8,
            "kx_mmu": 4,
            "kx_mmu_ttbr_el1": 8,
            "kx_mmu_ttbr_el2": 8,
        },
        default_load_min=0x42000000,
        limit_hint="arm64 segments must stay inside the memory ranges (QEMU virt: RAM from 0x40000000)",
        needs_dtb=True,
        dtb_drop=("linux,elfcorehdr", "linux,usable-memory-range"),
        dtb_loadtime_seeds=(("kaslr-seed", 8), ("rng-seed", 64)),
        supports_mmu=True,
    )
)
