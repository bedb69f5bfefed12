"""Write the plan's values into the linked purgatory with LIEF, then prove what changed.

Each value is checked before it is written: the symbol exists, is global, lives in a
PROGBITS section (bytes that exist in the file), and has exactly the size of the new value.
After writing, pyelftools (a second, independent ELF reader) compares the loadable bytes of
the two files: any byte that changed outside the patched symbols fails the build.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from . import elfimage

if TYPE_CHECKING:
    import lief

# LIEF is imported only when something is patched: loading its extension costs about a
# quarter of a second, which every build that does not patch (no-op, recipe-only changes
# that leave the symbols alone) would otherwise pay.


class PatchError(Exception):
    """A purgatory symbol could not be patched; carries the symbol and the reason."""

    def __init__(self, elf: str, symbol: str, message: str) -> None:
        self.elf = elf
        self.symbol = symbol
        self.reason = message
        super().__init__(f"{elf}: symbol {symbol!r}: {message}")


def _check_symbol(binary: "lief.ELF.Binary", path: str, name: str, size: int) -> int:
    import lief

    sym = binary.get_symbol(name)
    if sym is None:
        raise PatchError(path, name, "missing from the purgatory; was it renamed or optimised away?")
    if sym.binding != lief.ELF.Symbol.BINDING.GLOBAL:
        raise PatchError(path, name, f"binding is {sym.binding.name}, must be GLOBAL")
    if not 0 < sym.shndx < len(binary.sections):
        raise PatchError(path, name, "is not defined in a section")
    section = binary.sections[sym.shndx]
    if section.type != lief.ELF.Section.TYPE.PROGBITS:
        raise PatchError(path, name, f"lives in {section.name} ({section.type.name}); "
                         "patched globals must be PROGBITS (build with -fno-zero-initialized-in-bss)")
    if sym.size != size:
        raise PatchError(path, name, f"has size {sym.size}, the value to write has {size} bytes")
    return sym.value


def patch_symbols(src: str | Path, dst: str | Path, values: dict[str, bytes]) -> None:
    """Write ``values`` (symbol name -> exact bytes) into a copy of ``src`` at ``dst``.

    ``dst`` is written atomically: readers see the old file or the complete new one.
    """
    import lief

    src_s = str(src)
    binary = lief.ELF.parse(src_s)
    if binary is None:
        raise PatchError(src_s, "-", "LIEF could not parse the file")
    for name, value in sorted(values.items()):
        addr = _check_symbol(binary, src_s, name, len(value))
        binary.patch_address(addr, list(value))
    dst_p = Path(dst)
    fd, tmp = tempfile.mkstemp(dir=dst_p.parent, prefix=dst_p.name + ".")
    os.close(fd)
    try:
        binary.write(tmp)
        verify_patch(src_s, tmp, values)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst_p)
    except BaseException:
        os.unlink(tmp)
        raise


def verify_patch(src: str | Path, dst: str | Path, values: dict[str, bytes]) -> None:
    """Prove with pyelftools that only the patched symbols' bytes changed, and to ``values``."""
    before = elfimage.read(src)
    after = elfimage.read(dst)
    if (before.vaddr, before.memsz, len(before.data)) != (after.vaddr, after.memsz, len(after.data)):
        raise PatchError(str(dst), "-", "patching changed the loadable layout")
    allowed = bytearray(len(before.data))
    for name, value in values.items():
        sym = after.symbols.get(name)
        if sym is None:
            raise PatchError(str(dst), name, "symbol vanished after patching")
        off = after.offset_of(sym.value)
        if after.data[off:off + len(value)] != value:
            raise PatchError(str(dst), name, "bytes in the patched image differ from the value written")
        allowed[off:off + len(value)] = b"\1" * len(value)
    for i, (a, b) in enumerate(zip(before.data, after.data)):
        if a != b and not allowed[i]:
            raise PatchError(str(dst), "-", f"byte at 0x{before.vaddr + i:x} changed outside every patched symbol")
