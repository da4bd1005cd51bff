"""The ops layer's one error type, `OpsError`, reported as one line and an exit code, never as a
traceback; its kinds carry the project's exit codes (envspec.exit_codes, docs/conventions.md)."""

from __future__ import annotations

from envspec.exit_codes import BAD_INPUT, CANNOT_ACT, FAILED


class OpsError(Exception):
    """An operation could not be completed (exit 1)."""

    exit_code = FAILED


class InputError(OpsError):
    """Bad input, refused before anything changed: unknown environment, a restore time outside the
    retention window, a snapshot that does not exist, an invalid tag (exit 2)."""

    exit_code = BAD_INPUT


class EnvironmentProblem(OpsError):
    """The machine is not set up to act: no or wrong AWS credentials, no kubeconfig context,
    a missing tool (exit 3)."""

    exit_code = CANNOT_ACT
