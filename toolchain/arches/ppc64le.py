"""ppc64le (64-bit POWER, little-endian, ELFv2).

Facts used here (see ../shared/FACTS.md): 64 KiB pages on distro kernels; segments must stay
inside the lowest memory node (the RMA) and below 0x30000000, the real-mode limit early boot
uses. The zig CPU string drops VSX/AltiVec so the compiler emits integer-only code: the
purgatory runs before anything has enabled the vector units.
"""
from __future__ import annotations

from . import register
from .base import Arch

REAL_MODE_LIMIT = 0x30000000


class Ppc64le(Arch):
    def address_limit(self, ram: list[tuple[int, int]]) -> int:
        lowest_start, lowest_size = min(ram)
        return min(lowest_start + lowest_size, REAL_MODE_LIMIT)


PPC64LE = register(
    Ppc64le(
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
            "kx_kernel_head": 0xFC,
        },
    )
)
