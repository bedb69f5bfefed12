"""ELF kernels (ppc64 ``vmlinux``, the test payloads): one segment made of the PT_LOADs."""
from __future__ import annotations

from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from . import KernelFormatError, KernelImage, Source


def load(path: Path, source: str, machine: str, little_endian: bool, scratch: Path | None,
         align: int) -> KernelImage:
    """Check machine and byte order, and describe the loadable image.

    A kernel with a single PT_LOAD is used in place (a slice of the file); several PT_LOADs
    are flattened into ``scratch`` once, since a kexec segment is one contiguous buffer.
    """
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise KernelFormatError(source, f"cannot open: {exc.strerror}") from None
    with f:
        magic = f.read(4)
        if magic != b"\x7fELF":
            raise KernelFormatError(source, "not an ELF file", "give the uncompressed vmlinux")
        f.seek(0)
        try:
            elf = ELFFile(f)
        except ELFError as exc:
            raise KernelFormatError(source, f"corrupt ELF: {exc}") from None
        want_order = "little" if little_endian else "big"
        got_order = "little" if elf.little_endian else "big"
        if elf["e_machine"] != machine or elf.elfclass != 64:
            raise KernelFormatError(source, f"ELF machine {elf['e_machine']} ({elf.elfclass}-bit), expected {machine} 64-bit",
                                    "this kernel is for another architecture")
        if got_order != want_order:
            raise KernelFormatError(source, f"{got_order}-endian kernel, the recipe's arch is {want_order}-endian",
                                    "use a kernel built for the recipe's arch")
        loads = sorted((s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_memsz"]),
                       key=lambda s: s["p_vaddr"])
        if not loads:
            raise KernelFormatError(source, "ELF has no PT_LOAD segment")
        base = loads[0]["p_vaddr"]
        mem_end = max(s["p_vaddr"] + s["p_memsz"] for s in loads)
        file_end = max(s["p_vaddr"] + s["p_filesz"] for s in loads)
        size = f.seek(0, 2)
        for s in loads:
            if s["p_offset"] + s["p_filesz"] > size:
                raise KernelFormatError(source, "a PT_LOAD runs past the end of the file (truncated?)")
        if mem_end - base > 1 << 31:
            raise KernelFormatError(source, "PT_LOAD segments span more than 2 GiB")
        entry = elf["e_entry"]
        if not base <= entry < mem_end:
            raise KernelFormatError(source, f"entry 0x{entry:x} is outside the loadable image")
        if len(loads) == 1:
            src = Source(str(path), loads[0]["p_offset"], loads[0]["p_filesz"])
        else:
            if scratch is None:
                raise KernelFormatError(source, "several PT_LOADs and nowhere to flatten them")
            buf = bytearray(file_end - base)
            for s in loads:
                off = s["p_vaddr"] - base
                buf[off:off + s["p_filesz"]] = s.data()
            scratch.parent.mkdir(parents=True, exist_ok=True)
            scratch.write_bytes(buf)
            src = Source(str(scratch), 0, len(buf))
        f.seek(loads[0]["p_offset"])
        head = f.read(min(0x100, loads[0]["p_filesz"]))
    return KernelImage(src, mem_end - base, entry - base, align, head,
                       f"ELF {machine}, {len(loads)} PT_LOAD, memsz 0x{mem_end - base:x}")
