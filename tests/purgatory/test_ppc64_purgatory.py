"""ppc64le purgatory: the real image's layout, and its C code run under qemu-ppc64le-static.

The user-mode runs use the test link (see ppc64_harness): the same compiled objects as the
real image, with console/hand-off/halt replaced by write/exit system calls. Values are
written with toolchain.patch.patch_symbols, as the real pipeline does.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ppc64_harness as h
from conftest import PPC64_BASE
from toolchain import elfimage
from toolchain.patch import patch_symbols

KX_SIZES = {
    "kx_verify": 4,
    "kx_console": 4,
    "kx_regions": 256,
    "kx_digest": 32,
    "kx_kernel_entry": 8,
    "kx_dtb": 8,
    "kx_kernel_head": 0xFC,
}
ENTRY = 0x4000000
CPU = 0x13


# --- the real image -----------------------------------------------------------------------

def test_real_image_layout(ppc64_purgatory: Path) -> None:
    img = elfimage.read(ppc64_purgatory)
    assert img.vaddr == img.paddr == PPC64_BASE
    assert img.entry == PPC64_BASE
    for name, size in KX_SIZES.items():
        sym = img.symbols[name]
        assert sym.size == size, name
        assert sym.binding == "STB_GLOBAL", name
        assert sym.section_type == "SHT_PROGBITS", name
    assert img.symbols["kx_kernel_head"].value == PPC64_BASE + 4
    assert set(h.ARCH.handoff_symbols) <= set(KX_SIZES)
    with open(ppc64_purgatory, "rb") as f:
        elf = ELFFile(f)
        head = elf.get_section_by_name(".head")
        assert head["sh_addr"] == PPC64_BASE and head["sh_size"] == 0x100
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert len(loads) == 1 and loads[0]["p_flags"] == 7
        assert elf.get_section_by_name(".rela.dyn") is None
        assert elf.get_section_by_name(".dynamic") is None
    # word 0 is "b kx_entry" (I-form, opcode 18, relative, no link)
    word = int.from_bytes(img.data[0:4], "little")
    assert word >> 26 == 18 and word & 3 == 0
    assert PPC64_BASE + (word & 0x03FFFFFC) == img.symbols["kx_entry"].value
    # code, data and stack are on separate 4 KiB pages
    data_start = min(img.symbols[n].value for n in ("kx_verify", "kx_regions", "kx_dtb"))
    assert data_start % 4096 == 0
    assert img.symbols["kx_stack_top"].value - img.symbols["kx_stack_bottom"].value >= 0x4000
    assert img.symbols["kx_stack_bottom"].value % 4096 == 0


def test_patch_kernel_head_with_payload(ppc64_purgatory: Path, ppc64_payload: Path,
                                        tmp_path: Path) -> None:
    payload = elfimage.read(ppc64_payload).data
    values = {"kx_kernel_head": payload[4:0x100], "kx_kernel_entry": h.u64(0x1000000),
              "kx_dtb": h.u64(0x2000000), "kx_verify": h.u32(0), "kx_console": h.u32(0)}
    out = tmp_path / "patched.elf"
    patch_symbols(ppc64_purgatory, out, values)
    before, after = elfimage.read(ppc64_purgatory), elfimage.read(out)
    assert after.data[:4] == before.data[:4]                  # our branch survives
    assert after.data[4:0x100] == payload[4:0x100]            # the kernel's bytes 4..0x100
    assert after.data[0x60:0x6C] == payload[0x60:0x6C]        # its secondary hold loop


# --- user-mode runs -------------------------------------------------------------------------

def _good_case(t: h.TestImage, pieces: list[tuple[int, bytes]]) -> dict[str, bytes]:
    """Place ``pieces`` (buffer offset, bytes) and describe them as regions in list order."""
    buf = bytearray(t.buf_size)
    for off, data in pieces:
        buf[off:off + len(data)] = data
    digest = hashlib.sha256(b"".join(d for _, d in pieces)).digest()
    return {
        "kx_test_buf": bytes(buf),
        "kx_regions": h.regions([(t.buf + off, len(d)) for off, d in pieces]),
        "kx_digest": digest,
        "kx_dtb": h.u64(t.dt),
        "kx_test_dt": h.dt_header(cpu=0),
        "kx_kernel_entry": h.u64(ENTRY),
        "kx_test_cpu": h.u32(CPU),
        "kx_verify": h.u32(1),
        "kx_console": h.u32(1),
    }


FOUR_PIECES = [(0, bytes(range(200))), (1024, b"kernel" * 100), (4000, b"\xff" * 64), (300, b"x")]


def test_good_digest_reaches_handoff(ppc64_test_image: h.TestImage, tmp_path: Path) -> None:
    t = ppc64_test_image
    r = t.run(tmp_path, _good_case(t, FOUR_PIECES))
    total = sum(len(d) for _, d in FOUR_PIECES)
    assert r.rc == 0, r.out
    assert f"kx: verified {total} bytes\n" in r.out
    assert r.handoff == {"r3": t.dt, "r4": ENTRY, "r5": 0, "cpu": CPU}


def test_good_digest_quiet_console(ppc64_test_image: h.TestImage, tmp_path: Path) -> None:
    t = ppc64_test_image
    values = _good_case(t, FOUR_PIECES) | {"kx_console": h.u32(0)}
    r = t.run(tmp_path, values)
    assert r.rc == 0
    assert "kx:" not in r.out
    assert r.handoff["cpu"] == CPU


@pytest.mark.parametrize("region", range(len(FOUR_PIECES)))
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_byte_halts(ppc64_test_image: h.TestImage, tmp_path: Path,
                            region: int, where: str) -> None:
    t = ppc64_test_image
    values = _good_case(t, FOUR_PIECES)
    off, data = FOUR_PIECES[region]
    i = off + {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]
    buf = bytearray(values["kx_test_buf"])
    buf[i] ^= 0x01
    values["kx_test_buf"] = bytes(buf)
    r = t.run(tmp_path, values)
    assert r.rc == 3
    assert r.handoff is None
    assert "kx: digest mismatch" in r.out


def test_flipped_byte_quiet(ppc64_test_image: h.TestImage, tmp_path: Path) -> None:
    t = ppc64_test_image
    values = _good_case(t, FOUR_PIECES) | {"kx_console": h.u32(0)}
    values["kx_digest"] = bytes([values["kx_digest"][0] ^ 0x80]) + values["kx_digest"][1:]
    r = t.run(tmp_path, values)
    assert r.rc == 3 and r.out == ""


def test_verify_off_skips_hash(ppc64_test_image: h.TestImage, tmp_path: Path) -> None:
    t = ppc64_test_image
    values = _good_case(t, FOUR_PIECES) | {"kx_verify": h.u32(0), "kx_digest": bytes(32)}
    r = t.run(tmp_path, values)
    assert r.rc == 0
    assert "verified" not in r.out and "mismatch" not in r.out
    assert r.handoff == {"r3": t.dt, "r4": ENTRY, "r5": 0, "cpu": CPU}


def test_unpatched_defaults_halt(ppc64_test_image: h.TestImage, tmp_path: Path) -> None:
    """Defaults (verify on, no regions, zero digest) refuse to jump."""
    r = ppc64_test_image.run(tmp_path, {})
    assert r.rc == 3 and "digest mismatch" in r.out


@pytest.mark.parametrize("version,written", [(1, False), (2, True), (16, True), (17, True)])
def test_boot_cpu_needs_dt_version_2(ppc64_test_image: h.TestImage, tmp_path: Path,
                                     version: int, written: bool) -> None:
    t = ppc64_test_image
    values = _good_case(t, FOUR_PIECES) | {"kx_test_dt": h.dt_header(version, cpu=0x99)}
    r = t.run(tmp_path, values)
    assert r.rc == 0
    assert r.handoff["cpu"] == (CPU if written else 0x99)


def test_no_dt_no_write(ppc64_test_image: h.TestImage, tmp_path: Path) -> None:
    t = ppc64_test_image
    bad = bytearray(h.dt_header(cpu=0x99))
    bad[0] ^= 0xFF
    values = _good_case(t, FOUR_PIECES) | {"kx_test_dt": bytes(bad)}
    r = t.run(tmp_path, values)
    assert r.rc == 0 and r.handoff["cpu"] is None
    assert t.run(tmp_path, _good_case(t, FOUR_PIECES) | {"kx_dtb": h.u64(0)}).handoff["r3"] == 0


@st.composite
def split_cases(draw: st.DrawFn) -> tuple[bytes, list[int], list[int], int]:
    """Data of 0..1000 bytes cut into 1..16 table entries (some may be empty), each piece
    placed at a shuffled, gapped spot of the buffer."""
    data = draw(st.binary(min_size=0, max_size=1000))
    n = draw(st.integers(1, 16))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), min_size=n - 1, max_size=n - 1)))
    order = draw(st.permutations(list(range(n))))
    seed = draw(st.integers(0, 2**32 - 1))
    return data, cuts, order, seed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=split_cases())
def test_sha256_matches_hashlib(ppc64_test_image: h.TestImage, tmp_path: Path,
                                case: tuple[bytes, list[int], list[int], int]) -> None:
    t = ppc64_test_image
    data, cuts, order, seed = case
    bounds = [0, *cuts, len(data)]
    pieces = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    # lay the pieces out in the buffer in a shuffled order with random gaps
    rng = random.Random(seed)
    offsets = [0] * len(pieces)
    pos = 0
    for i in order:
        pos += rng.randrange(0, 64)
        offsets[i] = pos
        pos += len(pieces[i])
    assert pos <= t.buf_size
    values = _good_case(t, list(zip(offsets, pieces)))
    assert values["kx_digest"] == hashlib.sha256(data).digest()
    r = t.run(tmp_path, values)
    assert r.rc == 0, r.out
    assert f"kx: verified {len(data)} bytes\n" in r.out
