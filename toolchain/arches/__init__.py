"""Per-architecture knowledge, one module per arch.

Common code asks ``get(name)`` for an :class:`~toolchain.arches.base.Arch` and never branches
on the arch name itself. Adding an arch means adding a module here, a folder under
``purgatory/`` and ``payloads/``, and recipes.
"""
from __future__ import annotations

from .base import Arch, ArchError

_REGISTRY: dict[str, Arch] = {}


def register(arch: Arch) -> Arch:
    _REGISTRY[arch.name] = arch
    return arch


def get(name: str) -> Arch:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ArchError(f"unknown arch {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def by_code(code: int) -> Arch:
    _load_all()
    for arch in _REGISTRY.values():
        if arch.code == code:
            return arch
    raise ArchError(f"unknown arch code {code}")


def _load_all() -> None:
    """Import every arch module in this folder; each registers itself."""
    if _REGISTRY:
        return
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "base":
            importlib.import_module(f"{__name__}.{mod.name}")


__all__ = ["Arch", "ArchError", "get", "names", "by_code", "register"]
