"""Load a recipe: JSON → merge ``extends`` → JSON Schema → command-line overrides → semantic checks.

Every problem is a :class:`RecipeError` naming the file that set the bad value, the JSON
pointer of the field and what to do about it, so a firmware engineer can fix a recipe from
the message alone.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import arches
from .arches.base import REPO, Arch

SCHEMA_PATH = REPO / "schemas" / "recipe.schema.json"
RECIPES_DIR = REPO / "recipes"
COMMAND_LINE = "<command line>"
MAX_SEGMENTS = 16
# What `"verify": true` (or no verify at all) means; README "What is verified" argues for it.
DEFAULT_VERIFY = "data"


class RecipeError(Exception):
    """A recipe that cannot be used.

    ``file`` is the recipe (or input) file at fault, ``pointer`` the JSON pointer of the
    field, ``message`` what is wrong and ``hint`` what to do.
    """

    def __init__(self, file: str, pointer: str, message: str, hint: str = "") -> None:
        self.file = file
        self.pointer = pointer
        self.message = message
        self.hint = hint
        where = f"{file}: {pointer or '/'}" if pointer is not None else file
        super().__init__(f"{where}: {message}" + (f" ({hint})" if hint else ""))


@dataclass(frozen=True)
class Input:
    """One file-backed segment as the recipe names it."""

    role: str                    # "kernel", "initrd", "dtb" or the blob's name
    pointer: str                 # JSON pointer of the object in the recipe
    path: Path | None            # resolved path, None for built-in/generated inputs
    given: str | None            # the path as written (for provenance)
    address: int | None
    origin: str                  # file (or command line) that set the path


@dataclass(frozen=True)
class Recipe:
    name: str
    file: str
    arch: Arch
    page_size: int
    memory: tuple[tuple[int, int], ...]
    reserved: tuple[tuple[int, int], ...]
    load_min: int
    verify: str                  # "full", "data" or "none"
    purgatory_address: int | None
    console: bool
    kernel: Input
    kernel_builtin: str | None
    initrd: Input | None
    dtb: Input | None            # None with dtb_generate set: generated
    dtb_generate: dict[str, Any] | None
    cmdline: str
    blobs: tuple[Input, ...]
    data: dict[str, Any] = field(repr=False)       # merged, overridden recipe
    origins: dict[str, str] = field(repr=False)    # JSON pointer -> file that set it
    sha256: str = ""                                # of the recipe file and its bases
    files: tuple[tuple[str, str], ...] = ()         # (path, sha256): bases first, this file last
    purgatory_mmu: bool = False                     # /purgatory/mmu (arm64, experimental)

    def origin(self, pointer: str) -> str:
        return origin_of(self.origins, pointer, self.file)

    def error(self, pointer: str, message: str, hint: str = "") -> RecipeError:
        return RecipeError(self.origin(pointer), pointer, message, hint)


def origin_of(origins: dict[str, str], pointer: str, default: str) -> str:
    p = pointer
    while True:
        if p in origins:
            return origins[p]
        if not p:
            return default
        p = p.rsplit("/", 1)[0]


def known_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.json"))


def resolve_name(name: str) -> Path:
    """A recipe name (``ppc64-fast``) or a path to a recipe file."""
    if name.endswith(".json") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise RecipeError(name, None, "no such recipe file")  # type: ignore[arg-type]
        return path
    path = RECIPES_DIR / f"{name}.json"
    if not path.is_file():
        raise RecipeError(str(path), None,  # type: ignore[arg-type]
                          f"unknown recipe {name!r}",
                          "known recipes: " + ", ".join(known_recipes()))
    return path


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise RecipeError(str(path), None, f"cannot read: {exc.strerror}") from None  # type: ignore[arg-type]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipeError(str(path), "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                          "fix the JSON syntax") from None
    if not isinstance(data, dict):
        raise RecipeError(str(path), "", "a recipe must be a JSON object")
    return data


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _mark(origins: dict[str, str], value: Any, pointer: str, file: str) -> None:
    origins[pointer] = file
    if isinstance(value, dict):
        for k, v in value.items():
            _mark(origins, v, f"{pointer}/{_escape(k)}", file)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _mark(origins, v, f"{pointer}/{i}", file)


def _merge(base: dict[str, Any], over: dict[str, Any], origins: dict[str, str], pointer: str,
           file: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        p = f"{pointer}/{_escape(key)}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            origins[p] = file
            out[key] = _merge(out[key], value, origins, p, file)
        else:
            for stale in [k for k in origins if k == p or k.startswith(p + "/")]:
                del origins[stale]
            _mark(origins, value, p, file)
            out[key] = value
    return out


def _rebase_paths(data: dict[str, Any], base_dir: Path, top_dir: Path) -> None:
    """Make a base recipe's relative input paths relative to the top recipe's folder."""

    def fix(obj: dict[str, Any]) -> None:
        if isinstance(obj, dict) and isinstance(obj.get("path"), str) and not os.path.isabs(obj["path"]):
            obj["path"] = os.path.relpath(base_dir / obj["path"], top_dir)

    for key in ("kernel", "initrd", "dtb"):
        fix(data.get(key))  # type: ignore[arg-type]
    for blob in data.get("blobs", []) if isinstance(data.get("blobs"), list) else []:
        fix(blob)


def _load_merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[str, str], list[tuple[Path, bytes]]]:
    real = path.resolve()
    if real in seen:
        chain = " -> ".join(str(p) for p in (*seen, real))
        raise RecipeError(str(path), "/extends", f"recipes extend each other in a cycle: {chain}")
    data = _read_json(path)
    raw = [(path, path.read_bytes())]
    origins: dict[str, str] = {}
    ext = data.pop("extends", None)
    if ext is None:
        _mark(origins, data, "", str(path))
        return data, origins, raw
    if not isinstance(ext, str):
        raise RecipeError(str(path), "/extends", "must be a string path", "give the base recipe's path")
    base_path = (path.parent / ext)
    if not base_path.is_file():
        raise RecipeError(str(path), "/extends", f"base recipe {ext!r} not found",
                          f"looked for {base_path}")
    base, base_origins, base_raw = _load_merged(base_path, (*seen, real))
    _rebase_paths(base, base_path.parent, path.parent)
    merged = _merge(base, data, base_origins, "", str(path))
    return merged, base_origins, base_raw + raw


def parse_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


OVERRIDES = {
    "kernel": "path of the kernel file",
    "initrd": "path of the initrd",
    "dtb": "path of a device tree blob to fix up",
    "cmdline": "kernel command line",
    "verify": "full, data or none (true = data, false = none)",
    "console": "1 to let the purgatory print a status line",
}


def apply_overrides(data: dict[str, Any], origins: dict[str, str], overrides: dict[str, str]) -> dict[str, Any]:
    """Command-line values (``scons kernel=PATH ...``) win over the recipe."""
    out = json.loads(json.dumps(data))
    cwd = Path.cwd()
    for key, value in overrides.items():
        if key in ("kernel", "initrd", "dtb"):
            path = str((cwd / value).resolve())
            keep = {k: v for k, v in out.get(key, {}).items() if k == "address"} if isinstance(out.get(key), dict) else {}
            out[key] = {"path": path, **keep}
            _mark(origins, out[key], f"/{key}", COMMAND_LINE)
        elif key == "cmdline":
            out["cmdline"] = value
            origins["/cmdline"] = COMMAND_LINE
        elif key == "verify":
            out["verify"] = {"true": DEFAULT_VERIFY, "1": DEFAULT_VERIFY, "false": "none", "0": "none"}.get(
                value.lower(), value)
            origins["/verify"] = COMMAND_LINE
        elif key == "console":
            out.setdefault("purgatory", {})["console"] = value.lower() in ("1", "true", "yes", "on")
            origins["/purgatory/console"] = COMMAND_LINE
        else:
            raise RecipeError(COMMAND_LINE, "", f"unknown override {key!r}",
                              "known: " + ", ".join(OVERRIDES))
    return out


def display_path(path: Path) -> Path:
    """Relative to the working directory when inside it: shorter messages, portable records."""
    rel = os.path.relpath(path)
    return Path(rel) if not rel.startswith("..") else path.resolve()


def load(name: str, overrides: dict[str, str] | None = None) -> Recipe:
    path = display_path(resolve_name(name))
    data, origins, raw = _load_merged(path)
    if overrides:
        data = apply_overrides(data, origins, overrides)
    errors = sorted(_validator().iter_errors(data), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        err = errors[0]
        pointer = "".join(f"/{_escape(str(p))}" for p in err.absolute_path)
        raise RecipeError(origin_of(origins, pointer, str(path)), pointer, _schema_message(err),
                          "see schemas/recipe.schema.json")
    files = tuple((str(p), hashlib.sha256(b).hexdigest()) for p, b in raw)
    # One file: its own hash. A chain: the hash of the member hashes, bases first.
    digest = files[0][1] if len(files) == 1 else \
        hashlib.sha256(b"".join(bytes.fromhex(h) for _, h in files)).hexdigest()
    recipe = _build(path, data, origins, digest, files)
    check(recipe)
    return recipe


def _schema_message(err: Any) -> str:
    if err.validator == "additionalProperties":
        return f"unknown field: {err.message}"
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        return f"{err.message.split(' is not valid')[0]} must set exactly one of the alternatives: " + \
            "; ".join(str(s.get("required", s)) for s in err.validator_value)
    return err.message


def _input(data: dict[str, Any], origins: dict[str, str], pointer: str, role: str, base: Path,
           default: str) -> Input:
    given = data.get("path")
    path = None
    if given is not None:
        path = Path(given) if os.path.isabs(given) else (base / given)
    addr = parse_int(data["address"]) if "address" in data else None
    return Input(role, pointer, path, given, addr, origin_of(origins, pointer + "/path", default))


def _build(path: Path, d: dict[str, Any], origins: dict[str, str], digest: str,
           files: tuple[tuple[str, str], ...]) -> Recipe:
    try:
        arch = arches.get(d["arch"])
    except arches.ArchError:
        raise RecipeError(origin_of(origins, "/arch", str(path)), "/arch",
                          f"arch {d['arch']!r} is not supported by this toolchain yet",
                          "supported: " + ", ".join(arches.names())) from None
    base = path.parent
    f = str(path)
    verify = d.get("verify", True)
    verify = {True: DEFAULT_VERIFY, False: "none"}.get(verify, verify) if isinstance(verify, bool) else verify
    dtb = d.get("dtb")
    purg = d.get("purgatory", {})
    return Recipe(
        name=path.stem,
        file=f,
        arch=arch,
        page_size=parse_int(d.get("page_size", arch.default_page_size)),
        memory=tuple((parse_int(r["start"]), parse_int(r["size"])) for r in d["memory"]),
        reserved=tuple((parse_int(r["start"]), parse_int(r["size"])) for r in d.get("reserved", [])),
        load_min=parse_int(d["load_min"]) if "load_min" in d else arch.default_load_min,
        verify=verify,
        purgatory_address=parse_int(purg["address"]) if "address" in purg else None,
        console=bool(purg.get("console", False)),
        kernel=_input(d["kernel"], origins, "/kernel", "kernel", base, f),
        kernel_builtin=d["kernel"].get("builtin"),
        initrd=_input(d["initrd"], origins, "/initrd", "initrd", base, f) if "initrd" in d else None,
        dtb=_input(dtb, origins, "/dtb", "dtb", base, f) if dtb and "path" in dtb else None,
        dtb_generate=dtb.get("generate") if dtb and "generate" in dtb else None,
        cmdline=d.get("cmdline", ""),
        blobs=tuple(_input(b, origins, f"/blobs/{i}", b["name"], base, f) for i, b in enumerate(d.get("blobs", []))),
        data=d,
        origins=origins,
        sha256=digest,
        files=files,
        purgatory_mmu=bool(purg.get("mmu", False)),
    )


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def check(r: Recipe) -> None:
    """Semantic checks that the schema cannot express."""
    page = r.page_size
    if page & (page - 1) or not 0x1000 <= page <= 0x100000:
        raise r.error("/page_size", f"0x{page:x} is not a power of two between 4 KiB and 1 MiB")
    for i, (start, size) in enumerate(r.memory):
        if start % page or size % page:
            raise r.error(f"/memory/{i}", f"range 0x{start:x}+0x{size:x} is not aligned to the page size 0x{page:x}",
                          "align start and size to page_size")
        for j in range(i):
            if _overlap(r.memory[j], (start, size)):
                raise r.error(f"/memory/{i}", f"overlaps /memory/{j}", "memory ranges must be disjoint")
    limit = r.arch.address_limit(list(r.memory))
    fixed: list[tuple[str, int, Input | None]] = []
    if r.purgatory_address is not None:
        fixed.append(("/purgatory/address", r.purgatory_address, None))
    for inp in (r.kernel, r.initrd, r.dtb, *r.blobs):
        if inp is not None and inp.address is not None:
            fixed.append((inp.pointer + "/address", inp.address, inp))
    for pointer, addr, _ in fixed:
        if addr % page:
            raise r.error(pointer, f"0x{addr:x} is not aligned to the page size 0x{page:x}",
                          "use a multiple of page_size or omit it for automatic placement")
        if not any(s <= addr < s + n for s, n in r.memory):
            raise r.error(pointer, f"0x{addr:x} is outside every /memory range", "the kernel cannot load a segment there")
        if addr >= limit:
            raise r.error(pointer, f"0x{addr:x} is above the {r.arch.name} limit 0x{limit:x}",
                          r.arch.limit_hint)
        for k, res in enumerate(r.reserved):
            if res[0] <= addr < res[0] + res[1]:
                raise r.error(pointer, f"0x{addr:x} lies in /reserved/{k}", "pick another address")
    count = 1 + 1 + (r.initrd is not None) + (r.dtb is not None or r.dtb_generate is not None) + len(r.blobs) \
        + r.arch.extra_segments(r)
    if count > MAX_SEGMENTS:
        raise r.error("/blobs", f"the recipe needs {count} segments; kexec_load accepts at most {MAX_SEGMENTS}",
                      "drop or merge blobs")
    if r.purgatory_mmu and not r.arch.supports_mmu:
        raise r.error("/purgatory/mmu", f"{r.arch.name} has no MMU-on hashing mode (arm64 only)",
                      "remove /purgatory/mmu or set it to false")
    if r.arch.needs_dtb and r.dtb is None and r.dtb_generate is None:
        raise r.error("/dtb", f"{r.arch.name} kernels need a device tree", "add \"dtb\": {\"generate\": {}} or a path")
    if r.kernel.path is None and r.kernel_builtin is None:
        raise r.error("/kernel", "no kernel given")
    for inp in (r.kernel, r.initrd, r.dtb, *r.blobs):
        if inp is not None and inp.path is not None:
            check_readable(inp)


def check_readable(inp: Input) -> None:
    assert inp.path is not None
    try:
        with open(inp.path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise RecipeError(inp.origin, inp.pointer + "/path", f"cannot read {inp.given or inp.path}: {exc.strerror}",
                          "check the path (relative paths are relative to the recipe file)") from None
