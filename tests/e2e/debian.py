"""Host tools and Debian guest assets for the real-kernel end-to-end tests.

Why this module exists: the e2e tests boot a *real* distribution kernel under
QEMU, so they need (a) QEMU and friends on the host and (b) the guest's kernel,
a static busybox and, for comparison runs, Debian's own kexec-tools built for
the *guest* architecture.  We fetch the guest packages with the host's apt, but
pointed at a private state directory and a foreign architecture, so the host's
package database is never touched and nothing is pinned: the kernel is whatever
the distribution's kernel metapackage currently depends on.

Everything is downloaded once into a cache directory (``<repo>/.cache/e2e`` or
``$KX_E2E_CACHE``) and guarded by an fcntl lock so parallel pytest workers do
not race each other.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Host packages the harness needs.  Installed on demand so a fresh machine works.
HOST_PACKAGES: tuple[str, ...] = (
    "qemu-system-ppc", "qemu-system-x86", "qemu-system-arm", "busybox-static", "cpio",
)

#: Bumped when the layout of the cache changes, so stale caches are rebuilt.
_MANIFEST_VERSION = 2


@dataclass(frozen=True)
class DebianArch:
    """What differs between guest architectures; the download code is shared.

    ``kernel_glob`` is relative to the extracted package root.  ppc64el ships an
    uncompressed ELF ``vmlinux``; amd64/arm64 ship a ``vmlinuz`` boot image.
    """

    debian: str
    kernel_meta: str
    kernel_glob: str
    #: GNU multiarch triplet, where the shared libraries live.
    triplet: str
    #: Name of the ELF program interpreter inside the guest root.
    dynamic_loader: str


ARCHES: dict[str, DebianArch] = {
    "ppc64el": DebianArch(
        "ppc64el",
        "linux-image-powerpc64le",
        "boot/vmlinux-*",
        "powerpc64le-linux-gnu",
        "lib64/ld64.so.2",
    ),
    "amd64": DebianArch(
        "amd64",
        "linux-image-amd64",
        "boot/vmlinuz-*",
        "x86_64-linux-gnu",
        "lib64/ld-linux-x86-64.so.2",
    ),
    "arm64": DebianArch(
        "arm64",
        "linux-image-arm64",
        "boot/vmlinuz-*",
        "aarch64-linux-gnu",
        "lib/ld-linux-aarch64.so.1",
    ),
}


@dataclass
class GuestAssets:
    """Paths of the extracted guest files, as recorded in the cache manifest."""

    arch: str
    root: Path
    kernel: Path
    kernel_package: str
    kernel_version: str
    busybox: Path
    kexec: Path | None
    packages: dict[str, str] = field(default_factory=dict)  # name -> .deb filename
    download_bytes: int = 0
    download_seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        for key in ("root", "kernel", "busybox", "kexec"):
            d[key] = None if d[key] is None else str(d[key])
        d["version"] = _MANIFEST_VERSION
        return d

    @classmethod
    def from_json(cls, d: dict[str, object]) -> "GuestAssets":
        kexec = d.get("kexec")
        return cls(
            arch=str(d["arch"]),
            root=Path(str(d["root"])),
            kernel=Path(str(d["kernel"])),
            kernel_package=str(d["kernel_package"]),
            kernel_version=str(d["kernel_version"]),
            busybox=Path(str(d["busybox"])),
            kexec=None if kexec is None else Path(str(kexec)),
            packages=dict(d.get("packages") or {}),  # type: ignore[arg-type]
            download_bytes=int(d.get("download_bytes") or 0),  # type: ignore[arg-type]
            download_seconds=float(d.get("download_seconds") or 0.0),  # type: ignore[arg-type]
        )


def cache_dir() -> Path:
    """The download cache; ``$KX_E2E_CACHE`` overrides (CI may keep it warm)."""
    env = os.environ.get("KX_E2E_CACHE")
    path = Path(env) if env else REPO_ROOT / ".cache" / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock: one pytest worker downloads, the others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- host


def _missing_host_packages(packages: tuple[str, ...]) -> list[str]:
    missing = []
    for pkg in packages:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or "install ok installed" not in r.stdout:
            missing.append(pkg)
    return missing


def ensure_host_packages(packages: tuple[str, ...] = HOST_PACKAGES) -> None:
    """Install the host tools if missing.

    A fresh machine may have stale or empty apt lists, so a failed install is
    retried once after ``apt-get update`` (cheaper than always updating).
    """
    with file_lock(cache_dir() / "host-packages.lock"):
        missing = _missing_host_packages(packages)
        if not missing:
            return
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run(cmd, env=env).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=True)
            subprocess.run(cmd, env=env, check=True)


# --------------------------------------------------------------------------- mirror


@dataclass(frozen=True)
class Mirror:
    uri: str
    suite: str
    signed_by: str | None


def _parse_deb822(text: str) -> Iterator[dict[str, str]]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields:
            yield fields


def _host_source_entries() -> Iterator[tuple[str, list[str], list[str], str | None]]:
    """Yield (uri, suites, components, signed_by) from the host's apt sources."""
    files = [Path("/etc/apt/sources.list")]
    files += sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":
            for st in _parse_deb822(text):
                if "deb" not in st.get("types", "").split():
                    continue
                for uri in st.get("uris", "").split():
                    yield uri, st.get("suites", "").split(), st.get(
                        "components", ""
                    ).split(), st.get("signed-by")
        elif f.suffix == ".list" or f.name == "sources.list":
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if not line.startswith("deb "):
                    continue
                opts = re.search(r"\[([^\]]*)\]", line)
                signed = None
                if opts:
                    m = re.search(r"signed-by=(\S+)", opts.group(1))
                    signed = m.group(1) if m else None
                    line = line[: opts.start()] + line[opts.end() :]
                parts = line.split()
                if len(parts) >= 4:
                    yield parts[1], [parts[2]], parts[3:], signed


def host_mirror() -> Mirror:
    """The host's main Debian archive (not -security/-updates).

    Only the main suite is used for the foreign architecture: the ppc64el
    security index fails with "File has unexpected size" on this mirror setup,
    and the main suite has everything the tests need.
    """
    for uri, suites, comps, signed in _host_source_entries():
        if "security" in uri or "main" not in comps:
            continue
        for suite in suites:
            if "-" in suite or "/" in suite:
                continue
            return Mirror(uri.rstrip("/"), suite, signed)
    raise RuntimeError("no main Debian archive found in /etc/apt/sources.list*")


# --------------------------------------------------------------------------- apt


class ForeignApt:
    """apt-get/apt-cache for another architecture with private state.

    ``Dir::State::status=/dev/null`` makes apt believe nothing is installed, so
    it neither sees nor touches the host's dpkg database.
    """

    def __init__(self, arch: DebianArch, base: Path, mirror: Mirror) -> None:
        self.arch = arch
        self.base = base
        self.mirror = mirror
        self.lists = base / "lists"
        self.cache = base / "apt"
        self.parts = base / "sources.list.d"
        for d in (self.lists / "partial", self.cache / "archives" / "partial", self.parts):
            d.mkdir(parents=True, exist_ok=True)
        self.sources = base / "sources.list"
        opts = f"arch={arch.debian}"
        if mirror.signed_by:
            opts += f" signed-by={mirror.signed_by}"
        self.sources.write_text(
            f"deb [{opts}] {mirror.uri} {mirror.suite} main\n"
        )

    def options(self) -> list[str]:
        return [
            f"-oAPT::Architecture={self.arch.debian}",
            f"-oAPT::Architectures={self.arch.debian}",
            f"-oDir::State::Lists={self.lists}",
            f"-oDir::Cache={self.cache}",
            "-oDir::State::status=/dev/null",
            f"-oDir::Etc::SourceList={self.sources}",
            f"-oDir::Etc::SourceParts={self.parts}",
            "-oAPT::Get::List-Cleanup=0",
        ]

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        cmd = [tool, *self.options(), *args]
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def update(self) -> None:
        self.run("apt-get", "-q", "update")

    def depends(self, pkg: str) -> list[list[str]]:
        """Hard dependencies of ``pkg`` as lists of alternatives (first is preferred)."""
        out = self.run("apt-cache", "depends", "--no-recommends", "--no-suggests", pkg)
        groups: list[list[str]] = []
        alt = False
        for line in out.splitlines():
            m = re.match(r"\s*(\|)?(Pre)?Depends: (\S+)", line)
            if m:
                name = m.group(3).strip("<>")
                if alt and groups:
                    groups[-1].append(name)
                else:
                    groups.append([name])
                alt = bool(m.group(1))
            else:
                alt = False
        return groups

    def download(self, pkgs: list[str], dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)
        before = set(dest.glob("*.deb"))
        self.run("apt-get", "-q", "download", *pkgs, cwd=dest)
        after = set(dest.glob("*.deb"))
        found = []
        for pkg in pkgs:
            hits = sorted(p for p in after if p.name.startswith(pkg + "_"))
            if not hits:
                raise RuntimeError(f"apt-get download {pkg}: no .deb in {dest}")
            found.append(hits[-1])
        del before
        return found


def kernel_package(apt: ForeignApt) -> str:
    """The versioned kernel package the metapackage currently points at."""
    for group in apt.depends(apt.arch.kernel_meta):
        for name in group:
            if name.startswith("linux-image-") and name != apt.arch.kernel_meta:
                return name
    raise RuntimeError(f"{apt.arch.kernel_meta}: no linux-image-* dependency")


#: Packages that kexec-tools depends on but that are not needed to *run* its
#: ``kexec`` binary inside a minimal initramfs (install-time machinery).
_NOT_RUNTIME = {"debconf", "debconf-2.0", "cdebconf", "lsb-base", "init-system-helpers"}


def kexec_runtime_packages(apt: ForeignApt) -> list[str]:
    """kexec-tools plus the library packages its Depends name (first alternatives), transitively.

    Transitive because on amd64 kexec-tools links libxenctrl, whose package
    depends on further libxen* libraries.  libc6's own dependencies are not
    followed (libgcc-s1 is not needed by these programs; libc6 is always there).
    """
    pkgs = ["kexec-tools"]
    todo = ["kexec-tools"]
    while todo:
        pkg = todo.pop()
        if pkg == "libc6":
            continue
        for group in apt.depends(pkg):
            name = group[0]
            if name in _NOT_RUNTIME or name in pkgs or not (name.startswith("lib") or name.startswith("zlib")):
                continue
            pkgs.append(name)
            todo.append(name)
    return sorted(set(pkgs))


def _extract(deb: Path, root: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)


def fetch_guest_assets(arch_name: str = "ppc64el", with_kexec_tools: bool = True) -> GuestAssets:
    """Download (once) and extract the guest kernel, busybox and kexec-tools.

    The manifest is written last, so an interrupted download is simply redone.
    """
    arch = ARCHES[arch_name]
    base = cache_dir() / arch_name
    manifest = base / "manifest.json"
    with file_lock(cache_dir() / f"{arch_name}.lock"):
        if manifest.is_file():
            data = json.loads(manifest.read_text())
            if data.get("version") == _MANIFEST_VERSION and (
                data.get("kexec") or not with_kexec_tools
            ):
                assets = GuestAssets.from_json(data)
                if assets.kernel.is_file() and assets.busybox.is_file():
                    return assets

        t0 = time.monotonic()
        apt = ForeignApt(arch, base, host_mirror())
        apt.update()
        kpkg = kernel_package(apt)
        pkgs = [kpkg, "busybox-static"]
        if with_kexec_tools:
            pkgs += kexec_runtime_packages(apt)
        pkgs = list(dict.fromkeys(pkgs))
        debs = apt.download(pkgs, base / "debs")
        elapsed = time.monotonic() - t0

        root = base / "root"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir()
        for deb in debs:
            _extract(deb, root)

        kernels = sorted(glob.glob(str(root / arch.kernel_glob)))
        if len(kernels) != 1:
            raise RuntimeError(f"expected one kernel matching {arch.kernel_glob}: {kernels}")
        kernel = Path(kernels[0])
        version = re.sub(r"^vmlinu[xz]-", "", kernel.name)
        kexec = root / "sbin" / "kexec"
        assets = GuestAssets(
            arch=arch_name,
            root=root,
            kernel=kernel,
            kernel_package=kpkg,
            kernel_version=version,
            busybox=root / "bin" / "busybox",
            kexec=kexec if kexec.is_file() else None,
            packages={p: d.name for p, d in zip(pkgs, debs)},
            download_bytes=sum(d.stat().st_size for d in debs),
            download_seconds=round(elapsed, 2),
        )
        if with_kexec_tools and assets.kexec is None:
            raise RuntimeError("kexec-tools extracted but no sbin/kexec found")
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(assets.to_json(), indent=1, sort_keys=True))
        tmp.replace(manifest)
        return assets


if __name__ == "__main__":  # manual warm-up: python -m tests.e2e.debian [arch]
    import sys

    ensure_host_packages()
    a = fetch_guest_assets(sys.argv[1] if len(sys.argv) > 1 else "ppc64el")
    print(json.dumps(a.to_json(), indent=1))
