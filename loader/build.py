"""Build recipes for kxload, shared by loader/SConscript, the tests and bench/loader_size.py.

All compiler flags live here. ``build_loader`` cross-compiles the real static musl binary with
the project's pinned zig; ``build_host`` builds a host binary with gcc (optionally with the fake
system-call layer) for tests.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOADER = Path(__file__).resolve().parent
REPO = LOADER.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from toolchain.compilers import DEFAULT, reproducible_flags  # noqa: E402

# bundle arch name -> zig target of the static loader
TARGETS = {
    "ppc64le": "powerpc64le-linux-musl",
    "x86_64": "x86_64-linux-musl",
    "arm64": "aarch64-linux-musl",
    "ppc64": "powerpc64-linux-musl",
    "riscv64": "riscv64-linux-musl",
}
SIZE_LIMIT = 16384
# Arches whose kernels take load-time seeds from the device tree (/chosen/kaslr-seed,
# rng-seed): their loader is built with the seed filler (-DKX_SEEDS). The others refuse a
# bundle with a SEEDS segment, which keeps them inside the 16 KiB budget.
SEED_ARCHES = ("arm64", "riscv64")
SEEDS_FLAG = "-DKX_SEEDS"


def arch_cflags(arch: str) -> list[str]:
    return [SEEDS_FLAG] if arch in SEED_ARCHES else []

# Sources of the real loader (sys.c) and of the host test build (sys_fake.c replaces it).
COMMON_SOURCES = ("kxload.c", "bundle.c", "fmt.c")
REAL_SOURCES = COMMON_SOURCES + ("sys.c",)
FAKE_SOURCES = COMMON_SOURCES + ("sys_fake.c",)
HEADERS = ("bundle.h", "fmt.h", "sys.h")

WARNINGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
SIZE_FLAGS = [
    "-Os", "-static", "-s",
    "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections",
    "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
    "-fno-stack-protector", "-fno-sanitize=all", "-Wl,-z,norelro",
]


class BuildError(Exception):
    """A compiler run failed; the message holds the command and its output."""


def sources(fake_sys: bool = False) -> list[Path]:
    return [LOADER / s for s in (FAKE_SOURCES if fake_sys else REAL_SOURCES)]


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")


def loader_command(arch: str, out: Path) -> list[str]:
    """The zig command line that builds the real kxload for ``arch`` into ``out``."""
    try:
        target = TARGETS[arch]
    except KeyError:
        raise BuildError(f"unknown loader arch {arch!r}; known: {', '.join(TARGETS)}") from None
    return [*DEFAULT.cc(), "-target", target, *WARNINGS, *SIZE_FLAGS, *arch_cflags(arch),
            *reproducible_flags(REPO), "-o", str(out), *map(str, sources(False))]


def build_loader(arch: str, out_dir: Path, cache_dir: Path | None = None) -> Path:
    """Build the static, stripped ``kxload`` for bundle arch ``arch``; returns its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "kxload"
    # zig's cache beside the outputs (build/loader/.zig-cache for the real build tree)
    cache = Path(cache_dir) if cache_dir else out_dir.parent / ".zig-cache"
    _run(loader_command(arch, out), env=DEFAULT.env(cache))
    return out


def build_host(out: Path, fake_sys: bool = True, extra_cflags: tuple[str, ...] | list[str] = (),
               cc: str = "gcc") -> Path:
    """Host build of kxload for tests: the fake syscall layer by default (it never calls
    kexec_load or reboot), optional extra flags such as sanitizers. Always with the seed
    filler (KX_SEEDS) so the tests reach it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [cc, *WARNINGS, "-O1", "-g", SEEDS_FLAG, *extra_cflags, "-o", str(out), *map(str, sources(fake_sys))]
    _run(cmd)
    return out


def build_fuzzer(out: Path, cc: str = "clang", extra_cflags: tuple[str, ...] = ()) -> Path:
    """libFuzzer target over the pure parser, seed finder included (loader/fuzz_bundle.c)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-O1", "-g",
           "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all", SEEDS_FLAG, *extra_cflags,
           "-o", str(out), str(LOADER / "fuzz_bundle.c"), str(LOADER / "bundle.c"),
           str(LOADER / "fmt.c")]
    _run(cmd)
    return out


def build_all(arches: list[str] | None = None, root: Path | None = None,
              cache_dir: Path | None = None) -> dict[str, Path]:
    """Build several arches concurrently into root/<arch>/kxload."""
    from concurrent.futures import ThreadPoolExecutor

    arches = list(arches or TARGETS)
    root = Path(root) if root else REPO / "build" / "loader"
    cache = Path(cache_dir) if cache_dir else REPO / "build" / "loader" / ".zig-cache"
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        paths = pool.map(lambda a: build_loader(a, root / a, cache), arches)
        return dict(zip(arches, paths))


def main(argv: list[str]) -> int:
    for arch, path in build_all(argv or None).items():
        print(f"{arch}: {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
