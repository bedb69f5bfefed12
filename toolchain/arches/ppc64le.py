"""ppc64le (64-bit POWER, little-endian, ELFv2).

Facts used here (see ../shared/FACTS.md): 64 KiB pages on distro kernels; segments must stay
inside the lowest memory node (the RMA) and below 0x30000000, the real-mode limit early boot
uses; the running kernel refuses segments below the end of its own image, so automatic
placement starts at ``load_min``. The zig CPU string drops VSX/AltiVec so the compiler emits
integer-only code: the purgatory runs before anything has enabled the vector units.

Hand-off: the purgatory jumps to the kernel's load address with r3 = device tree and
r4 = kernel address; the old kernel copies the purgatory's first 0x100 bytes to physical 0
for the secondary CPUs, so those bytes (after the first word) must be the new kernel's.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import register
from .base import Arch
from ..kernels import KernelImage, elf

if TYPE_CHECKING:
    from ..layout import Plan

REAL_MODE_LIMIT = 0x30000000
HEAD_SIZE = 0x100


class Ppc64(Arch):
    emulator_note = ("unicorn cannot run PPC64; tests/purgatory runs this arch's purgatory code "
                     "under qemu-user instead")

    def address_limit(self, ram: list[tuple[int, int]]) -> int:
        lowest_start, lowest_size = min(ram)
        return min(lowest_start + lowest_size, REAL_MODE_LIMIT)

    def load_kernel(self, path: Path, source: str, scratch: Path | None = None) -> KernelImage:
        return elf.load(path, source, self.elf_machine, self.little_endian, scratch, self.default_page_size)

    def generated_cpu_props(self, cpu: int) -> dict[str, bytes]:
        # Linux on pseries takes a thread's interrupt server numbers from this property.
        return {"ibm,ppc-interrupt-server#s": cpu.to_bytes(4, "big")}

    def handoff_values(self, plan: "Plan", kernel: KernelImage) -> dict[str, bytes]:
        head = kernel.head[4:HEAD_SIZE].ljust(HEAD_SIZE - 4, b"\0")
        return {
            "kx_kernel_entry": self.u64(plan.kernel_entry),
            "kx_dtb": self.u64(plan.dtb_addr or 0),
            "kx_kernel_head": head,
        }


PPC64LE = register(
    Ppc64(
        name="ppc64le",
        code=1,
        elf_machine="EM_PPC64",
        little_endian=True,
        default_page_size=0x10000,
        zig_target="powerpc64le-freestanding",
        loader_target="powerpc64le-linux-musl",
        purgatory_dir="ppc64",
        cflags=(
            "-mcpu=pwr8-vsx-altivec-power8_vector-direct_move-crypto",
            "-mcmodel=medium",
        ),
        qemu_user="qemu-ppc64le-static",
        handoff_symbols={
            "kx_kernel_entry": 8,
            "kx_dtb": 8,
            "kx_kernel_head": HEAD_SIZE - 4,
        },
        default_load_min=0x4000000,
        limit_hint="ppc64 segments must stay inside the lowest memory node and below 0x30000000 (real mode)",
    )
)
