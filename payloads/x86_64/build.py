"""x86_64 payload post-link step: turn the linked ELF into a bzImage.

``payloads/build.py`` compiles and links ``payload.S`` with ``link.ld`` as for every arch,
then calls :func:`finish`, which wraps the single PT_LOAD's bytes (the protected-mode part,
64-bit entry at +0x200) in a real-mode part of ``SETUP_SECTS + 1`` sectors whose setup
header follows the Linux x86 boot protocol 2.15 (Documentation/arch/x86/boot.rst).

The result is written to ``payload.img`` in ``out_dir`` (the name the SCons builder expects;
the arch's ``load_kernel`` decides the format), the linked ELF is kept as
``payload.linked.elf`` for debuggers and tests.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

from elftools.elf.elffile import ELFFile

SETUP_SECTS = 1
SECTOR = 512
VERSION = 0x020F
LOADED_HIGH = 0x01
XLF_KERNEL_64 = 0x01
XLF_CAN_BE_LOADED_ABOVE_4G = 0x02
KERNEL_ALIGNMENT = 0x200000
PREF_ADDRESS = 0x1000000
CMDLINE_SIZE = 2047
HEADER_END = 0x26C            # through kernel_info_offset (2.15)


def setup_part(pm_size: int, init_size: int) -> bytes:
    """Boot sector + setup sectors: zeros except the setup header at 0x1f1."""
    b = bytearray((SETUP_SECTS + 1) * SECTOR)
    b[0x1F1] = SETUP_SECTS
    struct.pack_into("<I", b, 0x1F4, (pm_size + 15) // 16)      # syssize, 16-byte units
    struct.pack_into("<H", b, 0x1FE, 0xAA55)                     # boot_flag
    b[0x200] = 0xEB                                              # jmp short over the header
    b[0x201] = HEADER_END - 0x202
    b[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", b, 0x206, VERSION)
    b[0x211] = LOADED_HIGH                                       # loadflags
    struct.pack_into("<I", b, 0x214, 0x100000)                   # code32_start
    struct.pack_into("<I", b, 0x22C, 0x7FFFFFFF)                 # initrd_addr_max
    struct.pack_into("<I", b, 0x230, KERNEL_ALIGNMENT)
    b[0x234] = 1                                                 # relocatable_kernel
    b[0x235] = 12                                                # min_alignment (log2)
    struct.pack_into("<H", b, 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G)
    struct.pack_into("<I", b, 0x238, CMDLINE_SIZE)
    struct.pack_into("<Q", b, 0x258, PREF_ADDRESS)
    struct.pack_into("<I", b, 0x260, init_size)
    # A 16-bit loader would run the setup code at 0x200 + 2 + header: halt there.
    b[HEADER_END:HEADER_END + 4] = bytes([0xFA, 0xF4, 0xEB, 0xFD])  # cli; hlt; jmp .-1
    return bytes(b)


def flatten(elf_path: Path) -> tuple[bytes, int]:
    """The single PT_LOAD's file bytes and its memory size (including .bss)."""
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        if len(loads) != 1:
            raise ValueError(f"{elf_path}: {len(loads)} PT_LOADs, the x86_64 payload needs 1")
        return loads[0].data(), loads[0]["p_memsz"]


def finish(elf: Path, out_dir: Path) -> Path:
    linked = out_dir / "payload.linked.elf"
    os.replace(elf, linked)
    pm, memsz = flatten(linked)
    init_size = (max(memsz, len(pm)) + 0xFFF) & ~0xFFF
    out = out_dir / "payload.img"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(setup_part(len(pm), init_size) + pm)
    os.replace(tmp, out)
    return out
