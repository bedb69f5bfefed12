"""The arm64 ``Image`` format (Linux Documentation/arch/arm64/booting.rst, "Call the kernel image").

An Image is a flat binary whose first 64 bytes are a header, all fields little-endian:

    0x00  u32  code0 (a branch to the kernel's own entry code)
    0x04  u32  code1
    0x08  u64  text_offset: the image goes at a 2 MiB aligned base + text_offset
    0x10  u64  image_size: bytes the kernel occupies from its load address, bss included
    0x18  u64  flags: bit 0 = big-endian kernel, bits 1-2 = page size (0 unspecified,
               1 = 4K, 2 = 16K, 3 = 64K), bit 3 = may be placed anywhere in physical memory
    0x20  u64  res2, 0x28 u64 res3, 0x30 u64 res4
    0x38  u32  magic "ARM\\x64"
    0x3c  u32  res5 (PE header offset on EFI-stub kernels)

Choices made here:

* ``image_size == 0`` marks a kernel older than 3.17, whose footprint (bss) and text_offset
  byte order are unknown: refused rather than guessed.
* ``text_offset == 0`` (every kernel since 5.8, Debian's 6.1 included): the file is the
  segment, at a 2 MiB aligned address, entered at its first byte.
* ``text_offset != 0``: the segment still starts on the 2 MiB boundary and carries
  ``text_offset`` zero bytes before the Image, written to the caller's scratch file; the
  entry is ``text_offset`` bytes into the segment. Without a scratch path it is refused.
* The Image is entered at its first byte (code0); there is no separate entry field.
"""
from __future__ import annotations

import struct
from pathlib import Path

from . import KernelFormatError, KernelImage, Source

HEADER_SIZE = 64
MAGIC = b"ARM\x64"
MAGIC_OFFSET = 0x38
ALIGN = 2 << 20
FLAG_BE = 1 << 0
FLAG_PAGE_SHIFT = 1
FLAG_PAGE_MASK = 3 << FLAG_PAGE_SHIFT
FLAG_PHYS_ANYWHERE = 1 << 3
PAGE_SIZES = {0: "unspecified", 1: "4K", 2: "16K", 3: "64K"}
PAGE_BYTES = {1: 0x1000, 2: 0x4000, 3: 0x10000}
GZIP_MAGIC = b"\x1f\x8b"


def parse_header(data: bytes, label: str) -> tuple[int, int, int]:
    """(text_offset, image_size, flags) of an Image header, or KernelFormatError."""
    if len(data) >= 2 and data[:2] == GZIP_MAGIC:
        raise KernelFormatError(label, "is gzip-compressed, not an arm64 Image",
                                "decompress it first (zcat FILE > Image); the boot loader entry needs the raw Image")
    if len(data) < HEADER_SIZE:
        raise KernelFormatError(label, f"truncated: {len(data)} bytes, an arm64 Image header needs {HEADER_SIZE}")
    if data[MAGIC_OFFSET:MAGIC_OFFSET + 4] != MAGIC:
        hint = "Debian's arm64 /boot/vmlinuz-* is an uncompressed Image; a gzip'd Image.gz must be decompressed first"
        if data[:4] == b"\x7fELF":
            hint = "this is an ELF file (vmlinux?); give the Image (arch/arm64/boot/Image or /boot/vmlinuz-*)"
        elif data[:2] == b"MZ":
            hint = "an EFI zboot image (compressed): extract the Image from it or build with CONFIG_EFI_ZBOOT=n"
        raise KernelFormatError(label, "not an arm64 Image (no 'ARM\\x64' magic at offset 0x38)", hint)
    text_offset, image_size, flags = struct.unpack_from("<QQQ", data, 8)
    return text_offset, image_size, flags


def load(path: Path, label: str, scratch: Path | None = None, page_size: int | None = None) -> KernelImage:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(HEADER_SIZE)
    text_offset, image_size, flags = parse_header(head, label)
    if flags & FLAG_BE:
        raise KernelFormatError(label, "is a big-endian arm64 kernel (flags bit 0 set)",
                                "the toolchain and purgatory hand off to little-endian kernels only")
    if image_size == 0:
        raise KernelFormatError(label, "has image_size 0: a pre-3.17 arm64 kernel whose footprint is unknown",
                                "use a kernel from Linux 3.17 or later")
    if text_offset % 0x1000 or text_offset >= ALIGN:
        raise KernelFormatError(label, f"text_offset 0x{text_offset:x} is not a 4 KiB multiple below 2 MiB")
    if size > text_offset + image_size and image_size < size:
        # image_size covers the loaded image and its bss; a file longer than that carries
        # trailing data (e.g. appended signatures) that we load but the kernel ignores.
        pass
    page = (flags & FLAG_PAGE_MASK) >> FLAG_PAGE_SHIFT
    desc = (f"arm64 Image, text_offset 0x{text_offset:x}, image_size 0x{image_size:x}, "
            f"{PAGE_SIZES[page]} pages{', anywhere in RAM' if flags & FLAG_PHYS_ANYWHERE else ''}")
    memsz = max(image_size, size)
    if text_offset == 0:
        return KernelImage(Source(str(path), 0, size), memsz, 0, ALIGN, head, desc)
    if scratch is None:
        raise KernelFormatError(label, f"text_offset 0x{text_offset:x} needs a padded copy and no scratch path was given",
                                "use a kernel from Linux 5.8 or later (text_offset 0)")
    # Pad: the segment starts on the 2 MiB boundary, the Image text_offset bytes into it.
    scratch.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch.with_name(scratch.name + ".tmp")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(bytes(text_offset))
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    tmp.replace(scratch)
    return KernelImage(Source(str(scratch), 0, text_offset + size), text_offset + memsz, text_offset, ALIGN,
                       head, desc + f" (padded by 0x{text_offset:x})")
