"""The synthesis layer's one error type: what stacks and charts raise when a construct cannot be
built from the spec it was given. The message starts with the construct's path
(`staging-data/database_security_group`, `workloads/ai-subsidy-backend`), so the `error:` line
`python -m synth` prints (exit 1, envspec.exit_codes.FAILED) says where, without a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Not at run time: importing `constructs` starts a jsii kernel, which `python -m synth` must
    # configure first (synth.runtime) and must not hold across its fork (synth.parallel).
    from constructs import IConstruct


class SynthesisError(Exception):
    """A construct could not be built; `str()` names its path."""


def construct_error(scope: IConstruct, message: str) -> SynthesisError:
    """A SynthesisError for `scope`, its message prefixed with the construct's path."""
    return SynthesisError(f"{scope.node.path}: {message}")
