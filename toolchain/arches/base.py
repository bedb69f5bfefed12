"""The interface every arch module implements.

An :class:`Arch` answers everything the common pipeline needs to know about a target:
how to compile for it, where segments may go, which kernel formats it accepts, and which
purgatory symbols carry its hand-off values. The common code (layout, build, patch, emit)
only calls these methods.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
