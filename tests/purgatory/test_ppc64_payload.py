"""ppc64le test payload: position independence, the endian switch, and a boot under SLOF."""
from __future__ import annotations

import re
import shutil
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

import ppc64_harness as h
from toolchain import elfimage
from toolchain.build import compile_command, run


def test_payload_layout(ppc64_payload: Path) -> None:
    img = elfimage.read(ppc64_payload)
    assert img.vaddr == 0 and img.entry == 0
    with open(ppc64_payload, "rb") as f:
        loads = [s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD"]
    assert len(loads) == 1


def test_payload_is_position_independent(ppc64_payload: Path, tmp_path: Path) -> None:
    """Relinked 64 KiB higher, the loadable bytes are the same: no absolute address is
    baked in. The one exception is the .got header word, which holds the TOC base by ABI
    convention and which the code never reads (r2 is computed from the PC)."""
    from payloads.build import build_payload

    a = elfimage.read(ppc64_payload)
    b = elfimage.read(build_payload(h.ARCH, tmp_path, base=0x10000))
    assert len(a.data) == len(b.data) and a.memsz == b.memsz
    with open(ppc64_payload, "rb") as f:
        got = ELFFile(f).get_section_by_name(".got")
    allowed = set(range(got["sh_addr"], got["sh_addr"] + 8)) if got else set()
    diff = {i for i in range(len(a.data)) if a.data[i] != b.data[i]}
    assert diff <= allowed, [hex(i) for i in sorted(diff - allowed)]


BE_SEQUENCE = """
    mfmsr  11
    ori    11, 11, 1
    li     12, 0
    mtmsrd 12, 1
    bcl    20, 31, .+4
    mflr   12
    addi   12, 12, 0x14
    mtsrr0 12
    mtsrr1 11
    rfid
"""


def _assemble_be(src: str, tmp_path: Path) -> bytes:
    """Assemble with the big-endian ppc64 target of the same compiler."""
    s = tmp_path / "be.S"
    s.write_text("\t.text\n" + src)
    obj = tmp_path / "be.o"
    run(compile_command(h.ARCH, s, obj) + ["-target", "powerpc64-freestanding"], tmp_path / "zc")
    with open(obj, "rb") as f:
        return ELFFile(f).get_section_by_name(".text").data()


def test_endian_switch_encodings(ppc64_payload: Path, tmp_path: Path) -> None:
    """The hand-composed big-endian words equal what a big-endian assembler emits."""
    img = elfimage.read(ppc64_payload).data
    assert img[0x08:0x30] == _assemble_be(BE_SEQUENCE, tmp_path)
    assert img[0x00:0x04] == _assemble_be("b .+8\n", tmp_path)
    assert img[0x60:0x64] == _assemble_be("b .+8\n", tmp_path)
    assert img[0x68:0x6C] == _assemble_be("b .\n", tmp_path)
    # Little-endian view of word 0 (and 0x60): tdi with TO = 0, which never traps.
    w = int.from_bytes(img[0:4], "little")
    assert w >> 26 == 2 and (w >> 21) & 31 == 0
    # 0x64 is a little-endian "b ." and 0x04 a little-endian branch.
    assert int.from_bytes(img[0x64:0x68], "little") == 0x48000000
    assert int.from_bytes(img[0x04:0x08], "little") >> 26 == 18


LINE1 = re.compile(r"KXPAYLOAD r3=(0x[0-9a-f]+) r4=(0x[0-9a-f]+) r5=(0x[0-9a-f]+) "
                   r"cpu=(\d+|none) endian=(be|le)")


def _boot(args: list[str], timeout: float = 120) -> str:
    """Run qemu-system-ppc64 until "KXPAYLOAD done" appears (then kill it) or timeout."""
    cmd = ["timeout", str(int(timeout)), "qemu-system-ppc64", "-M", "pseries", "-cpu", "POWER9",
           "-m", "512M", "-nographic", "-vga", "none", "-no-reboot", "-monitor", "none",
           "-serial", "stdio", *args]
    # Own process group: killing `timeout` alone would leave QEMU running as an orphan.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                break
            out += chunk
            if b"KXPAYLOAD done" in out:
                break
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return out.decode("latin-1")


@pytest.mark.e2e
def test_payload_boots_under_slof(ppc64_payload: Path, tmp_path: Path) -> None:
    """SLOF is not kexec: it loads the ELF itself (QEMU puts it at 0x400000) and enters it
    big-endian with the Open Firmware client convention - r3 = initrd address, r4 = initrd
    size, r5 = client interface entry (non-zero) - and no flattened tree in r3. So here the
    payload must report endian=be (the switch ran), r5 != 0, the initrd in r3/r4, no FDT,
    and still reach "done". Running at 0x400000 while linked at 0 also exercises its
    position independence."""
    if not shutil.which("qemu-system-ppc64"):
        pytest.skip("qemu-system-ppc64 not installed")
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"\xa5" * 3000)
    out = _boot(["-kernel", str(ppc64_payload), "-initrd", str(initrd),
                 "-append", "kx test"])
    assert "KXPAYLOAD done" in out, out[-2000:]
    m = LINE1.search(out)
    assert m, out[-2000:]
    r3, r4, r5 = (int(x, 16) for x in m.groups()[:3])
    assert m[5] == "be"
    assert r5 != 0
    assert r4 == 3000 and r3 != 0
    assert m[4] == "none"
    assert "KXPAYLOAD no-fdt" in out
