"""Compiler providers.

The purgatory, the test payloads and the loader are all cross-compiled. The first provider is
the pinned ``ziglang`` wheel from PyPI: one download gives clang and lld for every target we
support, so no per-arch Debian cross packages are needed and every machine gets the same
compiler bytes. A second provider (GNU cross gcc) can be added beside it by implementing the
same small interface; nothing outside this module knows which compiler is in use.
"""
from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


class CompilerError(Exception):
    """The compiler could not be found or run."""


@dataclass(frozen=True)
class ZigCC:
    """clang/lld as shipped inside the ``ziglang`` wheel (invoked as ``zig cc``)."""

    name: str = "zig-cc"

    @functools.cached_property
    def zig(self) -> str:
        try:
            import ziglang  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - set-up problem
            raise CompilerError(
                "the 'ziglang' package is not installed; run: pip install -r requirements.txt"
            ) from exc
        path = Path(ziglang.__file__).parent / "zig"
        if not path.exists():
            raise CompilerError(f"zig binary missing from the ziglang package at {path}")
        return str(path)

    @functools.cached_property
    def version(self) -> str:
        out = subprocess.run([self.zig, "version"], capture_output=True, text=True, check=True)
        return f"zig {out.stdout.strip()}"

    def cc(self) -> list[str]:
        """Command prefix that behaves like ``cc``."""
        return [self.zig, "cc"]

    def env(self, cache_dir: str | os.PathLike[str]) -> dict[str, str]:
        """Environment for compiler runs.

        zig needs writable caches and refuses to start without HOME unless they are given.
        The local cache lives in the build tree; the global one (where zig keeps the musl
        libc it builds once per target, minutes of work) is shared per machine:
        ``$KX_ZIG_CACHE`` or ``~/.cache/purgatory-toolchain/zig``. It is content-addressed,
        so sharing it between checkouts changes no output byte.
        """
        cache = str(Path(cache_dir).resolve())
        env = {
            "ZIG_GLOBAL_CACHE_DIR": global_cache(),
            "ZIG_LOCAL_CACHE_DIR": os.path.join(cache, "local"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        if "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]
        return env


def global_cache() -> str:
    explicit = os.environ.get("KX_ZIG_CACHE")
    if explicit:
        return str(Path(explicit).resolve())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "purgatory-toolchain", "zig")


def reproducible_flags(*dirs: str | os.PathLike[str]) -> list[str]:
    """Flags that keep build paths and ids out of the output."""
    flags = ["-g0", "-Wl,--build-id=none"]
    for d in dirs:
        flags.append(f"-ffile-prefix-map={Path(d).resolve()}=.")
    return flags


DEFAULT = ZigCC()
