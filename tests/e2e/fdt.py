"""Capture the guest's real device tree (``/sys/firmware/fdt``) and facts about kernel A.

Why: our toolchain bakes a device tree into the bundle, and on pseries the
tree depends on the machine configuration (CPU count, memory, RTAS placement),
so tests need the tree *this* QEMU configuration really produces.  Kernel A
dumps it gzip+base64 between console markers, with its sha256 printed first;
the host decodes and verifies it.  The result is cached per (kernel version,
-smp, -m) because it only changes when one of those does.

The same boot also reports physical layout facts (``linux,kernel-end``, the
initrd range, RTAS base/size) as ``KXE2E-INFO key=value`` lines.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from . import initramfs as I
from .debian import GuestAssets, cache_dir, file_lock
from .qemu import Result, run_vm

FDT_MAGIC = 0xD00DFEED


@dataclass
class CapturedFdt:
    dtb: bytes
    info: dict[str, str]
    path: Path

    @property
    def header(self) -> dict[str, int]:
        names = ("magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap",
                 "version", "last_comp_version", "boot_cpuid_phys", "size_dt_strings",
                 "size_dt_struct")
        return dict(zip(names, struct.unpack_from(">10I", self.dtb, 0)))

    def memreserve(self) -> list[tuple[int, int]]:
        """The memory reservation map (RTAS, the old initrd, ...)."""
        off = self.header["off_mem_rsvmap"]
        out = []
        while True:
            addr, size = struct.unpack_from(">QQ", self.dtb, off)
            if addr == 0 and size == 0:
                return out
            out.append((addr, size))
            off += 16

    def memmap(self) -> list[dict[str, str]]:
        """x86: kernel A's ``/sys/firmware/memmap`` as ``{start, end, type}`` (tools/memmap2recipe.py input)."""
        out = []
        for key, value in self.info.items():
            if key.startswith("memmap-"):
                start, end, kind = value.split(" ", 2)
                out.append({"start": start, "end": end, "type": kind})
        return sorted(out, key=lambda e: int(e["start"], 0))

    def kernel_phys_end(self) -> int | None:
        """End (exclusive) of kernel A's image per /proc/iomem "Kernel code/data/bss"."""
        ends = []
        for part in self.info.get("kernel-iomem", "").split(";"):
            rng, _, name = part.strip().partition(" : ")
            if name.startswith("Kernel") and "-" in rng:
                ends.append(int(rng.split("-")[1], 16) + 1)
        return max(ends) if ends else None


def parse_info(result: Result) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in result.lines:
        if line.text.startswith(I.MARK_INFO + " "):
            key, _, value = line.text[len(I.MARK_INFO) + 1 :].partition("=")
            info[key] = value
    return info


def decode_dump(result: Result) -> bytes:
    """Recover the blob printed between the FDT markers and verify its sha256."""
    lines = [l.text for l in result.lines]
    try:
        begin = lines.index(I.MARK_FDT_BEGIN)
        end = lines.index(I.MARK_FDT_END, begin)
    except ValueError as e:
        raise RuntimeError(f"FDT markers missing; see {result.log}") from e
    b64 = "".join(lines[begin + 1 : end]).strip()
    blob = gzip.decompress(base64.b64decode(b64, validate=False))
    want = parse_info(result).get("fdt-sha256")
    got = hashlib.sha256(blob).hexdigest()
    if want and want != got:
        raise RuntimeError(f"FDT sha256 mismatch: guest {want} host {got}; console garbled?")
    return blob


def check_fdt(blob: bytes) -> None:
    """Magic, size and (if pylibfdt is there) a full structural check."""
    magic, total = struct.unpack_from(">II", blob, 0)
    if magic != FDT_MAGIC:
        raise ValueError(f"bad FDT magic {magic:#x}")
    if total > len(blob):
        raise ValueError(f"FDT totalsize {total} > {len(blob)} bytes captured")
    try:
        import libfdt
    except ImportError:
        return
    fdt = libfdt.Fdt(blob)
    fdt.path_offset("/chosen")


def capture_fdt(
    assets: GuestAssets, smp: int = 2, mem: str = "1G", timeout: float = 180.0,
    machine: str | None = None,
) -> CapturedFdt:
    """Boot kernel A once per configuration and return its device tree and facts (cached).

    On x86 there is no device tree: ``dtb`` is empty and the facts carry the
    firmware memory map (``memmap-N`` entries, see ``CapturedFdt.memmap``).
    """
    machine = machine or assets.arch
    base = cache_dir() / assets.arch / "fdt"
    stem = f"{assets.kernel_version}-{machine}-smp{smp}-m{mem}"
    if machine == "ppc64el":  # keep the name the existing caches use
        stem = f"{assets.kernel_version}-smp{smp}-m{mem}"
    dtb_path = base / f"{stem}.dtb"
    info_path = base / f"{stem}.json"
    with file_lock(base / f"{stem}.lock"):
        if dtb_path.is_file() and info_path.is_file():
            return CapturedFdt(dtb_path.read_bytes(), json.loads(info_path.read_text()), dtb_path)
        cpio = base / f"{stem}.cpio"
        cpio.write_bytes(I.a_initramfs_fdt_dump(assets.busybox))
        res = run_vm(assets.kernel, cpio, arch=machine, smp=smp, mem=mem,
                     timeout=timeout, log=base / f"{stem}.log")
        if res.timed_out:
            raise RuntimeError(f"FDT capture boot timed out; see {res.log}")
        info = parse_info(res)
        if machine in ("amd64",):
            blob = b""
            if not any(k.startswith("memmap-") for k in info):
                raise RuntimeError(f"no /sys/firmware/memmap entries captured; see {res.log}")
        else:
            blob = decode_dump(res)
            check_fdt(blob)
        info["boot-seconds"] = f"{res.elapsed:.2f}"
        dtb_path.write_bytes(blob)
        info_path.write_text(json.dumps(info, indent=1, sort_keys=True))
        return CapturedFdt(blob, info, dtb_path)
