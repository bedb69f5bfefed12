"""Experimental MMU-on hashing (``purgatory.mmu = true``) under qemu-system-aarch64, no Linux.

The bundle's segments are put in place by QEMU's generic loader and the cpu starts at the
purgatory entry (the harness of docs/arm64.md), at EL1 (``-M virt``) and at EL2
(``-M virt,virtualization=on``), and at EL2 with HCR_EL2.E2H = 1 (VHE, ``-cpu max``) through
a 3-instruction shim. Each run takes about a second. QEMU models no caches: these runs show
the translation tables, register layouts and the MMU-off hand-off work, not that the cache
maintenance is complete (see purgatory/arm64/mmu.S).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import unicorn_arm64 as u

QEMU = "qemu-system-aarch64"
SHIM = 0x40100000        # VHE shim: free RAM below the segments (QEMU's DTB sits at 0x40000000)

pytestmark = pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"{QEMU} not installed")


@pytest.fixture(scope="module")
def arm64_payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from payloads.build import build_payload

    return build_payload(u.ARCH, tmp_path_factory.mktemp("arm64-mmu-payload"))


def _recipe(tmp: Path, **purgatory: object) -> Path:
    base = Path(__file__).resolve().parents[2] / "recipes" / "arm64-verified.json"
    path = tmp / "arm64-mmu.json"
    path.write_text(json.dumps({"extends": str(base), "purgatory": {"mmu": True, **purgatory}}))
    return path


@pytest.fixture(scope="module")
def mmu(tmp_path_factory: pytest.TempPathFactory, arm64_payload: Path) -> u.Built:
    tmp = tmp_path_factory.mktemp("arm64-mmu")
    return u.build_bundle(str(_recipe(tmp)), tmp / "out", arm64_payload)


def _vhe_shim(path: Path, entry: int) -> Path:
    """msr hcr_el2, (1 << 34 | 1 << 31); isb; branch to the purgatory entry (absolute)."""
    words = [
        0xD2A00000 | (0x8000 << 5) | 9,          # movz x9, #0x8000, lsl #16   (RW, bit 31)
        0xF2C00000 | (0x0004 << 5) | 9,          # movk x9, #0x4, lsl #32      (E2H, bit 34)
        0xD51C1109,                              # msr hcr_el2, x9
        0xD5033FDF,                              # isb
        0x5800004A,                              # ldr x10, #8
        0xD61F0140,                              # br x10
    ]
    blob = b"".join(w.to_bytes(4, "little") for w in words) + entry.to_bytes(8, "little")
    path.write_bytes(blob)
    return path


def run_qemu(b: u.Built, el2: bool, cpu: str = "cortex-a57", replace: dict[str, Path] | None = None,
             vhe: bool = False, timeout: float = 30) -> str:
    replace = replace or {}
    args = [QEMU, "-M", "virt,virtualization=on" if el2 else "virt", "-cpu", cpu, "-m", "1G",
            "-nographic", "-monitor", "none", "-serial", "stdio", "-no-reboot"]
    for s in b.plan.segments:
        src = replace.get(s.name)
        if src is None:
            assert s.source.offset == 0
            src = Path(s.source.path)
        args += ["-device", f"loader,file={src},addr=0x{s.mem:x},force-raw=on"]
    if vhe:
        shim = _vhe_shim(b.elf.with_name("vhe-shim.bin"), b.symbols["kx_entry"])
        args += ["-device", f"loader,file={b.elf},force-raw=off",
                 "-device", f"loader,file={shim},addr=0x{SHIM:x},force-raw=on",
                 "-device", f"loader,addr=0x{SHIM:x},cpu-num=0"]
    else:
        args += ["-device", f"loader,file={b.elf},cpu-num=0"]
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as exc:   # a digest mismatch spins: QEMU never exits
        return (exc.stdout or b"").decode(errors="replace")


def test_plan_has_tables_and_flag(mmu: u.Built) -> None:
    seg = next(s for s in mmu.plan.segments if s.name == "mmu_tables")
    assert seg.verified and any(r[0] == seg.mem for r in mmu.plan.regions)
    assert mmu.plan.handoff["kx_mmu"] == "01000000"
    assert int.from_bytes(bytes.fromhex(mmu.plan.handoff["kx_mmu_ttbr_el1"]), "little") == seg.mem


@pytest.mark.parametrize("el2", [False, True], ids=["EL1", "EL2"])
def test_mmu_on_boots_payload(mmu: u.Built, el2: bool) -> None:
    out = run_qemu(mmu, el2)
    el = 2 if el2 else 1
    hashed = sum(n for _, n in mmu.plan.regions)
    assert f"kx: mmu on el={el}\n" in out, out
    assert f"kx: verified {hashed} bytes\n" in out, out
    assert f"KXPAYLOAD x0=0x{mmu.plan.dtb_addr:x} x1=0x0 x2=0x0 x3=0x0 el={el}" in out, out
    assert "KXPAYLOAD bootargs=console=ttyAMA0 earlycon=pl011,0x9000000 kx.recipe=arm64-verified" in out, out
    assert "KXPAYLOAD done" in out, out
    assert out.index("kx: mmu on") < out.index("kx: verified") < out.index("KXPAYLOAD")


def test_mmu_on_vhe(mmu: u.Built) -> None:
    """EL2 with HCR_EL2.E2H = 1: TCR_EL2 in the EL1 layout, EL1-format tree via TTBR0_EL2."""
    out = run_qemu(mmu, True, cpu="max", vhe=True)
    assert "kx: mmu on el=2\n" in out, out
    assert "kx: verified" in out and "el=2" in out and "KXPAYLOAD done" in out, out


@pytest.mark.parametrize("which", ["kernel", "dtb", "mmu_tables"])
@pytest.mark.parametrize("el2", [False, True], ids=["EL1", "EL2"])
def test_tampered_segment_halts(mmu: u.Built, tmp_path: Path, which: str, el2: bool) -> None:
    seg = next(s for s in mmu.plan.segments if s.name == which)
    data = bytearray(Path(seg.source.path).read_bytes())
    # the tables: flip a byte of an unused (Device, never accessed) 1 GiB entry's address bits
    pos = {"kernel": len(data) // 2, "dtb": 0x40, "mmu_tables": 8 * 300 + 4}[which]
    data[pos] ^= 0x01
    bad = tmp_path / f"{which}.bad"
    bad.write_bytes(bytes(data))
    out = run_qemu(mmu, el2, replace={which: bad}, timeout=5)
    assert "kx: mmu on" in out, out
    assert "kx: digest mismatch" in out, out
    assert "KXPAYLOAD" not in out, out


def test_mmu_off_default_unchanged(arm64_payload: Path, tmp_path: Path) -> None:
    b = u.build_bundle("arm64-verified", tmp_path / "out", arm64_payload)
    assert b.plan.handoff["kx_mmu"] == "00000000"
    assert not any(s.name == "mmu_tables" for s in b.plan.segments)
    out = run_qemu(b, True)
    assert "kx: mmu" not in out and "kx: verified" in out and "KXPAYLOAD done" in out, out


def _count_to_kernel(b: u.Built, elf: Path, log: Path) -> tuple[int, str]:
    """Instructions executed from the purgatory entry to the kernel entry (-singlestep trace)."""
    args = [QEMU, "-M", "virt", "-cpu", "cortex-a57", "-m", "1G", "-nographic", "-monitor", "none",
            "-serial", "stdio", "-singlestep", "-d", "exec,nochain", "-D", str(log)]
    for s in b.plan.segments:
        args += ["-device", f"loader,file={s.source.path},addr=0x{s.mem:x},force-raw=on"]
    args += ["-device", f"loader,file={elf},cpu-num=0"]
    out = subprocess.run(args, capture_output=True, timeout=120, stdin=subprocess.DEVNULL).stdout.decode()
    n = 0
    with log.open(errors="replace") as f:
        for line in f:
            if line.startswith("Trace"):
                if int(line.split("[", 1)[1].split("/")[1], 16) == b.plan.kernel_entry:
                    return n, out
                n += 1
    raise AssertionError(f"kernel entry never reached:\n{out}")


def test_instruction_counts(mmu: u.Built, tmp_path: Path) -> None:
    """Same bytes hashed with kx_mmu = 1 and 0: the difference is the set-up and the two DC
    passes (4 instructions per cache line each). QEMU has no caches, so this is the cost side
    only; the gain (cacheable hashing) needs hardware."""
    from toolchain.patch import patch_symbols

    off_elf = tmp_path / "purgatory.mmu-off.elf"
    patch_symbols(mmu.elf, off_elf, {"kx_mmu": (0).to_bytes(4, "little")})
    on, on_out = _count_to_kernel(mmu, mmu.elf, tmp_path / "on.log")
    off, off_out = _count_to_kernel(mmu, off_elf, tmp_path / "off.log")
    assert "kx: mmu on el=1" in on_out and "kx: mmu" not in off_out
    hashed = sum(n for _, n in mmu.plan.regions)
    lines = (mmu.symbols["kx_image_end"] - mmu.symbols["kx_image_start"] + hashed) // 64
    print(f"\nMMU on {on} instructions, off {off} (+{on - off}; {lines} cache lines x 2 passes)")
    assert 0 < on - off < 8 * lines + 2000
