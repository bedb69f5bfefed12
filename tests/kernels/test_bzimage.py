"""bzImage setup-header parsing: the built test payload and synthetic good and bad images."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from toolchain import arches
from toolchain.kernels import KernelFormatError, bzimage

ARCH = arches.get("x86_64")


def synth(setup_sects: int = 2, version: int = 0x020F, xlf: int = 1, magic: bytes = b"HdrS",
          pm_size: int = 0x3000, init_size: int = 0x800000, align: int = 0x200000,
          header_len: int = 0x6A, relocatable: int = 1) -> bytes:
    real = (setup_sects or 4) + 1
    b = bytearray(real * 512 + pm_size)
    b[0x1F1] = setup_sects
    b[0x1EF] = 0x5A                      # a sentinel-like byte outside the header
    b[0x1FE:0x200] = b"\x55\xaa"
    b[0x200] = 0xEB
    b[0x201] = header_len
    b[0x202:0x206] = magic
    struct.pack_into("<H", b, 0x206, version)
    struct.pack_into("<I", b, 0x230, align)
    b[0x234] = relocatable
    struct.pack_into("<H", b, 0x236, xlf)
    struct.pack_into("<I", b, 0x238, 2047)
    struct.pack_into("<Q", b, 0x258, 0x1000000)
    struct.pack_into("<I", b, 0x260, init_size)
    b[real * 512:real * 512 + 4] = b"PM!!"
    return bytes(b)


def write(tmp_path: Path, data: bytes, name: str = "bzImage") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_synthetic_image(tmp_path: Path) -> None:
    p = write(tmp_path, synth())
    k = ARCH.load_kernel(p, "synthetic")
    assert k.source.offset == 3 * 512 and k.source.size == 0x3000
    assert k.source.read()[:4] == b"PM!!"
    assert k.memsz == 0x800000 and k.align == 0x200000 and k.entry_offset == 0x200
    assert k.head == p.read_bytes()[0x1F1:0x202 + 0x6A]
    assert isinstance(k, bzimage.BzImage) and k.header is not None
    assert k.header.pref_address == 0x1000000 and k.header.cmdline_size == 2047
    assert k.header.relocatable


def test_setup_sects_zero_means_four(tmp_path: Path) -> None:
    k = ARCH.load_kernel(write(tmp_path, synth(setup_sects=0)), "s0")
    assert k.source.offset == 5 * 512


def test_memsz_covers_file_when_init_size_small(tmp_path: Path) -> None:
    k = ARCH.load_kernel(write(tmp_path, synth(init_size=0x1000, pm_size=0x5000)), "small")
    assert k.memsz == 0x5000


@pytest.mark.parametrize("kwargs,needle", [
    ({"magic": b"HdrX"}, "not a bzImage"),
    ({"version": 0x020B}, "too old"),
    ({"version": 0x0204}, "too old"),
    ({"xlf": 0}, "not 64-bit capable"),
    ({"header_len": 0x20}, "too short"),
    ({"align": 0x3000}, "power of two"),
])
def test_bad_images(tmp_path: Path, kwargs: dict, needle: str) -> None:
    with pytest.raises(KernelFormatError, match=needle):
        ARCH.load_kernel(write(tmp_path, synth(**kwargs)), "bad")


def test_truncated(tmp_path: Path) -> None:
    with pytest.raises(KernelFormatError, match="truncated"):
        ARCH.load_kernel(write(tmp_path, synth()[:0x240]), "cut")
    with pytest.raises(KernelFormatError, match="truncated"):
        ARCH.load_kernel(write(tmp_path, synth(pm_size=0x100)), "short")


def test_elf_and_garbage_rejected(tmp_path: Path) -> None:
    with pytest.raises(KernelFormatError, match="ELF"):
        ARCH.load_kernel(write(tmp_path, b"\x7fELF" + bytes(4000)), "vmlinux")
    with pytest.raises(KernelFormatError, match="not a bzImage"):
        ARCH.load_kernel(write(tmp_path, b"\x1f\x8b" + bytes(100)), "gz")
    with pytest.raises(KernelFormatError, match="cannot open"):
        ARCH.load_kernel(tmp_path / "missing", "missing")


def test_built_payload(tmp_path: Path) -> None:
    from payloads.build import build_payload

    p = build_payload(ARCH, tmp_path)
    k = ARCH.load_kernel(p, "payload")
    assert k.header.version == 0x020F and k.header.xloadflags & 1
    assert k.header.relocatable and k.align == 0x200000 and k.header.pref_address == 0x1000000
    assert k.source.offset == (k.header.setup_sects + 1) * 512
    assert k.memsz >= k.source.size and k.memsz % 0x1000 == 0
    # The 64-bit entry starts with cli; cld.
    assert k.source.read()[0x200:0x202] == b"\xfa\xfc"
    # Position-independent: relinked elsewhere, the same protected-mode bytes.
    other = build_payload(ARCH, tmp_path / "rebased", base=0x1234000)
    assert ARCH.load_kernel(other, "rebased").source.read() == k.source.read()
