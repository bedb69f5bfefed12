"""The real arm64 purgatory (and test payload) executed under unicorn.

The bundles are built by the Python pipeline from recipes/arm64-*.json (see
unicorn_arm64.build_bundle); segments are loaded at their physical addresses and the run
starts at the bundle's entry at EL1 with the MMU off, as after a kexec. Success is the PC
reaching kx_kernel_entry; failure ends in kx_arch_halt (or kx_arch_fault).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unicorn import UC_HOOK_INTR

import unicorn_arm64 as u
from toolchain import fdt as fdtmod
from toolchain.bundle import SegFlag

ENOUGH = 20_000_000          # instructions; a 24 KiB check takes ~1.2 M
FAKE_KERNEL = 0x41000000     # kernel entry used by the hashing tests (nothing runs there)


@pytest.fixture(scope="session")
def arm64_payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from payloads.build import build_payload

    return build_payload(u.ARCH, tmp_path_factory.mktemp("arm64-payload"))


@pytest.fixture(scope="session")
def verified(tmp_path_factory: pytest.TempPathFactory, arm64_payload: Path) -> u.Built:
    return u.build_bundle("arm64-verified", tmp_path_factory.mktemp("arm64-verified"), arm64_payload)


@pytest.fixture(scope="session")
def fast(tmp_path_factory: pytest.TempPathFactory, arm64_payload: Path) -> u.Built:
    return u.build_bundle("arm64-fast", tmp_path_factory.mktemp("arm64-fast"), arm64_payload)


def boot(b: u.Built, count: bool = False, tweak=None) -> u.Result:
    m = u.Machine(b.symbols)
    m.load_bundle(b.bundle)
    if tweak:
        tweak(m)
    return m.run(b.bundle.entry, b.plan.kernel_entry, limit=ENOUGH, count=count)


# --- the image itself -------------------------------------------------------------------

def test_image_layout(verified: u.Built) -> None:
    s = verified.symbols
    base = verified.plan.purgatory_base
    assert verified.bundle.entry == base == s["_start"]
    assert s["kx_vectors"] % 0x800 == 0
    with open(verified.elf, "rb") as f:
        elf = ELFFile(f)
        assert not [sec.name for sec in elf.iter_sections() if isinstance(sec, RelocationSection)]
        assert [p["p_type"] for p in elf.iter_segments()].count("PT_LOAD") == 1
        text = elf.get_section_by_name(".text")
        data = elf.get_section_by_name(".data")
        stack = elf.get_section_by_name(".stack")
        code_end = elf.get_section_by_name(".rodata")["sh_addr"] + elf.get_section_by_name(".rodata")["sh_size"]
        assert text["sh_addr"] == base
        # code/rodata, data and stack on separate 4 KiB pages
        assert data["sh_addr"] % 0x1000 == 0 and data["sh_addr"] >= code_end
        assert stack["sh_addr"] % 0x1000 == 0 and stack["sh_addr"] >= data["sh_addr"] + data["sh_size"]
        for name in ("kx_kernel_entry", "kx_dtb", "kx_uart", "kx_verify", "kx_regions", "kx_digest"):
            assert data["sh_addr"] <= s[name] < data["sh_addr"] + data["sh_size"], name
    assert s["kx_stack_top"] == stack["sh_addr"] + stack["sh_size"]


def test_flags_and_no_absolute_data_relocations(verified: u.Built) -> None:
    assert "-mstrict-align" in u.ARCH.cflags and "-mgeneral-regs-only" in u.ARCH.cflags
    # The link is at the final address, so an absolute address in initialised data would be
    # resolved silently; check the objects: no R_AARCH64_ABS64 (257) outside debug info.
    objs = sorted((verified.elf.parent / "purgatory").glob("*.o"))
    assert objs
    for obj in objs:
        with open(obj, "rb") as f:
            elf = ELFFile(f)
            for sec in elf.iter_sections():
                if isinstance(sec, RelocationSection) and ".debug" not in sec.name:
                    types = {r["r_info_type"] for r in sec.iter_relocations()}
                    assert 257 not in types, f"{obj.name}:{sec.name} has R_AARCH64_ABS64"


# --- the hand-off -----------------------------------------------------------------------

def test_good_digest_reaches_kernel(verified: u.Built) -> None:
    r = boot(verified, count=True)
    assert r.reason == "kernel", r
    assert r.regs["x0"] == verified.plan.dtb_addr
    assert r.regs["x1"] == r.regs["x2"] == r.regs["x3"] == 0
    assert r.regs["vbar_el1"] == verified.symbols["kx_vectors"]
    assert (r.regs["cpacr_el1"] >> 20) & 3 == 3
    assert r.console == f"kx: verified {sum(n for _, n in verified.plan.regions)} bytes\n"


def test_quiet_uart_zero(verified: u.Built) -> None:
    r = boot(verified, tweak=lambda m: m.write(verified.symbols["kx_uart"], u.u64(0)))
    assert r.reason == "kernel" and r.console == ""


def _verified_segments(b: u.Built):
    return [s for s in b.bundle.segments if s.flags & SegFlag.VERIFIED]


@pytest.mark.parametrize("which", ["first", "middle", "last"])
@pytest.mark.parametrize("seg_index", [0, 1])
def test_flipped_byte_halts(verified: u.Built, seg_index: int, which: str) -> None:
    seg = _verified_segments(verified)[seg_index]
    off = {"first": 0, "middle": seg.memsz // 2, "last": seg.memsz - 1}[which]
    addr = seg.mem + off

    def flip(m: u.Machine) -> None:
        m.write(addr, bytes([m.read(addr, 1)[0] ^ 0x01]))

    r = boot(verified, tweak=flip)
    assert r.reason == "halt", (seg.name, which, r)
    assert r.stopped_at == verified.symbols["kx_arch_halt"]
    assert "digest mismatch" in r.console


def test_flipped_byte_quiet(verified: u.Built) -> None:
    seg = _verified_segments(verified)[0]

    def tweak(m: u.Machine) -> None:
        m.write(seg.mem, bytes([m.read(seg.mem, 1)[0] ^ 0x80]))
        m.write(verified.symbols["kx_console"], u.u32(0))

    r = boot(verified, tweak=tweak)
    assert r.reason == "halt" and r.console == ""


def test_verify_none_is_quick(fast: u.Built, verified: u.Built) -> None:
    r = boot(fast, count=True)
    assert r.reason == "kernel" and r.regs["x0"] == fast.plan.dtb_addr
    assert r.console == ""
    assert r.instructions is not None and r.instructions < 1000, r.instructions
    full = boot(verified, count=True)
    assert full.instructions is not None and full.instructions > 100 * r.instructions


# --- SHA-256 against hashlib, regions at odd addresses ---------------------------------

AREA = 0x50000000


def hash_run(b: u.Built, pieces: list[tuple[int, bytes]], digest: bytes) -> u.Result:
    m = u.Machine(b.symbols)
    purg = next(s for s in b.bundle.segments if s.flags & SegFlag.PURGATORY)
    m.write(purg.mem, bytes(purg.data))
    for addr, data in pieces:
        m.write(addr, data)
    s = b.symbols
    m.write(s["kx_verify"], u.u32(1))
    m.write(s["kx_console"], u.u32(1))
    m.write(s["kx_regions"], u.regions_table([(a, len(d)) for a, d in pieces]))
    m.write(s["kx_digest"], digest)
    m.write(s["kx_kernel_entry"], u.u64(FAKE_KERNEL))
    return m.run(purg.mem, FAKE_KERNEL, limit=ENOUGH)


@st.composite
def split_cases(draw: st.DrawFn) -> list[tuple[int, bytes]]:
    data = draw(st.binary(min_size=0, max_size=1500))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=5)))
    pieces, prev = [], 0
    for i, c in enumerate(cuts + [len(data)]):
        start = AREA + i * 0x10000 + draw(st.integers(0, 15))   # any alignment
        pieces.append((start, data[prev:c]))
        prev = c
    return pieces[:16]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split_cases())
def test_sha256_matches_hashlib(verified: u.Built, pieces: list[tuple[int, bytes]]) -> None:
    digest = hashlib.sha256(b"".join(d for _, d in pieces)).digest()
    r = hash_run(verified, pieces, digest)
    assert r.reason == "kernel", (r, pieces)
    assert r.console == f"kx: verified {sum(len(d) for _, d in pieces)} bytes\n"


@pytest.mark.parametrize("misalign", [1, 2, 3, 5, 7])
def test_unaligned_regions(verified: u.Built, misalign: int) -> None:
    data = bytes(range(256)) * 5
    pieces = [(AREA + misalign, data[:333]), (AREA + 0x3000 + 8 - misalign, data[333:])]
    good = hashlib.sha256(data).digest()
    assert hash_run(verified, pieces, good).reason == "kernel"
    bad = bytearray(good)
    bad[31] ^= 1
    r = hash_run(verified, pieces, bytes(bad))
    assert r.reason == "halt" and "digest mismatch" in r.console


def test_unpatched_digest_halts(verified: u.Built) -> None:
    r = hash_run(verified, [], bytes(32))
    assert r.reason == "halt"


# --- the test payload (an arm64 Image) ---------------------------------------------------

def test_payload_reports_entry_and_chosen(arm64_payload: Path) -> None:
    from toolchain.kernels import arm64image

    k = arm64image.load(arm64_payload, "payload")
    assert k.entry_offset == 0 and k.align == 2 << 20
    kernel, dtb = 0x42000000, 0x48000000
    chosen = fdtmod.Chosen("console=ttyAMA0 kx.test=1", (0x44000000, 0x44001234), (), u.ARCH.dtb_drop)
    blob = fdtmod.generate([(u.RAM_BASE, u.RAM_SIZE)], 2, "kx,test", chosen, u.ARCH.generated_cpu_props)
    m = u.Machine({"kx_arch_halt": 0x7ffffff0, "kx_arch_fault": 0x7ffffff8})
    m.write(kernel, arm64_payload.read_bytes())
    m.write(dtb, blob)
    calls = []

    def intr(uc, intno, data):  # hvc #0 (PSCI SYSTEM_OFF) raises an exception
        calls.append((intno, uc.reg_read(u.A.UC_ARM64_REG_X0)))
        uc.emu_stop()

    m.uc.hook_add(UC_HOOK_INTR, intr)
    m.uc.reg_write(u.A.UC_ARM64_REG_X0, dtb)
    m.run(kernel, 0x7fffffe0, limit=2_000_000)
    assert m.out.decode().splitlines() == [
        "KXPAYLOAD x0=0x48000000 x1=0x0 x2=0x0 x3=0x0 el=1",
        "KXPAYLOAD bootargs=console=ttyAMA0 kx.test=1",
        "KXPAYLOAD initrd=0x44000000-0x44001234",
        "KXPAYLOAD done",
    ]
    assert calls and calls[0][1] == 0x84000008
