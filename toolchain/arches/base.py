"""The interface every arch module implements.

An :class:`Arch` answers everything the common pipeline needs to know about a target:
how to compile for it, where segments may go, which kernel formats it accepts, and which
purgatory symbols carry its hand-off values. The common code (layout, build, patch, emit)
only calls these methods.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..emulate import EmuSpec
    from ..kernels import KernelImage
    from ..layout import Allocator, Plan, PlannedSegment
    from ..recipe import Recipe

REPO = Path(__file__).resolve().parents[2]


class ArchError(Exception):
    """An arch name or code that the toolchain does not know."""


@dataclass(frozen=True)
class Arch:
    name: str                      # recipe spelling, e.g. "ppc64le"
    code: int                      # bundle arch code (docs/bundle-format.md)
    elf_machine: str               # pyelftools e_machine name, e.g. "EM_PPC64"
    little_endian: bool
    default_page_size: int
    zig_target: str                # freestanding target for purgatory and payload
    loader_target: str             # static Linux target for the loader
    purgatory_dir: str             # folder under purgatory/ (shared by ppc64 and ppc64le)
    cflags: tuple[str, ...] = ()   # arch flags for freestanding C and assembly
    qemu_user: str | None = None   # qemu-user binary that runs this arch's Linux programs
    # Bytes reserved for the purgatory when it is placed automatically; generous so that the
    # window does not depend on the purgatory's exact size (keeps placement stable).
    purgatory_window: int = 0x10000
    # Extra purgatory symbols that are part of this arch's hand-off: name -> size.
    handoff_symbols: dict[str, int] = field(default_factory=dict)
    default_load_min: int = 0x1000000
    limit_hint: str = "keep every segment inside the memory ranges"
    needs_dtb: bool = True
    # /chosen properties of the running kernel that must not reach the new one.
    dtb_drop: tuple[str, ...] = ()
    # /chosen properties (name, bytes) the loader fills with fresh random bytes at every load:
    # the toolchain writes zero placeholders, excludes them from the digest and flags the
    # device-tree segment SEEDS (docs/bundle-format.md).
    dtb_loadtime_seeds: tuple[tuple[str, int], ...] = ()
    supports_mmu: bool = False     # accepts /purgatory/mmu (arm64: toolchain/arm64_mmu.py)

    def extra_segments(self, recipe: "Recipe") -> int:
        """Segments the arch adds beyond kernel, initrd, dtb, blobs and purgatory."""
        return 0

    def load_kernel(self, path: Path, source: str, scratch: Path | None = None) -> "KernelImage":
        """Parse and check a kernel file; raise KernelFormatError if it is not one for us."""
        raise NotImplementedError

    def generated_cpu_props(self, cpu: int) -> dict[str, bytes]:
        """Extra properties of each cpu node in a generated device tree."""
        return {}

    def handoff_values(self, plan: "Plan", kernel: "KernelImage") -> dict[str, bytes]:
        """Bytes for each of ``handoff_symbols``, from the finished plan."""
        raise NotImplementedError

    def extra_plan_segments(self, recipe: "Recipe", segments: list["PlannedSegment"], build_dir: Path,
                            alloc: "Allocator", kernel: "KernelImage") -> list["PlannedSegment"]:
        """Arch-specific generated segments (x86_64: boot_params, command line)."""
        return []

    emulator_note: ClassVar[str] = "no emulator is set up for this arch"

    def emulator(self) -> "EmuSpec | None":
        """How to run this arch's purgatory in unicorn (toolchain/emulate.py), or None."""
        return None

    def u64(self, value: int) -> bytes:
        return value.to_bytes(8, "little" if self.little_endian else "big")

    @property
    def purgatory_src(self) -> Path:
        return REPO / "purgatory" / self.purgatory_dir

    @property
    def payload_src(self) -> Path:
        return REPO / "payloads" / self.purgatory_dir

    def address_limit(self, ram: list[tuple[int, int]]) -> int:
        """Highest end address (exclusive) any segment may reach on this arch."""
        return max(start + size for start, size in ram)

    def linker_script(self, base: int) -> str:
        """The purgatory linker script for a purgatory linked at ``base``."""
        template = (self.purgatory_src / "link.ld.in").read_text()
        return template.replace("@BASE@", f"0x{base:x}")
