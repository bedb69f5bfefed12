"""Kernel file formats. Each arch module picks the parser for the formats it accepts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KernelFormatError(Exception):
    """The kernel file is not what the recipe's arch can boot; names the file and why."""

    def __init__(self, path: str, message: str, hint: str = "") -> None:
        self.path = path
        self.reason = message
        self.hint = hint
        super().__init__(f"{path}: {message}" + (f" ({hint})" if hint else ""))


@dataclass(frozen=True)
class Source:
    """Bytes of a segment, as a slice of a file (no copies of large inputs in memory)."""

    path: str
    offset: int
    size: int

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(self.size)
        if len(data) != self.size:
            raise OSError(f"{self.path}: expected {self.size} bytes at {self.offset}, got {len(data)}")
        return data


@dataclass(frozen=True)
class KernelImage:
    source: Source            # bytes loaded at the segment start
    memsz: int                # bytes the kernel needs at its load address
    entry_offset: int         # entry = load address + entry_offset
    align: int                # required alignment of the load address
    head: bytes               # first bytes of the image (arch hand-offs may copy them)
    description: str          # for messages and the manifest
    min_address: int = 0      # lowest load address the format allows (x86: pref_address)
