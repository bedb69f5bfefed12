"""Run a bundle's purgatory in an emulator: ``python -m toolchain emulate BUNDLE``.

The engine is arch-neutral: it maps every segment of the bundle at its physical address
(zero-filled to memsz, as the kernel does), starts at the bundle's entry, and stops when the
program counter reaches the kernel entry the purgatory holds (success), one of the
purgatory's halt or fault routines (stopped), or an instruction limit. What differs per arch
— unicorn mode, console device, registers worth reporting, entry state — comes from the arch
module's :meth:`~toolchain.arches.base.Arch.emulator`, which returns an :class:`EmuSpec`.

unicorn runs x86_64 and arm64; it cannot run PPC64 (ppc64 purgatory code is executed by a
qemu-user test link instead, see tests/purgatory), so those arches have no emulator here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import arches, bundle as bundlemod, inspect

PAGE = 0x1000


class EmulateError(Exception):
    pass


@dataclass(frozen=True)
class EmuSpec:
    uc_arch: int
    uc_mode: int
    pc_reg: int
    # Installs console hooks and the entry state; console bytes go to the bytearray.
    setup: Callable[[Any, bytearray], None]
    # Registers to report at the stop: name -> unicorn register id.
    registers: dict[str, int]
    # Memory besides the segments that the purgatory touches (e.g. MMIO is set up by setup).
    extra_ranges: tuple[tuple[int, int], ...] = ()
    # Purgatory symbols whose address means "stopped" (halt loop, fault vectors).
    stop_symbols: tuple[str, ...] = ("kx_arch_halt",)
    # capstone (arch, mode) to count instructions per translated block; None = fixed 4-byte.
    capstone: tuple[int, int] | None = None


@dataclass
class Result:
    stop: str                  # "entry", a stop symbol, or "limit"
    pc: int
    console: str
    instructions: int | None
    registers: dict[str, int] = field(default_factory=dict)


def merge_pages(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = sorted((s // PAGE * PAGE, -(-(s + n) // PAGE) * PAGE) for s, n in ranges if n)
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


class Machine:
    """A unicorn CPU with a bundle's segments in place."""

    def __init__(self, spec: EmuSpec, b: bundlemod.Bundle, extra_ranges: list[tuple[int, int]] | None = None) -> None:
        from unicorn import UC_PROT_ALL, Uc

        self.spec = spec
        self.bundle = b
        self.uc = Uc(spec.uc_arch, spec.uc_mode)
        self.console = bytearray()
        ranges = [(s.mem, s.memsz) for s in b.segments] + list(spec.extra_ranges) + (extra_ranges or [])
        for start, end in merge_pages(ranges):
            self.uc.mem_map(start, end - start, UC_PROT_ALL)
        for s in b.segments:
            self.uc.mem_write(s.mem, bytes(s.data))
        spec.setup(self.uc, self.console)

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, bytes(data))

    def run(self, stops: dict[int, str], limit: int = 200_000_000, count: bool = False) -> Result:
        from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE, Uc

        state: dict[str, Any] = {"stop": "limit", "n": 0}

        def at_stop(uc: Uc, address: int, size: int, name: str) -> None:
            state["stop"] = name
            uc.emu_stop()

        hooks = [self.uc.hook_add(UC_HOOK_CODE, at_stop, name, addr, addr) for addr, name in stops.items()]
        if count:
            # A hook per instruction makes hashing megabytes crawl; count per basic block,
            # decoding each distinct block once (fixed 4-byte instructions need no decoding).
            sizes: dict[tuple[int, int], int] = {}
            cs = None
            if self.spec.capstone is not None:
                import capstone

                cs = capstone.Cs(*self.spec.capstone)

            def counter(uc: Uc, address: int, size: int, _: Any) -> None:
                key = (address, size)
                n = sizes.get(key)
                if n is None:
                    n = size // 4 if cs is None else sum(1 for _ in cs.disasm_lite(bytes(uc.mem_read(address, size)), address))
                    sizes[key] = n
                state["n"] += n
            hooks.append(self.uc.hook_add(UC_HOOK_BLOCK, counter))
        self.uc.emu_start(self.bundle.entry, -1, count=limit)
        for h in hooks:
            self.uc.hook_del(h)
        pc = self.uc.reg_read(self.spec.pc_reg)
        regs = {name: self.uc.reg_read(rid) for name, rid in self.spec.registers.items()}
        return Result(state["stop"], pc, self.console.decode("latin-1"), state["n"] if count else None, regs)


def emulate(path: str, limit: int = 200_000_000) -> dict[str, Any]:
    """Run a built bundle's purgatory; report verdict, hand-off registers, instruction count."""
    b, man = inspect.read(Path(path))
    if man is None:
        raise EmulateError(f"{path}: manifest.json not found beside the bundle (needed for the purgatory's symbols)")
    arch = arches.by_code(b.arch_code)
    spec = arch.emulator()
    if spec is None:
        raise EmulateError(f"no emulator for {arch.name}: {arch.emulator_note}")
    state = inspect.purgatory_state(b, man)
    order = "little" if arch.little_endian else "big"
    kernel_entry = int.from_bytes(state.values["kx_kernel_entry"], order)
    syms = man["purgatory"].get("landmarks", {})
    stops = {kernel_entry: "entry"}
    for name in spec.stop_symbols:
        if name in syms:
            stops[int(syms[name], 16)] = name
    m = Machine(spec, b)
    res = m.run(stops, limit, count=True)
    verdict = {"entry": "reached the kernel entry", "limit": "instruction limit hit"}.get(res.stop, f"stopped in {res.stop}")
    return {
        "bundle": path,
        "arch": arch.name,
        "verify": state.verify,
        "result": res.stop,
        "verdict": ("verified" if state.verify else "not verified (skip)") + ", " + verdict
        if res.stop == "entry" else ("digest mismatch" if "mismatch" in res.console else verdict),
        "kernel_entry": f"0x{kernel_entry:x}",
        "pc": f"0x{res.pc:x}",
        "registers": {k: f"0x{v:x}" if isinstance(v, int) else [f"0x{x:x}" for x in v]
                      for k, v in res.registers.items()},
        "instructions": res.instructions,
        "console": res.console,
    }
