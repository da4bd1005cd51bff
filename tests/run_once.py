"""Expensive test inputs built once per test run, however many pytest-xdist workers ask for them.

`make test` runs the suite on every core (pytest-xdist); each worker is its own pytest session, so
a session-scoped fixture alone would synthesize (or run checkov, or validate) once per worker. A
build here runs under an exclusive file lock in a folder all workers of one run share (under
xdist, the parent of each worker's basetemp; in a plain run, the basetemp itself). The first
worker builds; the others wait on the lock and read the result. A failed build is recorded, and
every worker that asks fails with the same message rather than repeating the work.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DONE = ".built"
FAILED = ".failed"


def shared_root(factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees, and no other run does."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def key_of(name: str, *inputs: Any) -> str:
    """`name` plus a short hash of the inputs, for builds that take arguments."""
    if not inputs:
        return name
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{name}-{digest}"


def build_once(factory: pytest.TempPathFactory, key: str, build: Callable[[Path], None]) -> Path:
    """The folder `build(folder)` filled, built by the first caller of this run; `build` raises to fail."""
    root = shared_root(factory) / "run-once"
    root.mkdir(exist_ok=True)
    folder = root / key
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / DONE).is_file():
            return folder
        if (root / f"{key}{FAILED}").is_file():
            pytest.fail(f"{key} (built by another worker of this run) failed:\n{(root / f'{key}{FAILED}').read_text()}", pytrace=False)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        try:
            build(folder)
        except pytest.skip.Exception:
            raise  # a missing validator: every worker skips (or fails in CI) on its own
        except BaseException as error:
            (root / f"{key}{FAILED}").write_text(str(error))
            raise
        (folder / DONE).touch()
    return folder


def json_once(factory: pytest.TempPathFactory, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()`'s JSON-serializable result, computed once per run and read back by every worker."""
    folder = build_once(factory, key, lambda out: (out / "result.json").write_text(json.dumps(compute())))
    return json.loads((folder / "result.json").read_text())
