"""Run a real, patched purgatory image under unicorn at its physical address.

Two layers, so another arch can reuse the shape:

- :func:`build` runs the toolchain pipeline in Python, the same steps SCons runs (recipe ->
  plan -> purgatory build at the plan's address -> patch -> bundle), and returns the bundle,
  the plan, the patched ELF and its symbol addresses.
- :class:`Machine` maps every bundle segment at its ``mem`` (zero-filled up to ``memsz``),
  starts at the bundle entry, and stops when the pc reaches one of the ``stops`` addresses
  (kernel entry, halt loop) or after ``limit`` instructions. Arch subclasses provide the
  unicorn mode, the console (I/O ports or MMIO) and register snapshots.

:class:`X86_64Machine`: unicorn's UC_MODE_64 cpu starts in long mode with a flat address
space (virtual = physical), i.e. the identity map the kexec code gives the purgatory. OUT to
the COM1 data port (0x3f8) is captured as console output; IN from the line status register
(0x3fd) returns 0x20 (transmitter empty).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from unicorn import UC_ARCH_X86, UC_HOOK_CODE, UC_HOOK_INSN, UC_MODE_64, UC_PROT_ALL, Uc
from unicorn import x86_const as X

from toolchain import bundle as bundlemod
from toolchain import elfimage, emit, layout, recipe as recipemod
from toolchain.build import build_purgatory
from toolchain.patch import patch_symbols

PAGE = 0x1000


@dataclass
class Built:
    bundle: bundlemod.Bundle
    plan: layout.Plan
    elf: Path                  # patched purgatory
    symbols: dict[str, int]    # name -> address
    out: Path


def build(recipe: str, out: Path, payload: Path | None, overrides: dict[str, str] | None = None,
          purgatory_dir: Path | None = None) -> Built:
    """recipe -> plan -> purgatory (linked at the plan's base) -> patch -> bundle, in ``out``.

    ``purgatory_dir`` lets several builds share one linked purgatory (its address only
    depends on the recipe's memory map).
    """
    out.mkdir(parents=True, exist_ok=True)
    r = recipemod.load(recipe, overrides or {})
    plan = layout.make_plan(r, out, payload)
    pdir = purgatory_dir or out / "purgatory"
    elf = pdir / "purgatory.elf"
    if not elf.exists() or elfimage.read(elf, with_symbols=False).vaddr != plan.purgatory_base:
        elf = build_purgatory(r.arch, plan.purgatory_base, pdir)
    patched = out / "purgatory.patched.elf"
    patch_symbols(elf, patched, plan.symbol_values())
    b = emit.build_bundle(plan, patched)
    syms = {k: s.value for k, s in elfimage.read(patched).symbols.items()}
    return Built(b, plan, patched, syms, out)


@dataclass
class Result:
    stop: str                  # "entry", "halt" or "limit"
    pc: int
    console: str
    instructions: int | None   # counted only when the run asked for it
    regs: dict[str, Any] = field(default_factory=dict)


class Machine:
    uc_arch: int
    uc_mode: int
    pc_reg: int

    def __init__(self, b: bundlemod.Bundle, extra_ranges: list[tuple[int, int]] | None = None) -> None:
        self.bundle = b
        self.uc = Uc(self.uc_arch, self.uc_mode)
        self.console = bytearray()
        ranges = [(s.mem, s.memsz) for s in b.segments] + (extra_ranges or [])
        for start, end in _merge_pages(ranges):
            self.uc.mem_map(start, end - start, UC_PROT_ALL)
        for s in b.segments:
            self.uc.mem_write(s.mem, bytes(s.data))
        self.setup()

    # --- arch hooks -------------------------------------------------------------------
    def setup(self) -> None:
        """Console hooks and the cpu state at entry."""

    def snapshot(self) -> dict[str, Any]:
        return {}

    # --- running ----------------------------------------------------------------------
    def run(self, stops: dict[int, str], limit: int = 50_000_000, count: bool = False) -> Result:
        state = {"stop": "limit", "n": 0}

        def at_stop(uc: Uc, address: int, size: int, name: str) -> None:
            state["stop"] = name
            uc.emu_stop()

        for addr, name in stops.items():
            self.uc.hook_add(UC_HOOK_CODE, at_stop, name, addr, addr)
        if count:
            def counter(uc: Uc, address: int, size: int, _: Any) -> None:
                state["n"] += 1
            self.uc.hook_add(UC_HOOK_CODE, counter)
        self.uc.emu_start(self.bundle.entry, -1, count=limit)
        pc = self.uc.reg_read(self.pc_reg)
        return Result(state["stop"], pc, self.console.decode("latin-1"),
                      state["n"] if count else None, self.snapshot())

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def write(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, data)


def _merge_pages(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = sorted((s // PAGE * PAGE, -(-(s + n) // PAGE) * PAGE) for s, n in ranges if n)
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


COM1 = 0x3F8
COM1_LSR = COM1 + 5


class X86_64Machine(Machine):
    uc_arch = UC_ARCH_X86
    uc_mode = UC_MODE_64
    pc_reg = X.UC_X86_REG_RIP
    interrupts_on_entry = False

    def setup(self) -> None:
        self.ports: list[tuple[int, int]] = []   # every OUT (port, value), console or not

        def on_out(uc: Uc, port: int, size: int, value: int, _: Any) -> None:
            self.ports.append((port, value))
            if port == COM1:
                self.console.append(value & 0xFF)

        def on_in(uc: Uc, port: int, size: int, _: Any) -> int:
            return 0x20 if port == COM1_LSR else 0xFF

        self.uc.hook_add(UC_HOOK_INSN, on_out, None, 1, 0, X.UC_X86_INS_OUT)
        self.uc.hook_add(UC_HOOK_INSN, on_in, None, 1, 0, X.UC_X86_INS_IN)
        # Garbage in the registers the purgatory must not rely on or must overwrite.
        for reg in (X.UC_X86_REG_RAX, X.UC_X86_REG_RBX, X.UC_X86_REG_RSI, X.UC_X86_REG_RDI, X.UC_X86_REG_RBP):
            self.uc.reg_write(reg, 0xDEAD_BEEF_0BAD_F00D)
        self.uc.reg_write(X.UC_X86_REG_RSP, 0)
        self.uc.reg_write(X.UC_X86_REG_EFLAGS, 0x202 if self.interrupts_on_entry else 0x2)

    def snapshot(self) -> dict[str, Any]:
        r = self.uc.reg_read
        names = ("rip", "rsi", "rdi", "rbx", "rbp", "rsp", "cs", "ds", "es", "ss", "fs", "gs", "eflags")
        snap: dict[str, Any] = {n: r(getattr(X, f"UC_X86_REG_{n.upper()}")) for n in names}
        snap["gdtr"] = r(X.UC_X86_REG_GDTR)   # (selector, base, limit, flags)
        return snap


def x86_stops(symbols: dict[str, int], plan: layout.Plan) -> dict[int, str]:
    """kernel entry = success; the hlt loop of kx_arch_halt = stopped."""
    return {plan.kernel_entry: "entry", symbols["kx_arch_halt"]: "halt"}


Runner = Callable[..., Result]
