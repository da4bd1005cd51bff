"""The exit codes every command of the project returns (`python -m synth`, `python -m ops`, every
`python -m tools.*` and so the make targets), documented in docs/conventions.md.

A refusal is one `error:` line on stderr (more lines only to list the problems, as the spec loader
does), never a traceback, and the code says whose move it is.
"""

from __future__ import annotations

OK = 0
# The work was done and found a problem, or could not be completed: a failed check, a stale
# generated file, a failed synthesis or terraform run, an operation AWS refused.
FAILED = 1
# The input is wrong and nothing was changed: usage, an invalid environment file, an unknown
# environment, a value outside its range. Fix the command or the file.
BAD_INPUT = 2
# This machine cannot act: a missing tool, no or wrong credentials, no cluster access.
CANNOT_ACT = 3
# Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
INTERRUPTED = 130
