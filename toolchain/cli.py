"""``python -m toolchain COMMAND``: inspect and verify bundles (see ``--help``)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import bundle, inspect, verify
from .emulate import EmulateError

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _inspect(args: argparse.Namespace) -> int:
    b, man = inspect.read(Path(args.bundle))
    state = inspect.purgatory_state(b, man) if man else None
    d = inspect.describe(b, args.bundle, state)
    print(json.dumps(d, indent=2) if args.json else inspect.format_table(d))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    rep = verify.check(Path(args.bundle), Path(args.manifest) if args.manifest else None, not args.no_inputs)
    if args.json:
        print(json.dumps({"bundle": args.bundle, "ok": not rep.problems, "checks": rep.checks,
                          "problems": rep.problems}, indent=2))
    else:
        for c in rep.checks:
            print(f"ok    {c}")
        for p in rep.problems:
            print(f"FAIL  {p}")
        print(f"{args.bundle}: {'verified' if not rep.problems else 'NOT verified'}")
    return EXIT_OK if not rep.problems else EXIT_FAIL


def _diff(args: argparse.Namespace) -> int:
    from . import diff

    rows = diff.compare(Path(args.a), Path(args.b))
    if args.json:
        print(json.dumps({"a": args.a, "b": args.b, "same": not rows, "differences": rows}, indent=2))
    else:
        print(diff.format_table(rows, args.a, args.b))
    return EXIT_OK if not rows else EXIT_FAIL


def _emulate(args: argparse.Namespace) -> int:
    from . import emulate

    rep = emulate.emulate(args.bundle, args.limit)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(f"bundle        {rep['bundle']} ({rep['arch']})")
        print(f"result        {rep['verdict']}")
        print(f"pc            {rep['pc']} (kernel entry {rep['kernel_entry']})")
        print(f"instructions  {rep['instructions']}")
        print("registers     " + " ".join(f"{k}={v}" for k, v in rep["registers"].items()))
        if rep["console"]:
            print("console       " + rep["console"].strip().replace("\n", "\n              "))
    return EXIT_OK if rep["result"] == "entry" else EXIT_FAIL


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m toolchain", description="Inspect and check kexec bundles (.kxb).",
                                epilog="exit status: 0 ok (verified / no differences / reached the kernel), 1 check failed, 2 unreadable or invalid input")
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("inspect", help="print segments, entry, flags and digest of a bundle")
    i.add_argument("bundle")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(fn=_inspect)
    v = sub.add_parser("verify", help="re-derive hashes and the purgatory digest with hashlib and compare")
    v.add_argument("bundle")
    v.add_argument("--manifest", help="manifest path (default: manifest.json beside the bundle)")
    v.add_argument("--no-inputs", action="store_true", help="do not check the input files named in the manifest")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(fn=_verify)
    d = sub.add_parser("diff", help="explain why two bundles differ: segments, purgatory symbols, provenance")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(fn=_diff)
    e = sub.add_parser("emulate", help="run the bundle's purgatory in an emulator (x86_64, arm64) and report")
    e.add_argument("bundle")
    e.add_argument("--limit", type=int, default=2_000_000_000, help="instruction limit (default 2e9)")
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.set_defaults(fn=_emulate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except (bundle.BundleError, EmulateError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
