"""kxload: load-time seeds (SEEDS segments: /chosen/kaslr-seed and rng-seed filled at load).

The host build has the seed filler (KX_SEEDS); the fake syscall layer dumps the buffers handed
to kexec_load (KXLOAD_FAKE_DUMP), so the tests see exactly what the kernel would copy.
"""
from __future__ import annotations

import struct
import subprocess

import pytest

from conftest import b, compact, have, make_bundle, seg, set_seg
from toolchain import fdt as fdtmod

EXIT_OK, EXIT_USAGE, EXIT_READ, EXIT_INVALID, EXIT_MACHINE = range(5)
SEEDS = (("kaslr-seed", 8), ("rng-seed", 64))


def tree(seeds=SEEDS) -> tuple[bytes, tuple[tuple[int, int], ...]]:
    chosen = fdtmod.Chosen("console=ttyAMA0", (0x44000000, 0x44001000), ((0x7fff0000, 0x10000),), (), seeds)
    blob = fdtmod.generate([(0x40000000, 1 << 30)], 2, "kx,test", chosen)
    return blob, fdtmod.seed_holes(blob, chosen)


def seeds_bundle(dt: bytes, arch: int = 3, dtb_flags=b.SegFlag.VERIFIED | b.SegFlag.SEEDS) -> bytes:
    segs = [
        seg("kernel", b.Kind.KERNEL, 0x0, 0x8000, bytes(range(256)) * 20, b.SegFlag.VERIFIED),
        seg("dtb", b.Kind.DTB, 0x20000, 0x1000 * (1 + len(dt) // 0x1000), dt, dtb_flags),
        seg("purgatory", b.Kind.PURGATORY, 0x28000, 0x2000, b"\x60\x00\x00\x00" * 64, b.SegFlag.PURGATORY),
    ]
    return make_bundle(arch=arch, segments=segs)


def write(tmp_path, data, name="b.kxb"):
    p = tmp_path / name
    p.write_bytes(bytes(data))
    return p


def load_and_dump(run_host, tmp_path, path, tag):
    dump = tmp_path / f"dump-{tag}"
    dump.mkdir()
    r = run_host(str(path), env={"KXLOAD_FAKE_DUMP": str(dump)})
    return r, [(dump / f"segment-{i}.bin").read_bytes() for i in range(3)]


def test_seeds_are_random_and_only_the_seeds_change(run_host, tmp_path):
    dt, holes = tree()
    assert [n for _, n in holes] == [64, 8] or sorted(n for _, n in holes) == [8, 64]
    data = seeds_bundle(dt)
    path = write(tmp_path, data)
    bb = b.parse(data)
    r1, d1 = load_and_dump(run_host, tmp_path, path, 1)
    r2, d2 = load_and_dump(run_host, tmp_path, path, 2)
    for r in (r1, r2):
        assert r.rc == EXIT_OK, r.stderr
        assert sorted(c for c in r.calls if c.startswith("getrandom")) == ["getrandom len=64", "getrandom len=8"]
        assert r.calls.index("getrandom len=8") < next(i for i, c in enumerate(r.calls) if c.startswith("kexec_load"))
    # every other segment and every other byte of the tree is exactly the bundle's
    for i in (0, 2):
        assert d1[i] == d2[i] == bytes(bb.segments[i].data)
    mask = bytearray(dt)
    for off, n in holes:
        mask[off:off + n] = bytes(n)
    for d in (d1[1], d2[1]):
        got = bytearray(d)
        assert len(got) == len(dt)
        for off, n in holes:
            assert got[off:off + n] != bytes(n)       # filled (8 zero random bytes: 2^-64)
            got[off:off + n] = bytes(n)
        assert got == mask
    for off, n in holes:
        assert d1[1][off:off + n] != d2[1][off:off + n]   # fresh at every load
    # the file itself is untouched (private copy-on-write mapping)
    assert path.read_bytes() == data


def test_dry_run_fills_nothing(run_host, tmp_path):
    dt, _ = tree()
    r = run_host("--dry-run", str(write(tmp_path, seeds_bundle(dt))))
    assert r.rc == EXIT_OK and r.calls == [], r.stderr
    assert " dtb 0x20000 " in r.stdout and r.stdout.split("segment 1 ")[1].split("\n")[0].endswith(" 0x6")


def test_compact_bundle_fills_unaligned_data(run_host, tmp_path):
    """Segment data at a 16-byte (not page) aligned file offset: mprotect rounds down."""
    dt, holes = tree()
    data = compact(seeds_bundle(dt))
    path = write(tmp_path, data)
    r, d = load_and_dump(run_host, tmp_path, path, "c")
    assert r.rc == EXIT_OK, r.stderr
    for off, n in holes:
        assert d[1][off:off + n] != bytes(n)


def test_only_one_seed_is_enough(run_host, tmp_path):
    dt, holes = tree((("kaslr-seed", 8),))
    r, d = load_and_dump(run_host, tmp_path, write(tmp_path, seeds_bundle(dt)), "k")
    assert r.rc == EXIT_OK and [c for c in r.calls if c.startswith("getrandom")] == ["getrandom len=8"]


def test_getrandom_failure_never_loads_zeros(run_host, tmp_path):
    dt, _ = tree()
    r = run_host(str(write(tmp_path, seeds_bundle(dt))), env={"KXLOAD_FAKE_GETRANDOM_ERRNO": "38"})
    assert r.rc == EXIT_READ
    assert "cannot fill load-time seeds: getrandom failed: ENOSYS" in r.stderr
    assert not any(c.startswith("kexec_load") for c in r.calls)


def test_seeds_flag_on_non_dtb_refused(run_host, tmp_path):
    dt, _ = tree()
    data = set_seg(seeds_bundle(dt), 0, "flags", int(b.SegFlag.VERIFIED | b.SegFlag.SEEDS))
    for args in ([], ["--dry-run"]):
        r = run_host(*args, str(write(tmp_path, data)))
        assert r.rc == EXIT_INVALID and r.calls == []
        assert "segment 0: SEEDS flag on kind 1, not dtb" in r.stderr


def _mutations(dt: bytes):
    """Malformed trees: (id, bytes, reason)."""
    off_struct, off_strings = struct.unpack_from(">II", dt, 8)
    size_strings, size_struct = struct.unpack_from(">II", dt, 32)

    def put(off, value, base=dt):
        x = bytearray(base)
        struct.pack_into(">I", x, off, value)
        return bytes(x)

    yield "bad-magic", put(0, 0xd00dfeee), "bad magic"
    yield "short", dt[:39], "bad magic"
    yield "totalsize-past-data", put(4, len(dt) + 4), "bad header"
    yield "old-version", put(20, 16), "bad header"
    yield "struct-unaligned", put(8, off_struct + 2), "bad header"
    yield "struct-past-end", put(36, len(dt)), "bad header"
    yield "strings-past-end", put(32, len(dt)), "bad header"
    yield "struct-cut", put(36, size_struct - 4), "no FDT_END"
    yield "unknown-token", put(off_struct, 7), "unknown token"
    yield "end-first", put(off_struct, 9), "FDT_END inside a node"
    yield "end-node-first", put(off_struct, 2), "unbalanced FDT_END_NODE"
    # the first property of the root node: its nameoff out of the strings block, its length huge
    prop = off_struct + 8   # BEGIN_NODE + empty root name padded to 4
    assert struct.unpack_from(">I", dt, prop)[0] == 3
    yield "nameoff-out", put(prop + 8, size_strings), "bad property"
    yield "prop-len-huge", put(prop + 4, 0xFFFFFFF0), "bad property"
    yield "strings-unterminated", put(32, 3), "bad property"   # "#address-cells" cut


@pytest.mark.parametrize("case", list(_mutations(tree()[0])), ids=lambda c: c[0] if isinstance(c, tuple) else c)
def test_malformed_tree_refused_before_any_syscall(run_host, tmp_path, case):
    _, dt, reason = case
    path = write(tmp_path, seeds_bundle(dt))
    for args in ([str(path)], ["--exec", str(path)], ["--dry-run", str(path)]):
        r = run_host(*args)
        assert r.rc == EXIT_INVALID and r.calls == [], (args, r.stderr)
        assert f"segment 1: device tree for load-time seeds: {reason}" in r.stderr, r.stderr


def test_tree_without_seeds_refused(run_host, tmp_path):
    dt, _ = tree(())
    r = run_host(str(write(tmp_path, seeds_bundle(dt))))
    assert r.rc == EXIT_INVALID and r.calls == []
    assert "no /chosen/kaslr-seed or rng-seed" in r.stderr
    # ... and the same tree without the flag is an ordinary dtb, loaded as is
    r = run_host(str(write(tmp_path, seeds_bundle(dt, dtb_flags=b.SegFlag.VERIFIED), "plain.kxb")))
    assert r.rc == EXIT_OK and not any(c.startswith("getrandom") for c in r.calls)


def test_seeds_under_a_child_of_chosen_or_elsewhere_ignored(run_host, tmp_path):
    import libfdt

    dt, holes = tree((("kaslr-seed", 8),))
    f = libfdt.Fdt(bytearray(dt))
    f.resize(len(dt) + 512)
    child = f.add_subnode(f.path_offset("/chosen"), "sub")
    f.setprop(child, "rng-seed", bytes(16))
    f.setprop(f.path_offset("/cpus"), "kaslr-seed", bytes(8))
    f.pack()
    dt2 = bytes(f.as_bytearray())
    r, d = load_and_dump(run_host, tmp_path, write(tmp_path, seeds_bundle(dt2)), "x")
    assert r.rc == EXIT_OK, r.stderr
    assert [c for c in r.calls if c.startswith("getrandom")] == ["getrandom len=8"]


@pytest.mark.parametrize("arch, code, qemu, rc", [("ppc64", 2, "qemu-ppc64-static", EXIT_MACHINE),
                                                  ("ppc64le", 1, "qemu-ppc64le-static", EXIT_MACHINE),
                                                  ("arm64", 4, "qemu-aarch64-static", EXIT_OK)])
def test_real_binaries_and_seeds(real_loaders, tmp_path, arch, code, qemu, rc):
    """Only the arm64/riscv64 loaders have the seed filler; the others refuse SEEDS (exit 4)."""
    if not have(qemu):
        pytest.skip(f"{qemu} not installed")
    dt, _ = tree()
    path = write(tmp_path, seeds_bundle(dt, arch=code))
    p = subprocess.run([qemu, str(real_loaders[arch]), "--dry-run", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == rc, p.stderr
    if rc == EXIT_MACHINE:
        assert "segment 1: this loader cannot fill load-time seeds" in p.stderr
    else:
        bad = write(tmp_path, seeds_bundle(b"\0" + dt[1:], arch=code), "bad.kxb")
        p = subprocess.run([qemu, str(real_loaders[arch]), "--dry-run", str(bad)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == EXIT_INVALID and "device tree for load-time seeds" in p.stderr, p.stderr
