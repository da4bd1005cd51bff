"""The tools layer's one error type, with the exit code the command returns for it
(envspec.exit_codes; docs/conventions.md)."""

from __future__ import annotations

import sys

from envspec.exit_codes import BAD_INPUT, FAILED


class ToolError(Exception):
    """A tool refused or failed; `exit_code` is FAILED unless the input was wrong (BAD_INPUT)."""

    def __init__(self, message: str, exit_code: int = FAILED):
        super().__init__(message)
        self.exit_code = exit_code


def bad_input(message: str) -> ToolError:
    return ToolError(message, BAD_INPUT)


def report(error: BaseException, exit_code: int) -> int:
    """Print the one `error:` line of a refusal and return its exit code."""
    print(f"error: {error}", file=sys.stderr)
    return exit_code
