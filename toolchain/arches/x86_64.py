"""x86_64 (64-bit boot protocol, bzImage kernels).

Facts used here (see ../shared/FACTS.md and Documentation/arch/x86/boot.rst):

- The kernel segment is the bzImage's protected-mode part, placed at or above pref_address,
  aligned to kernel_alignment, memsz = init_size (the decompressor uses all of it). Below
  16 MiB the decompressor moves itself to 16 MiB and overwrites what sits there, so
  automatic placement starts at 16 MiB (``default_load_min``). The 64-bit entry is at +0x200.
- The kernel gets a "zero page" (struct boot_params, 4 KiB) in rsi. We build it from zeros
  and copy in only the setup header (0x1f1 .. 0x202 + byte[0x201]), never the whole first
  sector: the boot sector's byte 0x1ef is the "sentinel" the kernel uses to detect loaders
  that copied too much, and when it is non-zero the kernel clears the ext_* fields (above
  4 GiB that loses the upper halves of the initrd and command-line addresses).
- Needed fields: type_of_loader != 0 (0 makes the kernel ignore the initrd), cmd_line_ptr and
  ext_cmd_line_ptr, ramdisk_image/size and their ext_ halves, and an e820 map (without one the
  kernel only sees the 636 KiB of low memory and panics). The map comes from the recipe:
  /memory as type 1 (RAM) minus /reserved, /reserved as type 2; tools/memmap2recipe.py turns a
  capture of /sys/firmware/memmap on the target into those two lists (docs/x86_64.md).
- The command line lives in the same segment, in the page right after the zero page.
"""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import register
from .base import Arch
from ..bundle import Kind
from ..kernels import KernelFormatError, KernelImage, Source, bzimage

if TYPE_CHECKING:
    from ..emulate import EmuSpec
    from ..layout import Allocator, Plan, PlannedSegment
    from ..recipe import Recipe

ZERO_PAGE = 0x1000
# struct boot_params offsets (Documentation/arch/x86/zero-page.rst and boot.rst).
OFF_EXT_RAMDISK_IMAGE = 0x0C0
OFF_EXT_RAMDISK_SIZE = 0x0C4
OFF_EXT_CMD_LINE_PTR = 0x0C8
OFF_E820_ENTRIES = 0x1E8
OFF_SENTINEL = 0x1EF
OFF_TYPE_OF_LOADER = 0x210
OFF_LOADFLAGS = 0x211
OFF_RAMDISK_IMAGE = 0x218
OFF_RAMDISK_SIZE = 0x21C
OFF_CMD_LINE_PTR = 0x228
OFF_E820_TABLE = 0x2D0
E820_ENTRY = struct.Struct("<QQI")       # addr, size, type: 20 bytes
E820_MAX = 128                           # entries that fit in the zero page
E820_RAM = 1
E820_RESERVED = 2
LOADER_UNDEFINED = 0xFF                  # "no assigned loader id" (boot.rst)
LOADED_HIGH = 0x01


def e820_map(memory: list[tuple[int, int]], reserved: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Non-overlapping (addr, size, type) entries sorted by address: RAM minus reserved, then reserved."""
    pieces = sorted((s, s + n) for s, n in memory if n)
    for rs, rn in reserved:
        re = rs + rn
        cut = []
        for s, e in pieces:
            if re <= s or e <= rs:
                cut.append((s, e))
                continue
            if s < rs:
                cut.append((s, rs))
            if re < e:
                cut.append((re, e))
        pieces = cut
    entries = [(s, e - s, E820_RAM) for s, e in pieces]
    # Merge touching or overlapping reserved ranges so the map stays small and disjoint.
    res: list[list[int]] = []
    for s, n in sorted(r for r in reserved if r[1]):
        if res and s <= res[-1][1]:
            res[-1][1] = max(res[-1][1], s + n)
        else:
            res.append([s, s + n])
    entries += [(s, e - s, E820_RESERVED) for s, e in res]
    return sorted(entries)


def build_zero_page(header: bytes, cmdline_addr: int, initrd: tuple[int, int] | None,
                    e820: list[tuple[int, int, int]]) -> bytearray:
    """struct boot_params for a 64-bit entry. ``header`` = file bytes 0x1f1 .. 0x202 + byte[0x201]."""
    zp = bytearray(ZERO_PAGE)
    zp[0x1F1:0x1F1 + len(header)] = header
    zp[OFF_SENTINEL] = 0
    zp[OFF_TYPE_OF_LOADER] = LOADER_UNDEFINED
    zp[OFF_LOADFLAGS] |= LOADED_HIGH
    struct.pack_into("<I", zp, OFF_CMD_LINE_PTR, cmdline_addr & 0xFFFFFFFF)
    struct.pack_into("<I", zp, OFF_EXT_CMD_LINE_PTR, cmdline_addr >> 32)
    start, size = initrd if initrd else (0, 0)
    struct.pack_into("<I", zp, OFF_RAMDISK_IMAGE, start & 0xFFFFFFFF)
    struct.pack_into("<I", zp, OFF_EXT_RAMDISK_IMAGE, start >> 32)
    struct.pack_into("<I", zp, OFF_RAMDISK_SIZE, size & 0xFFFFFFFF)
    struct.pack_into("<I", zp, OFF_EXT_RAMDISK_SIZE, size >> 32)
    zp[OFF_E820_ENTRIES] = len(e820)
    for i, entry in enumerate(e820):
        E820_ENTRY.pack_into(zp, OFF_E820_TABLE + i * E820_ENTRY.size, *entry)
    return zp


COM1 = 0x3F8


def _emu_setup(uc: "Any", console: bytearray, ports: list[tuple[int, int]] | None = None) -> None:
    """COM1 output is the console; LSR reads say "transmitter empty"; entry state as kexec
    leaves it (long mode, identity map, interrupts off) with junk in scratch registers.
    ``ports`` (tests) receives every OUT as (port, value)."""
    from unicorn import x86_const as X

    def on_out(uc: "Any", port: int, size: int, value: int, _: "Any") -> None:
        if ports is not None:
            ports.append((port, value))
        if port == COM1:
            console.append(value & 0xFF)

    def on_in(uc: "Any", port: int, size: int, _: "Any") -> int:
        return 0x20 if port == COM1 + 5 else 0xFF

    from unicorn import UC_HOOK_INSN

    uc.hook_add(UC_HOOK_INSN, on_out, None, 1, 0, X.UC_X86_INS_OUT)
    uc.hook_add(UC_HOOK_INSN, on_in, None, 1, 0, X.UC_X86_INS_IN)
    for reg in (X.UC_X86_REG_RAX, X.UC_X86_REG_RBX, X.UC_X86_REG_RSI, X.UC_X86_REG_RDI, X.UC_X86_REG_RBP):
        uc.reg_write(reg, 0xDEAD_BEEF_0BAD_F00D)
    uc.reg_write(X.UC_X86_REG_RSP, 0)
    uc.reg_write(X.UC_X86_REG_EFLAGS, 0x2)


class X86_64(Arch):
    def emulator(self) -> "EmuSpec":
        import capstone
        from unicorn import UC_ARCH_X86, UC_MODE_64
        from unicorn import x86_const as X

        from ..emulate import EmuSpec

        regs = {n: getattr(X, f"UC_X86_REG_{n.upper()}") for n in
                ("rip", "rsi", "rdi", "rbx", "rbp", "rsp", "cs", "ds", "es", "ss", "fs", "gs", "eflags", "gdtr")}
        return EmuSpec(UC_ARCH_X86, UC_MODE_64, X.UC_X86_REG_RIP, _emu_setup, regs,
                       capstone=(capstone.CS_ARCH_X86, capstone.CS_MODE_64))

    def load_kernel(self, path: Path, source: str, scratch: Path | None = None) -> KernelImage:
        try:
            with open(path, "rb") as f:
                is_elf = f.read(4) == b"\x7fELF"
        except OSError as exc:
            raise KernelFormatError(source, f"cannot open: {exc.strerror}") from None
        if is_elf:
            raise KernelFormatError(source, "an ELF file (vmlinux?), not a bzImage",
                                    "give the bzImage (arch/x86/boot/bzImage or /boot/vmlinuz-*)")
        return bzimage.load(path, source)

    def extra_segments(self, recipe: "Recipe") -> int:
        return 1  # boot_params with the command line in its second page

    def extra_plan_segments(self, recipe: "Recipe", segments: list["PlannedSegment"], build_dir: Path,
                            alloc: "Allocator", kernel: KernelImage) -> list["PlannedSegment"]:
        from ..layout import LayoutError, PlannedSegment

        kseg = next(s for s in segments if s.kind == Kind.KERNEL)
        assert isinstance(kernel, bzimage.BzImage) and kernel.header is not None
        hdr = kernel.header
        pointer = "/kernel"
        if not hdr.relocatable and kseg.mem != hdr.pref_address:
            raise LayoutError(recipe.origin(pointer), pointer,
                              f"this bzImage is not relocatable and must load at 0x{hdr.pref_address:x}, "
                              f"it was placed at 0x{kseg.mem:x}", f"set /kernel/address to 0x{hdr.pref_address:x}")
        if kseg.mem < hdr.pref_address:
            raise LayoutError(recipe.origin(pointer), pointer,
                              f"kernel placed at 0x{kseg.mem:x}, below its pref_address 0x{hdr.pref_address:x} "
                              "(the decompressor would overwrite what lies there)",
                              f"raise load_min to 0x{hdr.pref_address:x} or set /kernel/address")
        cmdline = recipe.cmdline.encode()
        if len(cmdline) > hdr.cmdline_size:
            raise recipe.error("/cmdline", f"{len(cmdline)} bytes, this kernel accepts at most {hdr.cmdline_size}",
                               "shorten the command line")
        if b"\0" in cmdline:
            raise recipe.error("/cmdline", "contains a NUL byte")
        e820 = e820_map(list(recipe.memory), list(recipe.reserved))
        if len(e820) > E820_MAX:
            raise recipe.error("/memory", f"{len(e820)} e820 entries; the zero page holds {E820_MAX}",
                               "merge adjacent /memory or /reserved ranges")
        page = recipe.page_size
        cmd_off = max(ZERO_PAGE, page)
        size = cmd_off + -(-(len(cmdline) + 1) // page) * page
        addr = alloc.first_fit("/boot_params", size, page, recipe.load_min)
        cmd_addr = addr + cmd_off
        initrd = next(((s.mem, s.bufsz) for s in segments if s.kind == Kind.INITRD), None)
        zp = build_zero_page(hdr.raw, cmd_addr, initrd, e820)
        blob = bytes(zp).ljust(cmd_addr - addr, b"\0") + cmdline + b"\0"
        path = build_dir / "boot_params.bin"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
        return [PlannedSegment("boot_params", Kind.BOOT_PARAMS, addr, size, Source(str(path), 0, len(blob)),
                               hashlib.sha256(blob).hexdigest(), True)]

    def handoff_values(self, plan: "Plan", kernel: KernelImage) -> dict[str, bytes]:
        bp = next(s for s in plan.segments if s.kind == Kind.BOOT_PARAMS)
        return {
            "kx_kernel_entry": self.u64(plan.kernel_entry),
            "kx_boot_params": self.u64(bp.mem),
        }


X86_64_ARCH = register(
    X86_64(
        name="x86_64",
        code=3,
        elf_machine="EM_X86_64",
        little_endian=True,
        default_page_size=0x1000,
        zig_target="x86_64-freestanding",
        loader_target="x86_64-linux-musl",
        purgatory_dir="x86_64",
        cflags=(
            # zig spells the baseline CPU x86_64 (clang's -march=x86-64).
            "-march=x86_64",
            "-mcmodel=large",
            "-mno-mmx", "-mno-sse", "-mno-sse2", "-mno-avx",
            "-mno-red-zone",
            # clang's spelling of GCC's -fno-tree-vectorize.
            "-fno-vectorize", "-fno-slp-vectorize",
        ),
        qemu_user=None,
        handoff_symbols={"kx_kernel_entry": 8, "kx_boot_params": 8},
        default_load_min=0x1000000,
        limit_hint="x86_64 segments must lie inside the /memory ranges (the e820 RAM of the target)",
        needs_dtb=False,
    )
)
