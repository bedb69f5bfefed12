"""LIEF patching of the linked purgatory, checked by pyelftools."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from toolchain import elfimage, patch
from toolchain.patch import PatchError


def test_patch_writes_exactly_the_symbols(ppc64le_purgatory: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.elf"
    values = {"kx_verify": b"\0\0\0\0", "kx_digest": bytes(range(32)), "kx_kernel_head": b"\xab" * 0xFC,
              "kx_dtb": (0x1234_0000).to_bytes(8, "little")}
    patch.patch_symbols(ppc64le_purgatory, out, values)
    before, after = elfimage.read(ppc64le_purgatory), elfimage.read(out)
    changed = [i for i, (a, b) in enumerate(zip(before.data, after.data)) if a != b]
    assert changed, "nothing changed"
    for name, value in values.items():
        off = after.offset_of(after.symbols[name].value)
        assert after.data[off:off + len(value)] == value
    allowed = set()
    for name, value in values.items():
        off = after.offset_of(after.symbols[name].value)
        allowed |= set(range(off, off + len(value)))
    assert set(changed) <= allowed


@pytest.mark.parametrize("name,value,text", [
    ("kx_no_such_symbol", b"\0" * 4, "missing from the purgatory"),
    ("kx_verify", b"\0" * 8, "has size 4, the value to write has 8 bytes"),
    ("kx_digest", b"\0" * 31, "has size 32"),
    ("kx_stack_top", b"", "must be PROGBITS"),
    ("kx_put_hex.digits", b"\0" * 17, "must be GLOBAL"),
])
def test_patch_refuses_bad_symbols(ppc64le_purgatory: Path, tmp_path: Path, name: str, value: bytes, text: str) -> None:
    out = tmp_path / "p.elf"
    with pytest.raises(PatchError) as exc:
        patch.patch_symbols(ppc64le_purgatory, out, {name: value})
    assert text in str(exc.value) and exc.value.symbol == name
    assert not out.exists(), "a failed patch must not leave an output"


def test_verify_patch_catches_stray_changes(ppc64le_purgatory: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.elf"
    patch.patch_symbols(ppc64le_purgatory, out, {"kx_verify": b"\0" * 4})
    img = elfimage.read(out)
    # Flip a code byte in the file behind LIEF's back: the independent check must notice.
    tampered = tmp_path / "t.elf"
    shutil.copy(out, tampered)
    from elftools.elf.elffile import ELFFile

    with open(tampered, "rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD")
        file_off = seg["p_offset"] + 0x120
    raw = bytearray(tampered.read_bytes())
    raw[file_off] ^= 0xFF
    tampered.write_bytes(raw)
    with pytest.raises(PatchError) as exc:
        patch.verify_patch(ppc64le_purgatory, tampered, {"kx_verify": b"\0" * 4})
    assert f"0x{img.vaddr + 0x120:x} changed outside every patched symbol" in str(exc.value)
