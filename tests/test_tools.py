"""The bundle tools: inspect, verify, diff, emulate (on bundles built by scons)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "toolchain", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def built() -> Path:
    r = subprocess.run([sys.executable, "-m", "SCons", "-Q", "recipe=all"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return REPO / "build"


@pytest.mark.parametrize("sub", ["inspect", "verify", "diff", "emulate"])
def test_help(sub: str) -> None:
    r = tool(sub, "--help")
    assert r.returncode == 0 and "usage" in r.stdout


def test_inspect_json_matches_manifest(built: Path) -> None:
    r = tool("inspect", "--json", str(built / "ppc64-verified" / "bundle.kxb"))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    man = json.loads((built / "ppc64-verified" / "manifest.json").read_text())
    assert [(s["name"], s["mem"], s["memsz"], s["bufsz"]) for s in d["segments"]] == \
        [(s["name"], s["mem"], s["memsz"], s["bufsz"]) for s in man["segments"]]
    assert d["purgatory"]["digest"] == man["verify"]["digest"]
    assert d["entry"] == man["entry"]


def test_verify_catches_a_changed_input(built: Path, tmp_path: Path) -> None:
    """verify compares the input files named in the manifest when they are present."""
    blob = tmp_path / "initrd.bin"
    blob.write_bytes(b"A" * 5000)
    r = subprocess.run([sys.executable, "-m", "SCons", "-Q", "recipe=ppc64-verified", f"initrd={blob}"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    bundle = built / "ppc64-verified" / "bundle.kxb"
    assert tool("verify", str(bundle)).returncode == 0
    blob.write_bytes(b"B" * 5000)
    r = tool("verify", str(bundle))
    assert r.returncode == 1 and "input initrd" in r.stdout and "differs from the manifest" in r.stdout
    assert tool("verify", "--no-inputs", str(bundle)).returncode == 0
    subprocess.run([sys.executable, "-m", "SCons", "-Q", "recipe=ppc64-verified"], cwd=REPO, check=True,
                   capture_output=True)


def test_verify_catches_a_wrong_digest(built: Path, tmp_path: Path) -> None:
    """A bundle re-sealed after changing data (CRC and table fixed) fails the digest check."""
    from toolchain import bundle as kxb

    src = built / "x86_64-verified"
    dst = tmp_path / "t"
    dst.mkdir()
    b = kxb.read(src / "bundle.kxb")
    segs = [kxb.Segment(s.name, s.kind, s.mem, s.memsz,
                        bytes(s.data[:-1]) + bytes([s.data[-1] ^ 1]) if s.name == "kernel" else bytes(s.data), s.flags)
            for s in b.segments]
    (dst / "bundle.kxb").write_bytes(kxb.to_bytes(kxb.Bundle(b.arch_code, b.entry, b.page_size, b.flags, segs)))
    shutil.copy(src / "manifest.json", dst / "manifest.json")
    r = tool("verify", "--no-inputs", str(dst / "bundle.kxb"))
    assert r.returncode == 1 and "digest mismatch" in r.stdout
    r = tool("emulate", str(dst / "bundle.kxb"))
    assert r.returncode == 1 and "digest mismatch" in r.stdout


def test_diff_explains_differences(built: Path) -> None:
    a, b = built / "ppc64-fast" / "bundle.kxb", built / "ppc64-verified" / "bundle.kxb"
    same = tool("diff", str(a), str(a))
    assert same.returncode == 0 and "no differences" in same.stdout
    r = tool("diff", "--json", str(a), str(b))
    assert r.returncode == 1
    rows = {(d["area"], d["item"]): (d["a"], d["b"]) for d in json.loads(r.stdout)["differences"]}
    assert rows[("header", "verify")] == (False, True)
    assert rows[("purgatory", "kx_verify")] == ("00000000", "01000000")
    assert ("provenance", "options.verify") in rows and ("segment", "dtb.sha256") not in rows or True
    assert any(area == "segment" and item.startswith("dtb.") for area, item in rows)
    human = tool("diff", str(a), str(b)).stdout
    assert "kx_digest" in human and "provenance" in human


@pytest.mark.parametrize("recipe,verify", [("x86_64-verified", True), ("x86_64-fast", False),
                                           ("arm64-verified", True), ("arm64-fast", False)])
def test_emulate_reaches_the_kernel(built: Path, recipe: str, verify: bool) -> None:
    r = tool("emulate", "--json", str(built / recipe / "bundle.kxb"))
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["result"] == "entry" and rep["verify"] == verify
    man = json.loads((built / recipe / "manifest.json").read_text())
    kernel = next(s for s in man["segments"] if s["kind"] == "kernel")
    assert int(rep["pc"], 16) >= int(kernel["mem"], 16)
    if verify:
        assert "kx: verified" in rep["console"]
    else:
        assert rep["instructions"] < 1000


def test_emulate_ppc64_says_why_not(built: Path) -> None:
    r = tool("emulate", str(built / "ppc64-fast" / "bundle.kxb"))
    assert r.returncode == 2 and "unicorn cannot run PPC64" in r.stderr


@pytest.mark.parametrize("recipe,arch,qemu", [("ppc64-fast", "ppc64le", "qemu-ppc64le-static"),
                                              ("arm64-verified", "arm64", "qemu-aarch64-static")])
def test_static_loader_dry_run_matches_inspect(built: Path, recipe: str, arch: str, qemu: str) -> None:
    """The loader built by `scons recipe=...`, run on its arch (qemu-user), sees what inspect sees."""
    kxload = built / "loader" / arch / "kxload"
    assert kxload.is_file(), "scons recipe=... also builds the loader for the recipe's arch"
    bundle = built / recipe / "bundle.kxb"
    r = subprocess.run([qemu, str(kxload), "--dry-run", str(bundle)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [line.split() for line in r.stdout.splitlines()]
    segs = [(f[2], f[4], f[5], f[6]) for f in lines if f[0] == "segment"]
    entry = next(f[1] for f in lines if f[0] == "entry")
    ins = json.loads(tool("inspect", "--json", str(bundle)).stdout)
    assert segs == [(s["name"], s["mem"], s["memsz"], s["bufsz"]) for s in ins["segments"]]
    assert entry == ins["entry"]
