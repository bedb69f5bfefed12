"""Bounded libFuzzer run over the pure bundle parser (loader/fuzz_bundle.c)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from conftest import b, compact, kxbuild, make_bundle, seg, standard_segments


def seeds():
    yield make_bundle()
    yield make_bundle(arch=1, page=0x10000, segments=standard_segments(0x10000))
    yield make_bundle(arch=2, flags=0)
    yield compact(make_bundle(arch=4))
    yield compact(make_bundle(arch=5, segments=[
        seg("purgatory", b.Kind.PURGATORY, 0x2000, 0x1000, b"\0" * 48, b.SegFlag.PURGATORY)], flags=0))
    yield compact(make_bundle(segments=[
        seg(f"r{i}", b.Kind.RAW, i * 0x1000, 0x1000, bytes([i]) * 16) for i in range(15)] + [
        seg("purgatory", b.Kind.PURGATORY, 0x10000, 0x1000, b"p" * 16, b.SegFlag.PURGATORY)], flags=0))


    from test_seeds import seeds_bundle, tree

    yield compact(seeds_bundle(tree()[0]))
    yield compact(seeds_bundle(tree((("kaslr-seed", 8),))[0], arch=4))


@pytest.mark.fuzz
def test_fuzz_parser(tmp_path):
    if not shutil.which("clang"):
        pytest.skip("clang not installed")
    seconds = int(os.environ.get("KX_FUZZ_SECONDS", "60"))
    try:
        fuzzer = kxbuild.build_fuzzer(tmp_path / "fuzz_bundle")
    except kxbuild.BuildError as exc:
        pytest.skip(f"cannot build the libFuzzer target (libclang-rt-14-dev missing?): {exc}")
    corpus = tmp_path / "corpus"
    artifacts = tmp_path / "artifacts"
    corpus.mkdir()
    artifacts.mkdir()
    for i, data in enumerate(seeds()):
        (corpus / f"seed-{i}.kxb").write_bytes(bytes(data))
    p = subprocess.run([str(fuzzer), f"-max_total_time={seconds}", "-max_len=8192", "-timeout=10",
                        "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
                        str(corpus)],
                       capture_output=True, text=True, timeout=seconds + 120, cwd=tmp_path)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", p.stderr)
    print(f"fuzz: {runs.group(1) if runs else '?'} executions in {seconds} s, exit {p.returncode}")
    crashes = sorted(artifacts.iterdir())
    assert p.returncode == 0 and not crashes, (p.stderr[-4000:], crashes)
