"""x86 bzImage kernels, read from the setup header of the Linux x86 boot protocol.

A bzImage is a real-mode part (the boot sector plus ``setup_sects`` sectors of setup code)
followed by the protected-mode part, which is what a 64-bit loader places in memory. The
setup header starts at offset 0x1f1 and ends at 0x202 + the byte at 0x201 (the jump at 0x200
skips over it), so its length is given by the image itself. Fields used here (little-endian):

    0x1f1 setup_sects  u8   sectors of setup code after the boot sector; 0 means 4
    0x202 header       4s   "HdrS"
    0x206 version      u16  boot protocol version; 2.12 added xloadflags (64-bit entry)
    0x230 kernel_alignment   u32  required alignment of the protected-mode part
    0x234 relocatable_kernel u8   may be loaded at another address than pref_address
    0x236 xloadflags   u16  bit 0 XLF_KERNEL_64: has the 64-bit entry at +0x200
    0x238 cmdline_size u32  longest command line, without the terminating NUL
    0x258 pref_address u64  preferred load address
    0x260 init_size    u32  bytes the kernel needs from its load address while it boots

The 64-bit entry point is the protected-mode part's start + 0x200.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from . import KernelFormatError, KernelImage, Source

HDR_START = 0x1F1
HDR_MAGIC_OFF = 0x202
MAGIC = b"HdrS"
MIN_VERSION = 0x020C          # 2.12: xloadflags, 64-bit entry
XLF_KERNEL_64 = 1 << 0
ENTRY_64 = 0x200
SECTOR = 512
# The header must reach init_size (0x260..0x264) for the fields we read.
MIN_HEADER_END = 0x264


@dataclass(frozen=True)
class SetupHeader:
    setup_sects: int
    version: int
    loadflags: int
    kernel_alignment: int
    relocatable: bool
    xloadflags: int
    cmdline_size: int
    pref_address: int
    init_size: int
    header_end: int               # 0x202 + byte[0x201]
    raw: bytes                    # bytes 0x1f1 .. header_end, as in the file

    @property
    def setup_size(self) -> int:
        """Size of the real-mode part (boot sector + setup sectors)."""
        return (self.setup_sects + 1) * SECTOR


@dataclass(frozen=True)
class BzImage(KernelImage):
    """A KernelImage that also carries the parsed setup header (for boot_params)."""

    header: SetupHeader | None = None


def parse_header(data: bytes, source: str) -> SetupHeader:
    """Parse the setup header from the first bytes of a file (at least 0x264 of them)."""
    if len(data) < HDR_MAGIC_OFF + 4 or data[HDR_MAGIC_OFF:HDR_MAGIC_OFF + 4] != MAGIC:
        raise KernelFormatError(source, "not a bzImage: no \"HdrS\" setup header magic at offset 0x202",
                                "give an x86 bzImage (e.g. /boot/vmlinuz-*), not a vmlinux ELF or a compressed file")
    version = struct.unpack_from("<H", data, 0x206)[0]
    if version < MIN_VERSION:
        raise KernelFormatError(source, f"boot protocol {version >> 8}.{version & 0xff} is too old; "
                                "2.12 or later is needed for the 64-bit entry",
                                "use a kernel from Linux 3.8 or later")
    header_end = 0x202 + data[0x201]
    if header_end < MIN_HEADER_END:
        raise KernelFormatError(source, f"setup header ends at 0x{header_end:x}, too short for boot protocol "
                                f"{version >> 8}.{version & 0xff}")
    if len(data) < header_end:
        raise KernelFormatError(source, "truncated: file ends inside the setup header")
    setup_sects = data[HDR_START] or 4
    xloadflags = struct.unpack_from("<H", data, 0x236)[0]
    if not xloadflags & XLF_KERNEL_64:
        raise KernelFormatError(source, "not 64-bit capable: xloadflags lacks XLF_KERNEL_64 (no 64-bit entry point)",
                                "use a kernel built for x86_64")
    return SetupHeader(
        setup_sects=setup_sects,
        version=version,
        loadflags=data[0x211],
        kernel_alignment=struct.unpack_from("<I", data, 0x230)[0],
        relocatable=bool(data[0x234]),
        xloadflags=xloadflags,
        cmdline_size=struct.unpack_from("<I", data, 0x238)[0],
        pref_address=struct.unpack_from("<Q", data, 0x258)[0],
        init_size=struct.unpack_from("<I", data, 0x260)[0],
        header_end=header_end,
        raw=bytes(data[HDR_START:header_end]),
    )


def read_header(path: Path | str, source: str | None = None) -> SetupHeader:
    label = source or str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(0x1000)
    except OSError as exc:
        raise KernelFormatError(label, f"cannot open: {exc.strerror}") from None
    return parse_header(data, label)


def load(path: Path, source: str) -> BzImage:
    """Check a bzImage and describe its protected-mode part as the kernel segment."""
    hdr = read_header(path, source)
    size = Path(path).stat().st_size
    payload = size - hdr.setup_size
    if payload <= ENTRY_64:
        raise KernelFormatError(source, f"truncated: {size} bytes, the real-mode part alone is "
                                f"{hdr.setup_size} bytes (setup_sects={hdr.setup_sects}) and the 64-bit "
                                "entry is 0x200 bytes into the rest")
    align = hdr.kernel_alignment
    if align == 0 or align & (align - 1):
        raise KernelFormatError(source, f"kernel_alignment 0x{align:x} is not a power of two")
    if hdr.cmdline_size == 0:
        raise KernelFormatError(source, "cmdline_size is 0")
    return BzImage(
        source=Source(str(path), hdr.setup_size, payload),
        memsz=max(hdr.init_size, payload),
        entry_offset=ENTRY_64,
        align=align,
        head=hdr.raw,
        description=(f"bzImage protocol {hdr.version >> 8}.{hdr.version & 0xff}, {payload} bytes, "
                     f"init_size 0x{hdr.init_size:x}, pref 0x{hdr.pref_address:x}, align 0x{align:x}"
                     + ("" if hdr.relocatable else ", not relocatable")),
        header=hdr,
        min_address=hdr.pref_address,
    )
