"""The arm64 Image parser: the built payload parses; bad files fail with clear messages."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from toolchain.arches import get
from toolchain.kernels import KernelFormatError, arm64image

ARCH = get("arm64")


def image(text_offset: int = 0, image_size: int = 0x10000, flags: int = 0x2, magic: bytes = b"ARM\x64",
          body: int = 0x1000) -> bytes:
    head = struct.pack("<IIQQQQQQ4sI", 0x14000010, 0, text_offset, image_size, flags, 0, 0, 0, magic, 0)
    assert len(head) == 64
    return head + bytes(range(256)) * (body // 256)


def write(tmp_path: Path, data: bytes, name: str = "Image") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_built_payload_parses(tmp_path: Path) -> None:
    from payloads.build import build_payload

    p = build_payload(ARCH, tmp_path)
    k = ARCH.load_kernel(p, "payload")
    assert k.entry_offset == 0 and k.align == 2 << 20
    assert k.source.offset == 0 and k.source.size == p.stat().st_size
    _, image_size, flags = struct.unpack_from("<QQQ", p.read_bytes(), 8)
    assert k.memsz == image_size > k.source.size
    assert flags == 0x2 and "4K pages" in k.description


def test_memsz_is_at_least_the_file(tmp_path: Path) -> None:
    k = arm64image.load(write(tmp_path, image(image_size=0x100)), "img")
    assert k.memsz == k.source.size == 64 + 0x1000


@pytest.mark.parametrize("data, words", [
    (image(magic=b"ARM\x00"), "not an arm64 Image"),
    (b"\x7fELF" + bytes(100), "not an arm64 Image"),
    (b"MZ" + bytes(100), "not an arm64 Image"),
    (gzip.compress(image()), "gzip"),
    (image()[:40], "truncated"),
    (image(flags=0x3), "big-endian"),
    (image(image_size=0), "image_size 0"),
    (image(text_offset=0x123), "text_offset"),
])
def test_bad_images(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(KernelFormatError) as exc:
        ARCH.load_kernel(write(tmp_path, data), "Image")
    assert words in str(exc.value)
    assert str(exc.value).startswith("Image: ")


def test_not_an_image_hint_mentions_debian(tmp_path: Path) -> None:
    with pytest.raises(KernelFormatError) as exc:
        ARCH.load_kernel(write(tmp_path, image(magic=b"XXXX")), "Image")
    assert "vmlinuz" in exc.value.hint and "decompress" in exc.value.hint


def test_text_offset_padded_through_scratch(tmp_path: Path) -> None:
    data = image(text_offset=0x80000, image_size=0x20000)
    src = write(tmp_path, data)
    with pytest.raises(KernelFormatError, match="scratch"):
        arm64image.load(src, "Image")
    scratch = tmp_path / "kernel.flat"
    k = arm64image.load(src, "Image", scratch)
    assert k.entry_offset == 0x80000 and k.align == 2 << 20
    assert k.memsz == 0x80000 + 0x20000
    padded = k.source.read()
    assert padded[:0x80000] == bytes(0x80000) and padded[0x80000:] == data


def test_text_offset_through_layout(tmp_path: Path) -> None:
    from toolchain import layout, recipe

    src = write(tmp_path, image(text_offset=0x80000, image_size=0x300000))
    plan = layout.make_plan(recipe.load("arm64-fast", {"kernel": str(src)}), tmp_path / "out")
    kseg = next(s for s in plan.segments if s.name == "kernel")
    assert kseg.mem % (2 << 20) == 0
    assert plan.kernel_entry == kseg.mem + 0x80000
    assert kseg.memsz == 0x380000
