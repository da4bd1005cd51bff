"""Errors the CLI reports as one line and an exit code, never as a traceback."""

from __future__ import annotations


class OpsError(Exception):
    """An operation could not be completed (exit 1)."""

    exit_code = 1


class InputError(OpsError):
    """Bad input, refused before anything changed: unknown environment, a restore time outside the
    retention window, a snapshot that does not exist, an invalid tag (exit 2)."""

    exit_code = 2


class EnvironmentProblem(OpsError):
    """The machine is not set up to act: no or wrong AWS credentials, no kubeconfig context,
    a missing tool (exit 3)."""

    exit_code = 3
