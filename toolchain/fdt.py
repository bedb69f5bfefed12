"""Device trees for the new kernel, with pylibfdt.

Two jobs: generate a minimal tree from a recipe (memory, cpus, /chosen) for the embedded test
payload, and fix up a given tree (a captured ``/sys/firmware/fdt``) the way the new kernel
needs it: ``/chosen`` bootargs and initrd range, stale properties of the old kernel removed,
the old initrd's memreserve dropped, and a memreserve for the purgatory. Values whose size
could change are always written with a fixed size so the tree's size does not depend on the
final addresses (the tree is placed before those are known).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import libfdt

FDT_MAGIC = 0xD00DFEED
SLACK = 4096  # room for the fix-ups before packing


class FdtError(Exception):
    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{source}: {message}")


@dataclass(frozen=True)
class Chosen:
    bootargs: str
    initrd: tuple[int, int] | None      # [start, end)
    reserve: tuple[tuple[int, int], ...]  # (address, size) memreserve entries to add
    drop: tuple[str, ...] = ()           # /chosen properties of the old kernel to remove
    # /chosen properties (name, size) the loader fills with random bytes at load time: written
    # here as zero placeholders of that size (Arch.dtb_loadtime_seeds).
    seeds: tuple[tuple[str, int], ...] = ()


def _check(rc: int, source: str, what: str) -> int:
    if rc < 0:
        raise FdtError(source, f"{what}: {libfdt.fdt_strerror(rc)}")
    return rc


def validate(blob: bytes, source: str) -> None:
    """A cheap, complete check: header, then a walk of every node and property."""
    if len(blob) < 40 or int.from_bytes(blob[:4], "big") != FDT_MAGIC:
        raise FdtError(source, "not a flattened device tree (bad magic)")
    rc = libfdt.fdt_check_full(bytearray(blob), len(blob))
    if rc < 0:
        raise FdtError(source, f"corrupt device tree: {libfdt.fdt_strerror(rc)}")


def _set_chosen(fdt: libfdt.Fdt, chosen: Chosen, source: str) -> None:
    off = fdt.path_offset("/chosen", [libfdt.NOTFOUND])
    if off < 0:
        off = fdt.add_subnode(0, "chosen")
    old_initrd = None
    if fdt.getprop(off, "linux,initrd-start", [libfdt.NOTFOUND]) not in (None, -libfdt.NOTFOUND) and \
            fdt.getprop(off, "linux,initrd-end", [libfdt.NOTFOUND]) not in (None, -libfdt.NOTFOUND):
        s = int.from_bytes(bytes(fdt.getprop(off, "linux,initrd-start")), "big")
        e = int.from_bytes(bytes(fdt.getprop(off, "linux,initrd-end")), "big")
        old_initrd = (s, e)
    for name in ("linux,initrd-start", "linux,initrd-end", *chosen.drop, *(n for n, _ in chosen.seeds)):
        fdt.delprop(off, name, [libfdt.NOTFOUND])
    fdt.setprop_str(off, "bootargs", chosen.bootargs)
    for name, size in chosen.seeds:
        fdt.setprop(off, name, bytes(size))
    if chosen.initrd is not None:
        fdt.setprop_u64(off, "linux,initrd-start", chosen.initrd[0])
        fdt.setprop_u64(off, "linux,initrd-end", chosen.initrd[1])
    if old_initrd is not None:
        # The old kernel's initrd is free memory for the new one: drop its reservation.
        for i in reversed(range(fdt.num_mem_rsv())):
            addr, size = fdt.get_mem_rsv(i)
            if addr == old_initrd[0] and addr + size == old_initrd[1]:
                _check(libfdt.fdt_del_mem_rsv(fdt._fdt, i), source, "deleting the old initrd's memreserve")
    for addr, size in chosen.reserve:
        _check(libfdt.fdt_add_mem_rsv(fdt._fdt, addr, size), source, "adding a memreserve")


def seed_holes(blob: bytes, chosen: Chosen, source: str = "<device tree>") -> tuple[tuple[int, int], ...]:
    """(offset, length) in the packed ``blob`` of the value of each ``chosen.seeds`` property.

    Found after packing by walking /chosen's properties: a property's value starts 12 bytes
    (tag, len, nameoff) after the property's offset in the structure block. Each range is
    checked to hold zeros of the expected length. Sorted by offset.
    """
    if not chosen.seeds:
        return ()
    fdt = libfdt.Fdt(bytearray(blob))
    node = _check(fdt.path_offset("/chosen"), source, "finding /chosen")
    struct_base = fdt.off_dt_struct()
    wanted = dict(chosen.seeds)
    found: dict[str, tuple[int, int]] = {}
    poff = fdt.first_property_offset(node, [libfdt.NOTFOUND])
    while poff >= 0:
        prop = fdt.get_property_by_offset(poff)
        if prop.name in wanted:
            if prop.name in found:
                raise FdtError(source, f"/chosen/{prop.name} appears twice")
            start = struct_base + poff + 12
            length = len(bytes(prop))
            if length != wanted[prop.name] or blob[start:start + length] != bytes(length):
                raise FdtError(source, f"/chosen/{prop.name}: placeholder not found at offset 0x{start:x}")
            found[prop.name] = (start, length)
        poff = fdt.next_property_offset(poff, [libfdt.NOTFOUND])
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise FdtError(source, f"/chosen is missing the seed placeholders {', '.join(missing)}")
    return tuple(sorted(found.values()))


def fixup(blob: bytes, chosen: Chosen, source: str) -> bytes:
    validate(blob, source)
    # A captured tree may be sparse (version 16 with a large totalsize): resizing opens it
    # into a fresh buffer with room for our changes; packing makes it tight again.
    work = libfdt.Fdt(bytearray(blob))
    work.resize(work.totalsize() + len(chosen.bootargs) + SLACK)
    _set_chosen(work, chosen, source)
    work.pack()
    return bytes(work.as_bytearray())


def generate(memory: list[tuple[int, int]], cpus: int, model: str, chosen: Chosen,
             cpu_props: Callable[[int], dict[str, bytes]] | None = None) -> bytes:
    """A minimal tree: root cells, model, /memory nodes, /cpus, /chosen."""
    fdt = libfdt.Fdt.create_empty_tree(8192 + len(chosen.bootargs) + 256 * cpus)
    fdt.setprop_u32(0, "#address-cells", 2)
    fdt.setprop_u32(0, "#size-cells", 2)
    fdt.setprop_str(0, "model", model)
    fdt.setprop_str(0, "compatible", model)
    # add_subnode inserts before existing children: add in reverse to keep address order.
    for start, size in reversed(memory):
        node = fdt.add_subnode(0, f"memory@{start:x}")
        fdt.setprop_str(node, "device_type", "memory")
        fdt.setprop(node, "reg", start.to_bytes(8, "big") + size.to_bytes(8, "big"))
    cpus_node = fdt.add_subnode(0, "cpus")
    fdt.setprop_u32(cpus_node, "#address-cells", 1)
    fdt.setprop_u32(cpus_node, "#size-cells", 0)
    for i in reversed(range(cpus)):
        node = fdt.add_subnode(cpus_node, f"cpu@{i:x}")
        fdt.setprop_str(node, "device_type", "cpu")
        fdt.setprop_u32(node, "reg", i)
        for name, value in (cpu_props(i) if cpu_props else {}).items():
            fdt.setprop(node, name, value)
    fdt.add_subnode(0, "chosen")
    _set_chosen(fdt, chosen, "<generated>")
    fdt.pack()
    return bytes(fdt.as_bytearray())
