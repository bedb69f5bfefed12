"""Read the loadable image of a fully linked ELF with pyelftools.

Used for the purgatory (to emit it and to prove what patching changed) and for ELF kernels
(ppc64 vmlinux, the test payloads): both become one kexec segment made of their PT_LOADs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


class ElfImageError(Exception):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    binding: str
    section_type: str | None


@dataclass(frozen=True)
class LoadImage:
    """The PT_LOAD segments flattened into one contiguous image."""

    machine: str
    little_endian: bool
    entry: int          # e_entry (virtual)
    vaddr: int          # lowest PT_LOAD p_vaddr
    paddr: int          # lowest PT_LOAD p_paddr
    data: bytes         # file bytes from vaddr up to the end of the last p_filesz
    memsz: int          # vaddr .. end of the last p_memsz
    symbols: dict[str, Symbol]

    def offset_of(self, vaddr: int) -> int:
        return vaddr - self.vaddr


def read(path: str | Path, with_symbols: bool = True) -> LoadImage:
    p = str(path)
    try:
        f = open(p, "rb")
    except OSError as exc:
        raise ElfImageError(p, f"cannot open: {exc.strerror}") from None
    with f:
        try:
            elf = ELFFile(f)
        except ELFError as exc:
            raise ElfImageError(p, f"not an ELF file ({exc})") from None
        loads = sorted((s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_memsz"]),
                       key=lambda s: s["p_vaddr"])
        if not loads:
            raise ElfImageError(p, "has no PT_LOAD segment")
        base = loads[0]["p_vaddr"]
        file_end = max(s["p_vaddr"] + s["p_filesz"] for s in loads)
        mem_end = max(s["p_vaddr"] + s["p_memsz"] for s in loads)
        if mem_end - base > 1 << 32:
            raise ElfImageError(p, "PT_LOAD segments span more than 4 GiB")
        buf = bytearray(file_end - base)
        for seg in loads:
            off = seg["p_vaddr"] - base
            buf[off:off + seg["p_filesz"]] = seg.data()
        symbols: dict[str, Symbol] = {}
        symtab = elf.get_section_by_name(".symtab") if with_symbols else None
        if isinstance(symtab, SymbolTableSection):
            for sym in symtab.iter_symbols():
                if not sym.name:
                    continue
                shndx = sym["st_shndx"]
                stype = elf.get_section(shndx)["sh_type"] if isinstance(shndx, int) else None
                symbols[sym.name] = Symbol(sym.name, sym["st_value"], sym["st_size"],
                                           sym["st_info"]["bind"], stype)
        return LoadImage(elf["e_machine"], elf.little_endian, elf["e_entry"], base,
                         loads[0]["p_paddr"], bytes(buf), mem_end - base, symbols)
