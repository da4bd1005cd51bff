"""Load the AWS provider bindings without their eager submodule imports.

`cdktf_cdktf_provider_aws/__init__.py` imports all ~1,900 generated resource modules before any of
them can be used, which costs most of a synthesis (see docs/performance.md). This module executes
that package's own `__init__` without the `from . import <submodule>` lines, so only the resource
modules a stack imports get loaded. The assembly still loads in full in the jsii kernel, so the
synthesized JSON is identical; `tests/test_determinism.py` proves it against an eager import.

Import every provider module you use explicitly (`from cdktf_cdktf_provider_aws.vpc import Vpc`):
a type from a module that was never imported cannot be returned by jsii.
"""

from __future__ import annotations

import importlib.util
import os
import sys

PACKAGE = "cdktf_cdktf_provider_aws"
EAGER_ENV = "AI_SUBSIDY_EAGER_PROVIDER_IMPORT"


def install_lean_provider_package() -> None:
    if PACKAGE in sys.modules or os.environ.get(EAGER_ENV) == "1":
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None or spec.loader is None:
        return  # not installed: the normal import reports it
    with open(spec.origin, encoding="utf-8") as handle:
        source = "".join(line for line in handle if not line.startswith("from . import "))
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    try:
        exec(compile(source, spec.origin, "exec"), module.__dict__)  # noqa: S102 - the package's own code
    except BaseException:
        del sys.modules[PACKAGE]
        raise
