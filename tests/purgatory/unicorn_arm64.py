"""Run the real arm64 purgatory image under unicorn (no MMU, physical addresses).

``build_bundle`` runs the toolchain pipeline (recipe -> plan -> purgatory build -> patch ->
bundle) in Python, the same steps SCons runs. ``Machine`` maps RAM at its physical address,
a PL011 at 0x09000000 as MMIO (writes to UARTDR are captured, UARTFR reads return 0 = FIFO
never full), loads the segments of a bundle, and runs from its entry until the PC reaches
the kernel entry (success), kx_arch_halt or kx_arch_fault (stopped), or an instruction limit.

Unicorn starts the cpu at EL1 with the MMU off; it does not enforce alignment, so the
strict-alignment property is checked by the compiler flags and by hashing odd addresses.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from unicorn import UC_ARCH_ARM64, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_MODE_ARM, Uc
from unicorn import arm64_const as A

from toolchain import bundle as bundlemod
from toolchain import elfimage, emit, layout, recipe as recipemod
from toolchain.arches import get
from toolchain.build import build_purgatory
from toolchain.patch import patch_symbols

ARCH = get("arm64")
UART = 0x09000000
RAM_BASE = 0x40000000
RAM_SIZE = 0x40000000


@dataclass
class Built:
    bundle: bundlemod.Bundle
    plan: layout.Plan
    elf: Path          # patched purgatory
    symbols: dict[str, int]


def build_bundle(name: str, out: Path, payload: Path, overrides: dict[str, str] | None = None) -> Built:
    r = recipemod.load(name, overrides or {})
    plan = layout.make_plan(r, out, payload)
    elf = build_purgatory(ARCH, plan.purgatory_base, out / "purgatory")
    patched = out / "purgatory.patched.elf"
    patch_symbols(elf, patched, plan.symbol_values())
    emit.emit(plan, patched, out / "bundle.kxb", out / "manifest.json", "test")
    syms = {k: v.value for k, v in elfimage.read(patched).symbols.items()}
    return Built(bundlemod.read(out / "bundle.kxb"), plan, patched, syms)


@dataclass
class Result:
    stopped_at: int
    reason: str            # "kernel", "halt", "fault", "limit"
    console: str
    instructions: int | None
    regs: dict[str, int]


class Machine:
    def __init__(self, symbols: dict[str, int], ram: tuple[int, int] = (RAM_BASE, RAM_SIZE)) -> None:
        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.mem_map(ram[0], ram[1])
        self.out = bytearray()
        self.uc.mmio_map(UART, 0x1000, self._uart_read, None, self._uart_write, None)
        self.symbols = symbols
        self.reason = "limit"
        for name, why in (("kx_arch_halt", "halt"), ("kx_arch_fault", "fault")):
            addr = symbols[name]
            self.uc.hook_add(UC_HOOK_CODE, self._stop(why), begin=addr, end=addr)

    def _uart_read(self, uc: Uc, offset: int, size: int, data: object) -> int:
        return 0

    def _uart_write(self, uc: Uc, offset: int, size: int, value: int, data: object) -> None:
        if offset == 0:
            self.out.append(value & 0xFF)

    def _stop(self, why: str):
        def hook(uc: Uc, address: int, size: int, data: object) -> None:
            self.reason = why
            uc.emu_stop()
        return hook

    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, bytes(data))

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def load_bundle(self, b: bundlemod.Bundle) -> None:
        for seg in b.segments:
            self.write(seg.mem, bytes(seg.data) + bytes(seg.memsz - seg.bufsz))

    def run(self, entry: int, kernel_entry: int, limit: int = 50_000_000, count: bool = False) -> Result:
        executed = [0]
        if count:
            def block(uc: Uc, address: int, size: int, data: object) -> None:
                executed[0] += size // 4
            h = self.uc.hook_add(UC_HOOK_BLOCK, block)
        self.reason = "limit"
        self.uc.emu_start(entry, kernel_entry, count=limit)
        pc = self.uc.reg_read(A.UC_ARM64_REG_PC)
        if self.reason == "limit" and pc == kernel_entry:
            self.reason = "kernel"
        if count:
            self.uc.hook_del(h)
        regs = {f"x{i}": self.uc.reg_read(getattr(A, f"UC_ARM64_REG_X{i}")) for i in range(5)}
        regs["sp"] = self.uc.reg_read(A.UC_ARM64_REG_SP)
        regs["vbar_el1"] = self.uc.reg_read(A.UC_ARM64_REG_VBAR_EL1)
        regs["cpacr_el1"] = self.uc.reg_read(A.UC_ARM64_REG_CPACR_EL1)
        return Result(pc, self.reason, self.out.decode("latin-1"), executed[0] if count else None, regs)


def u64(v: int) -> bytes:
    return v.to_bytes(8, "little")


def u32(v: int) -> bytes:
    return v.to_bytes(4, "little")


def regions_table(regions: list[tuple[int, int]]) -> bytes:
    table = bytearray(256)
    for i, (s, n) in enumerate(regions):
        table[16 * i:16 * i + 16] = u64(s) + u64(n)
    return bytes(table)


def replace(r: Result, **kw: object) -> Result:
    return dataclasses.replace(r, **kw)
