"""The SCons front end: what a user at a desk sees."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def scons(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "SCons", "-Q", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def built() -> Path:
    for name in ("ppc64-fast", "ppc64-verified"):
        r = scons(f"recipe={name}")
        assert r.returncode == 0, r.stdout + r.stderr
    return REPO / "build"


@pytest.mark.parametrize("name", ["ppc64-fast", "ppc64-verified"])
def test_shipped_recipes_build_and_verify(built: Path, name: str) -> None:
    assert (built / name / "bundle.kxb").is_file() and (built / name / "manifest.json").is_file()
    r = subprocess.run([sys.executable, "-m", "toolchain", "verify", str(built / name / "bundle.kxb")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    man = json.loads((built / name / "manifest.json").read_text())
    assert (man["verify"] is False) == (name == "ppc64-fast")


def test_help_lists_recipes_and_variables() -> None:
    r = scons("--help")
    assert r.returncode == 0
    for word in ("ppc64-fast", "ppc64-verified", "kernel=", "initrd=", "cmdline=", "cache="):
        assert word in r.stdout


def test_unknown_recipe() -> None:
    r = scons("recipe=nope")
    assert r.returncode != 0
    assert "unknown recipe 'nope'" in r.stdout + r.stderr and "ppc64-fast" in r.stdout + r.stderr


def _write(tmp_path: Path, **fields) -> Path:
    base = json.loads((REPO / "recipes" / "ppc64-fast.json").read_text())
    base.pop("$schema", None)
    base.update(fields)
    p = tmp_path / "kxtest-bad.json"
    p.write_text(json.dumps(base))
    return p


@pytest.mark.parametrize("fields,needle", [
    ({"initrd": {"path": "missing.cpio"}}, "/initrd/path"),
    ({"memory": [{"start": "0x0", "size": "0x1000"}]}, "/memory/0"),
    ({"arch": "sparc"}, "/arch"),
])
def test_bad_recipe_writes_no_bundle(tmp_path: Path, fields, needle) -> None:
    p = _write(tmp_path, **fields)
    out = REPO / "build" / "kxtest-bad"
    shutil.rmtree(out, ignore_errors=True)
    r = scons(f"recipe={p}")
    assert r.returncode != 0
    assert needle in r.stdout + r.stderr and "kxtest-bad.json" in r.stdout + r.stderr
    assert not (out / "bundle.kxb").exists()


def test_wrong_kernel_in_action_writes_no_bundle(tmp_path: Path, foreign_elfs) -> None:
    p = _write(tmp_path)
    out = REPO / "build" / "kxtest-bad"
    shutil.rmtree(out, ignore_errors=True)
    r = scons(f"recipe={p}", f"kernel={foreign_elfs['x86_64']}")
    assert r.returncode != 0
    assert "EM_X86_64" in r.stderr and "/kernel/path" in r.stderr
    assert not (out / "bundle.kxb").exists() and not (out / "manifest.json").exists()


def test_recipe_only_change_compiles_nothing(tmp_path: Path, built: Path) -> None:
    p = _write(tmp_path, cmdline="first")
    assert scons(f"recipe={p}").returncode == 0
    noop = scons(f"recipe={p}")
    assert noop.returncode == 0 and "up to date" in noop.stdout
    for change in ("cmdline=second", "verify=full"):
        r = scons(f"recipe={p}", change)
        assert r.returncode == 0, r.stderr
        steps = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
        assert "emit" in steps and "plan" in steps
        assert "cc" not in steps and "link" not in steps, r.stdout


def _copy_tree(dst: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        src = REPO / f
        if src.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / f)


def _as_other_user(tree: Path) -> list[str]:
    """Prefix that runs a command as 'nobody' when we are root (CI is), else nothing."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return []
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # The other user must be able to run this interpreter and import SCons (a checkout in a
    # private directory hides the venv from it); otherwise build as ourselves.
    probe = subprocess.run([*prefix, sys.executable, "-c", "import SCons, lief, libfdt"], capture_output=True)
    if probe.returncode != 0:
        return []
    subprocess.run(["chown", "-R", "65534:65534", str(tree)], check=True)
    return prefix


def test_reproducible_in_two_directories(tmp_path: Path) -> None:
    """Every shipped recipe: same bytes from two trees at different paths, times, umasks, users."""
    from toolchain import recipe as recipemod

    names = recipemod.known_recipes()
    # The second tree must be reachable by another user: pytest's tmp dirs are private.
    other = Path(tempfile.mkdtemp(prefix="kx-repro-"))
    other.chmod(0o755)
    trees = [tmp_path / "first" / "checkout", other / "second-place" / "tree"]
    outputs = []
    for i, tree in enumerate(trees):
        _copy_tree(tree)
        targets = [f"build/{n}/bundle.kxb" for n in names]
        prefix = _as_other_user(other) if i == 1 else []
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(1_000_000 + i * 12345),
               "KX_ZIG_CACHE": str(tree / ".zig-global"), "HOME": str(tree)}
        old = os.umask(0o022 if i == 0 else 0o077)
        try:
            r = subprocess.run([*prefix, sys.executable, "-m", "SCons", "-Q", "recipe=all", "-j2", *targets],
                               cwd=tree, capture_output=True, text=True, env=env, timeout=600)
        finally:
            os.umask(old)
        assert r.returncode == 0, r.stdout + r.stderr
        outputs.append({p.relative_to(tree / "build"): p.read_bytes()
                        for p in sorted((tree / "build").glob("*/*")) if p.name in ("bundle.kxb", "manifest.json")})
    shutil.rmtree(other, ignore_errors=True)
    assert len(outputs[0]) == 2 * len(names) and outputs[0].keys() == outputs[1].keys()
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between the two trees"


def test_cache_dir_hit_gives_the_same_bytes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.rmtree(REPO / "build" / "ppc64-verified", ignore_errors=True)
    first = scons("recipe=ppc64-verified", f"cache={cache}", "build/ppc64-verified/bundle.kxb")
    assert first.returncode == 0, first.stderr
    out = REPO / "build" / "ppc64-verified"
    before = {n: (out / n).read_bytes() for n in ("bundle.kxb", "manifest.json")}
    shutil.rmtree(out)
    second = scons("recipe=ppc64-verified", f"cache={cache}", "build/ppc64-verified/bundle.kxb")
    assert second.returncode == 0, second.stderr
    assert "Retrieved" in second.stdout, second.stdout
    assert {n: (out / n).read_bytes() for n in before} == before
