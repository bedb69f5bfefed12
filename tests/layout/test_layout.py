"""Placement, digest and device-tree fix-ups of the plan step."""
from __future__ import annotations

import hashlib
from pathlib import Path

import libfdt
import pytest

from toolchain import elfimage, fdt, layout, recipe
from toolchain.bundle import Kind
from toolchain.recipe import RecipeError


def _plan(write_recipe, tmp_path: Path, kernel: Path, **fields) -> layout.Plan:
    p = write_recipe(kernel={"path": str(kernel)}, **fields)
    return layout.make_plan(recipe.load(str(p)), tmp_path / "out")


def test_placement_is_aligned_disjoint_and_in_ram(write_recipe, tmp_path, foreign_elfs) -> None:
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"i" * 200_000)
    plan = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], initrd={"path": str(initrd)}, load_min="0x4000000")
    segs = plan.segments
    assert [s.kind for s in segs] == [Kind.KERNEL, Kind.INITRD, Kind.DTB]
    spans = sorted([(s.mem, s.memsz) for s in segs] + [(plan.purgatory_base, plan.purgatory_window)])
    for (a, n), (b, _) in zip(spans, spans[1:]):
        assert a + n <= b
    for a, n in spans:
        assert a % 0x10000 == 0 and n % 0x10000 == 0 and 0x4000000 <= a and a + n <= 0x30000000
    assert plan.purgatory_base == 0x30000000 - 0x10000  # top of the real-mode window


def test_reserved_ranges_are_avoided(write_recipe, tmp_path, foreign_elfs) -> None:
    plan = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], load_min="0x4000000",
                 reserved=[{"start": "0x4000000", "size": "0x20000"}, {"start": "0x2fff0000", "size": "0x10000"}])
    assert plan.segments[0].mem == 0x4020000
    assert plan.purgatory_base == 0x2FFE0000


def test_fixed_overlap_is_reported(write_recipe, tmp_path, foreign_elfs) -> None:
    blob = tmp_path / "b"
    blob.write_bytes(b"b" * 10)
    with pytest.raises(RecipeError) as exc:
        _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"],
              blobs=[{"name": "b", "path": str(blob), "address": "0x5000000"}],
              initrd={"path": str(blob), "address": "0x5000000"})
    assert "overlaps" in exc.value.message


@pytest.mark.parametrize("name,message", [("x86_64", "EM_X86_64"), ("ppc64be", "big-endian kernel")])
def test_wrong_kernel_arch_or_endianness(write_recipe, tmp_path, foreign_elfs, name, message) -> None:
    with pytest.raises(RecipeError) as exc:
        _plan(write_recipe, tmp_path, foreign_elfs[name])
    assert exc.value.pointer == "/kernel/path" and message in exc.value.message


def test_not_an_elf_kernel(write_recipe, tmp_path) -> None:
    k = tmp_path / "k"
    k.write_bytes(b"MZ" + bytes(100))
    with pytest.raises(RecipeError) as exc:
        _plan(write_recipe, tmp_path, k)
    assert "not an ELF file" in exc.value.message


def test_corrupt_dtb(write_recipe, tmp_path, foreign_elfs) -> None:
    good = fdt.generate([(0, 1 << 30)], 1, "m", fdt.Chosen("", None, ()))
    bad = tmp_path / "bad.dtb"
    bad.write_bytes(good[:60] + b"\xff" * 16 + good[76:])
    with pytest.raises(RecipeError) as exc:
        _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], dtb={"path": str(bad)})
    assert exc.value.pointer == "/dtb/path" and "corrupt device tree" in exc.value.message
    notdt = tmp_path / "x.dtb"
    notdt.write_bytes(b"hello world" * 10)
    with pytest.raises(RecipeError) as exc:
        _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], dtb={"path": str(notdt)})
    assert "bad magic" in exc.value.message


def test_digest_follows_kexec_tools_rule(write_recipe, tmp_path, foreign_elfs) -> None:
    initrd = tmp_path / "initrd"
    initrd.write_bytes(bytes(range(256)) * 700)
    plan = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], initrd={"path": str(initrd)}, verify="full")
    h = hashlib.sha256()
    for s in sorted(plan.segments, key=lambda s: s.mem):
        h.update(s.source.read() + bytes(s.memsz - s.bufsz))
    assert plan.digest == h.hexdigest()
    assert plan.regions == [(s.mem, s.memsz) for s in plan.segments]
    data = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], initrd={"path": str(initrd)}, verify=True)
    h = hashlib.sha256()
    for s in data.segments:
        h.update(s.source.read())
    assert data.digest == h.hexdigest() and data.regions == [(s.mem, s.bufsz) for s in data.segments]
    none = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], verify=False)
    assert none.digest == "" and none.regions == []
    assert none.symbol_values()["kx_verify"] == bytes(4)


def test_generated_dtb_has_chosen_and_memreserve(write_recipe, tmp_path, foreign_elfs) -> None:
    initrd = tmp_path / "initrd"
    initrd.write_bytes(b"x" * 1000)
    plan = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], initrd={"path": str(initrd)}, cmdline="hello world")
    dt = next(s for s in plan.segments if s.kind == Kind.DTB)
    f = libfdt.Fdt(bytearray(dt.source.read()))
    chosen = f.path_offset("/chosen")
    assert f.getprop(chosen, "bootargs").as_str() == "hello world"
    ini = next(s for s in plan.segments if s.kind == Kind.INITRD)
    assert f.getprop(chosen, "linux,initrd-start").as_uint64() == ini.mem
    assert f.getprop(chosen, "linux,initrd-end").as_uint64() == ini.mem + 1000
    assert (plan.purgatory_base, plan.purgatory_window) in [tuple(f.get_mem_rsv(i)) for i in range(f.num_mem_rsv())]
    assert plan.dtb_addr == dt.mem


def test_given_dtb_is_fixed_up(write_recipe, tmp_path, foreign_elfs) -> None:
    old = fdt.generate([(0, 1 << 30)], 2, "captured", fdt.Chosen("old args", (0x2000000, 0x2100000),
                                                                ((0x2000000, 0x100000), (0x1d00000, 0x10000))))
    p = tmp_path / "cap.dtb"
    p.write_bytes(old)
    plan = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"], dtb={"path": str(p)}, cmdline="new args")
    dt = next(s for s in plan.segments if s.kind == Kind.DTB)
    f = libfdt.Fdt(bytearray(dt.source.read()))
    chosen = f.path_offset("/chosen")
    assert f.getprop(chosen, "bootargs").as_str() == "new args"
    assert f.getprop(chosen, "linux,initrd-start", [libfdt.NOTFOUND]) == -libfdt.NOTFOUND
    rsv = [tuple(f.get_mem_rsv(i)) for i in range(f.num_mem_rsv())]
    assert (0x2000000, 0x100000) not in rsv          # the old initrd's reservation is dropped
    assert (0x1d00000, 0x10000) in rsv               # firmware (e.g. RTAS) stays
    assert (plan.purgatory_base, plan.purgatory_window) in rsv


def test_ppc64_handoff_values(write_recipe, tmp_path, foreign_elfs) -> None:
    plan = _plan(write_recipe, tmp_path, foreign_elfs["ppc64le"])
    vals = plan.symbol_values()
    k = next(s for s in plan.segments if s.kind == Kind.KERNEL)
    img = elfimage.read(foreign_elfs["ppc64le"])
    assert int.from_bytes(vals["kx_kernel_entry"], "little") == plan.kernel_entry == k.mem + img.entry - img.vaddr
    assert int.from_bytes(vals["kx_dtb"], "little") == plan.dtb_addr
    assert vals["kx_kernel_head"] == k.source.read()[4:0x100].ljust(0xFC, b"\0")
    assert layout.Plan.from_json(plan.to_json()) == plan


# ---------------------------------------------------------------- load-time seeds (arm64)


def _arm64_image(tmp_path: Path) -> Path:
    import struct

    head = struct.pack("<IIQQQQQQ4sI", 0x14000010, 0, 0, 0x10000, 0x2, 0, 0, 0, b"ARM\x64", 0)
    p = tmp_path / "Image"
    p.write_bytes(head + bytes(range(256)) * 16)
    return p


def _arm64_plan(tmp_path: Path, **overrides) -> layout.Plan:
    ov = {"kernel": str(_arm64_image(tmp_path)), **overrides}
    return layout.make_plan(recipe.load("arm64-verified", ov), tmp_path / "out")


def test_arm64_seed_placeholders_are_holes(tmp_path) -> None:
    plan = _arm64_plan(tmp_path)
    dtb = next(s for s in plan.segments if s.kind == Kind.DTB)
    blob = Path(dtb.source.path).read_bytes()
    f = libfdt.Fdt(bytearray(blob))
    chosen = f.path_offset("/chosen")
    assert bytes(f.getprop(chosen, "kaslr-seed")) == bytes(8)
    assert bytes(f.getprop(chosen, "rng-seed")) == bytes(64)
    assert sorted(n for _, n in dtb.holes) == [8, 64]
    # each hole is exactly that property's value: writing there changes what libfdt reads
    for off, n in dtb.holes:
        x = bytearray(blob)
        x[off:off + n] = b"\xa5" * n
        g = libfdt.Fdt(x)
        vals = {bytes(g.getprop(g.path_offset("/chosen"), p)) for p in ("kaslr-seed", "rng-seed")}
        assert b"\xa5" * n in vals
        assert libfdt.fdt_check_full(x, len(x)) == 0
    # the regions skip the holes, and nothing else of the dtb segment
    mine = sorted((a - dtb.mem, a - dtb.mem + n) for a, n in plan.regions if dtb.mem <= a < dtb.mem + dtb.memsz)
    gaps, pos = [], 0
    for a, z in mine:
        if a > pos:
            gaps.append((pos, a - pos))
        pos = z
    assert pos == dtb.memsz  # verify full: to memsz
    assert gaps == sorted(dtb.holes)
    # the plan round-trips with its holes
    assert layout.Plan.from_json(plan.to_json()) == plan


def test_digest_does_not_depend_on_the_seed_bytes(tmp_path) -> None:
    plan = _arm64_plan(tmp_path)
    dtb = next(s for s in plan.segments if s.kind == Kind.DTB)
    path = Path(dtb.source.path)
    blob = bytearray(path.read_bytes())
    for off, n in dtb.holes:
        blob[off:off + n] = b"\x5a" * n
    path.write_bytes(blob)
    regions, digest = layout.region_digest(plan.segments, plan.verify)
    assert (regions, digest) == (plan.regions, plan.digest)
    # but any other byte of the tree does count
    blob[0x30] ^= 1
    path.write_bytes(blob)
    assert layout.region_digest(plan.segments, plan.verify)[1] != plan.digest


def _seg(tmp_path: Path, name: str, mem: int, memsz: int, data: bytes, holes=()) -> layout.PlannedSegment:
    from toolchain.kernels import Source

    p = tmp_path / name
    p.write_bytes(data)
    return layout.PlannedSegment(name, Kind.DTB if holes else Kind.RAW, mem, memsz, Source(str(p), 0, len(data)),
                                 hashlib.sha256(data).hexdigest(), True, tuple(holes))


@pytest.mark.parametrize("mode", ["full", "data"])
def test_region_splitting(tmp_path, mode) -> None:
    data = bytes(range(256)) * 4
    holes = ((0, 8), (100, 8), (108, 4), (1000, 24))   # at the start, adjacent pair, at the end
    s = _seg(tmp_path, "d", 0x10000, 0x1000, data, holes)
    regions, digest = layout.region_digest([s], mode)
    end = 0x1000 if mode == "full" else len(data)
    assert regions == [(0x10008, 92), (0x10070, 1000 - 112), (0x10000 + 1024, end - 1024)] if mode == "full" \
        else regions == [(0x10008, 92), (0x10070, 1000 - 112)]
    h = hashlib.sha256(data[8:100] + data[112:1000])
    if mode == "full":
        h.update(bytes(0x1000 - 1024))
    assert digest == h.hexdigest()


def test_too_many_regions_is_a_recipe_error(tmp_path) -> None:
    segs = [_seg(tmp_path, f"r{i}", i * 0x1000, 0x1000, b"x" * 64) for i in range(14)]
    segs.append(_seg(tmp_path, "dtb", 0x20000, 0x1000, b"y" * 200, ((10, 8), (50, 8))))
    with pytest.raises(RecipeError) as exc:
        layout.region_digest(segs, "full")
    assert "17 regions" in exc.value.message and exc.value.pointer == "/verify"


def test_manifest_lists_loadtime_fill(tmp_path) -> None:
    import json

    import jsonschema

    from toolchain import bundle, emit

    plan = _arm64_plan(tmp_path)
    segs = [bundle.Segment(s.name, s.kind, s.mem, s.memsz, s.source.read(),
                           bundle.SegFlag.VERIFIED | (bundle.SegFlag.SEEDS if s.holes else 0)) for s in plan.segments]
    segs.append(bundle.Segment("purgatory", Kind.PURGATORY, plan.purgatory_base, 0x1000, b"p" * 64, bundle.SegFlag.PURGATORY))
    b = bundle.Bundle(4, plan.purgatory_base, plan.page_size, bundle.FLAG_VERIFY, sorted(segs, key=lambda x: x.mem))
    man = emit.manifest(plan, b, 0x1000, "0" * 64, "cc", {}, {}, {})
    jsonschema.validate(man, json.loads((Path(__file__).resolve().parents[2] / "schemas" / "manifest.schema.json").read_text()))
    dtb = next(s for s in man["segments"] if s["kind"] == "dtb")
    holes = next(s.holes for s in plan.segments if s.kind == Kind.DTB)
    assert [(int(f["offset"], 16), int(f["len"], 16)) for f in dtb["loadtime_fill"]] == list(holes)
    assert all(f["fill"] == "random" for f in dtb["loadtime_fill"])
    assert all(s["loadtime_fill"] == [] for s in man["segments"] if s["kind"] != "dtb")
    bundle.parse(bundle.to_bytes(b))  # the Python reader accepts the SEEDS dtb
