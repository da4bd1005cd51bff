"""Replace the text between a page's generation markers."""

from __future__ import annotations

import re

from envspec.exit_codes import BAD_INPUT
from tools.errors import ToolError


class MarkerError(ToolError):
    """A page lacks the markers of a part it should hold, or holds them more than once (bad input)."""

    def __init__(self, message: str):
        super().__init__(message, BAD_INPUT)


def begin(part: str) -> str:
    return f"<!-- BEGIN GENERATED: {part} (make docs; do not edit by hand) -->"


def end(part: str) -> str:
    return f"<!-- END GENERATED: {part} -->"


def inject(page: str, part: str, content: str) -> str:
    """`page` with the text between `part`'s markers replaced by `content`."""
    pattern = re.compile(rf"^{re.escape(begin(part))}\n.*?^{re.escape(end(part))}$", re.DOTALL | re.MULTILINE)
    found = pattern.findall(page)
    if len(found) != 1:
        raise MarkerError(f"expected one pair of markers for {part!r}, found {len(found)}: add\n{begin(part)}\n{end(part)}")
    return pattern.sub(lambda _: f"{begin(part)}\n{content.rstrip()}\n{end(part)}", page)
