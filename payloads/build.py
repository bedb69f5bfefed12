"""Build the test payloads (tiny freestanding kernels) with the purgatory's compiler flags.

``build_payload(arch, out_dir)`` compiles every .c/.S in ``payloads/<arch dir>/`` with
toolchain.build's compile command (same zig target, arch flags and COMMON_CFLAGS as the
purgatory) and links them with that folder's ``link.ld``. ``base`` relinks at another
address; the tests use it to prove the payload is position-independent (identical bytes).
"""
from __future__ import annotations

from pathlib import Path

from toolchain.arches.base import Arch
from toolchain.build import compile_command, link_command, run, sources

# Extra flags for payloads only (none needed so far).
PAYLOAD_CFLAGS: tuple[str, ...] = ()


def build_payload(arch: Arch, out_dir: Path, base: int = 0) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = out_dir / "zig-cache"
    objs = []
    for src in sources(arch.payload_src):
        obj = out_dir / f"payload-{src.name}.o"  # payload.S and payload.c share a stem
        run(compile_command(arch, src, obj, extra=list(PAYLOAD_CFLAGS)), cache)
        objs.append(obj)
    elf = out_dir / "payload.img"  # an ELF on ppc64; the arch post-step may turn it into its kernel format
    script = arch.payload_src / "link.ld"
    if base:
        # zig cc passes no --defsym through: relink with a rewritten copy of the script.
        text = script.read_text()
        marker = ". = 0x0; /* LINK-BASE */"
        if marker not in text:
            raise ValueError(f"{script}: no '{marker}' line to rebase")
        script = out_dir / "payload.ld"
        script.write_text(text.replace(marker, f". = 0x{base:x};"))
    run(link_command(arch, objs, script, elf), cache)
    if (arch.payload_src / "build.py").is_file():  # per-arch post-link step (x86_64: ELF -> bzImage)
        import importlib
        return importlib.import_module(f"payloads.{arch.payload_src.name}.build").finish(elf, out_dir)
    return elf
