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

from dataclasses import dataclass
from pathlib import Path


import dataclasses

from unicorn import Uc
from unicorn import x86_const as X

from toolchain import bundle as bundlemod
from toolchain import elfimage, emit, layout, recipe as recipemod
from toolchain.arches import get as get_arch
from toolchain.arches.x86_64 import _emu_setup
from toolchain.build import build_purgatory
from toolchain.emulate import Machine, Result  # noqa: F401  (tests use ur.Result)
from toolchain.patch import patch_symbols



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


class X86_64Machine(Machine):
    """toolchain.emulate's x86_64 machine, plus what tests look at: every port write
    (``ports``) and an optional interrupts-enabled entry state."""

    interrupts_on_entry = False

    def __init__(self, b: bundlemod.Bundle, extra_ranges: list[tuple[int, int]] | None = None) -> None:
        self.ports: list[tuple[int, int]] = []
        base = get_arch("x86_64").emulator()
        spec = dataclasses.replace(base, setup=lambda uc, console: self._setup(uc, console))
        super().__init__(spec, b, extra_ranges)

    def _setup(self, uc: Uc, console: bytearray) -> None:
        _emu_setup(uc, console, self.ports)
        if self.interrupts_on_entry:
            uc.reg_write(X.UC_X86_REG_EFLAGS, 0x202)


def x86_stops(symbols: dict[str, int], plan: layout.Plan) -> dict[int, str]:
    """kernel entry = success; the hlt loop of kx_arch_halt = stopped."""
    return {plan.kernel_entry: "entry", symbols["kx_arch_halt"]: "halt"}



