"""Everything the SConstruct declares, kept in the package so the SConstruct stays thin.

Graph per recipe (objects are shared by every recipe of the same arch):

    purgatory/{common,<arch>}/*.[cS] --compile--> build/obj/<arch>/*.o --link--> build/<r>/purgatory.elf
    recipe (Value) + input files ------plan-----> build/<r>/plan.json (+ dtb.bin)
    plan.json + purgatory.elf ---------patch----> build/<r>/purgatory.patched.elf
    plan.json + patched + inputs ------emit-----> build/<r>/bundle.kxb, manifest.json

The linker script depends only on the arch and the purgatory's address, which the layout
keeps stable, so a recipe-only change (command line, verify flag, initrd) re-runs plan, patch
and emit and compiles nothing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import arches, build, recipe as recipemod
from .arches.base import REPO, Arch
from .compilers import DEFAULT

BUILD = REPO / "build"
ERRORS = (recipemod.RecipeError,)


def _fail(exc: Exception) -> int:
    sys.stderr.write(f"error: {exc}\n")
    return 1


def _catching(fn: Any, label: str = "") -> Any:
    def action(target: Any, source: Any, env: Any) -> int:
        from .bundle import BundleError
        from .elfimage import ElfImageError
        from .emit import EmitError
        from .fdt import FdtError
        from .patch import PatchError

        try:
            fn(target, source, env)
            return 0
        except (recipemod.RecipeError, PatchError, EmitError, BundleError, FdtError, ElfImageError,
                build.BuildError, OSError) as exc:
            for t in target:
                Path(str(t)).unlink(missing_ok=True)
            return _fail(exc)
    action.__name__ = fn.__name__
    from SCons.Action import Action  # type: ignore[import-not-found]

    return Action(action, f"{label or fn.__name__} $TARGET")


def help_text() -> str:
    lines = ["purgatory toolchain: JSON recipe -> kexec bundle", "",
             "usage: scons recipe=NAME[,NAME...|all] [kernel=PATH] [initrd=PATH] [dtb=PATH] [cmdline='...']", "",
             "Recipes (recipes/*.json):"]
    for name in recipemod.known_recipes():
        try:
            desc = json.loads((recipemod.RECIPES_DIR / f"{name}.json").read_text()).get("description", "")
        except (OSError, ValueError):
            desc = "(unreadable)"
        lines.append(f"  {name:<20} {desc}")
    lines += ["", "Variables:", "  recipe=NAME        recipe(s) to build: a name, a comma list, 'all', or a path to a .json"]
    for key, what in recipemod.OVERRIDES.items():
        lines.append(f"  {key + '=...':<18} override: {what}")
    lines += ["  cache=DIR          share built files through an SCons CacheDir",
              "  loaders=1          build the static loader for all five arches", "",
              "Outputs: build/<recipe>/bundle.kxb, build/<recipe>/manifest.json, build/loader/<arch>/kxload",
              "Clean with: scons -c recipe=NAME"]
    return "\n".join(lines) + "\n"


class Builder:
    def __init__(self, env: Any) -> None:
        self.env = env
        self.cc = DEFAULT
        self.cache = BUILD / "zig-cache"
        self._objs: dict[str, list[Any]] = {}
        self._payloads: dict[str, Any] = {}
        self.env["ENV"] = self.cc.env(self.cache)
        self.verbose = env.get("VERBOSE", False)

    def _cmd(self, command: str, label: str) -> Any:
        from SCons.Action import Action  # type: ignore[import-not-found]

        return Action(command, None if self.verbose else f"{label} $TARGET")

    def objects(self, arch: Arch) -> list[Any]:
        if arch.name in self._objs:
            return self._objs[arch.name]
        env = self.env
        out_dir = BUILD / "obj" / arch.name
        headers = [str(p) for d in (REPO / "purgatory" / "common", arch.purgatory_src) for p in sorted(d.glob("*.h"))]
        objs = []
        for src in build.purgatory_sources(arch):
            obj = out_dir / f"{src.parent.name}-{src.stem}.o"
            cmd = build.compile_command(arch, Path("$SOURCE"), Path("$TARGET"), self.cc)
            node = env.Command(str(obj), str(src), self._cmd(" ".join(cmd), "cc"))
            env.Depends(node, headers)
            objs.extend(node)
        self._objs[arch.name] = objs
        return objs

    def purgatory(self, r: recipemod.Recipe, out: Path, base: int) -> Any:
        env = self.env
        script_text = r.arch.linker_script(base)
        script = env.Command(str(out / "purgatory.ld"), env.Value(script_text), _catching(_do_script, "ld-script"))
        objs = self.objects(r.arch)
        link = build.link_command(r.arch, [Path("${SOURCES[1:]}")], Path("${SOURCES[0]}"), Path("$TARGET"), self.cc)
        elf = env.Command(str(out / "purgatory.elf"), script + objs,
                          [self._cmd(" ".join(link), "link"),
                           _catching(_do_check, "check")])
        return elf

    def payload(self, arch: Arch) -> Any:
        if arch.name in self._payloads:
            return self._payloads[arch.name]
        out_dir = BUILD / "payload" / arch.name

        srcs = [str(p) for p in sorted(arch.payload_src.iterdir()) if p.is_file()]
        node = self.env.Command(str(out_dir / "payload.img"), [self.env.Value(arch.name), *srcs],
                                _catching(_do_payload, "payload"))
        self._payloads[arch.name] = node
        return node

    def recipe(self, r: recipemod.Recipe, overrides: dict[str, str]) -> list[Any]:
        env = self.env
        out = BUILD / r.name
        inputs = [str(i.path) for i in (r.kernel, r.initrd, r.dtb, *r.blobs) if i is not None and i.path is not None]
        payload = self.payload(r.arch) if r.kernel_builtin else []
        toolchain_py = [str(p) for p in sorted((REPO / "toolchain").rglob("*.py"))]
        # The purgatory's address must be known before linking; the layout computes it from
        # the recipe alone (no input sizes), so SConstruct-time planning of it is cheap.
        base = purgatory_base(r)
        elf = self.purgatory(r, out, base)
        recipe_value = env.Value(json.dumps({"data": r.data, "file": r.file, "sha": r.sha256, "base": base,
                                             "overrides": overrides, "out": str(out)}, sort_keys=True))
        dtb = [str(out / "dtb.bin")] if (r.dtb or r.dtb_generate) else []
        # symbols.json holds only what patching writes: when a change leaves it byte-identical
        # (e.g. a new command line with verify off), SCons skips the patch step entirely.
        plan = env.Command([str(out / "plan.json"), str(out / "symbols.json"), *dtb],
                           [recipe_value, *payload, *inputs], _catching(_do_plan, "plan"))
        env.Depends(plan, toolchain_py)
        patched = env.Command(str(out / "purgatory.patched.elf"), [plan[1], *elf], _catching(_do_patch, "patch"))
        outputs = env.Command([str(out / "bundle.kxb"), str(out / "manifest.json")],
                              [plan[0], *patched, *plan[2:], *inputs, *payload], _catching(_do_emit, "emit"))
        env.Depends(outputs, toolchain_py)
        env.Clean(outputs, [str(out)])
        return outputs


# Actions are module-level functions that take everything from their sources: SCons
# signs a Python action by its code and closure, so closures over live objects would make
# every run look like a change.

def _do_script(target: Any, source: Any, env: Any) -> None:
    Path(str(target[0])).write_text(source[0].read())


def _do_check(target: Any, source: Any, env: Any) -> None:
    build.check_fully_linked(Path(str(target[0])))


def _do_payload(target: Any, source: Any, env: Any) -> None:
    # SCons restores sys.path after reading the SConstruct; the repo root must be re-added
    # for the payloads package to import when the action runs.
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from payloads import build as payload_build  # type: ignore[import-not-found]

    payload_build.build_payload(arches.get(source[0].read()), Path(str(target[0])).parent)


def _do_plan(target: Any, source: Any, env: Any) -> None:
    from . import layout

    spec = json.loads(source[0].read())
    fresh = recipemod.load(spec["file"], spec["overrides"])
    pay = Path(str(source[1])) if fresh.kernel_builtin else None
    plan = layout.make_plan(fresh, Path(spec["out"]), pay)
    if plan.purgatory_base != spec["base"]:
        raise recipemod.RecipeError(fresh.file, "/purgatory", "the purgatory moved during planning; run scons again")
    layout.write_plan(plan, Path(str(target[0])))
    values = {k: v.hex() for k, v in sorted(plan.symbol_values().items())}
    Path(str(target[1])).write_text(json.dumps(values, indent=1) + "\n")


def _do_patch(target: Any, source: Any, env: Any) -> None:
    from . import patch

    values = {k: bytes.fromhex(v) for k, v in json.loads(Path(str(source[0])).read_text()).items()}
    patch.patch_symbols(str(source[1]), str(target[0]), values)


def _do_emit(target: Any, source: Any, env: Any) -> None:
    from . import emit, layout

    p = layout.read_plan(Path(str(source[0])))
    emit.emit(p, Path(str(source[1])), Path(str(target[0])), Path(str(target[1])), DEFAULT.version)


def purgatory_base(r: recipemod.Recipe) -> int:
    """Where the purgatory goes, from the recipe alone (no input files read)."""
    from .layout import Allocator, _align_up

    if r.purgatory_address is not None:
        return r.purgatory_address
    alloc = Allocator(r, r.arch.address_limit(list(r.memory)))
    for inp in (r.kernel, r.initrd, r.dtb, *r.blobs):
        if inp is not None and inp.address is not None:
            # Sizes are not known yet; a fixed segment only blocks its first page here, and
            # the full placement in the plan step checks the real overlap.
            alloc.taken.append((inp.address, r.page_size, inp.pointer))
    return alloc.top_fit("/purgatory", _align_up(r.arch.purgatory_window, r.page_size), r.page_size)


def recipe_names(arg: str) -> list[str]:
    if arg == "all":
        return recipemod.known_recipes()
    return [a for a in arg.split(",") if a]
