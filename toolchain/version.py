"""The toolchain's own identity, for provenance."""
from __future__ import annotations

import functools
import subprocess

from .arches.base import REPO

VERSION = "0.1.0"


@functools.cache
def git_revision() -> str | None:
    """The checkout's commit, with ``-dirty`` if tracked files differ; None outside git."""
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return None
