"""What the CLI prints: progress lines, tables and the final result, on stdout; errors on stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def say(message: str = "") -> None:
    print(message, flush=True)


def step(message: str) -> None:
    say(f"==> {message}")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align_right: Sequence[int] = ()) -> str:
    """A plain-text table with a header rule; columns listed in `align_right` are right-aligned."""
    cells = [[str(item) for item in headers]] + [[str(item) for item in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[index]) if index in align_right else cell.ljust(widths[index]) for index, cell in enumerate(row)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def duration(seconds: float) -> str:
    """`45.2s`, `12m03s`, `5h00m`: short enough for a table, exact enough for a drill."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fields(rows: Sequence[tuple[str, object]], indent: str = "  ") -> str:
    """Aligned `label  value` lines."""
    width = max((len(label) for label, _ in rows), default=0)
    return "\n".join(f"{indent}{label.ljust(width)}  {value}" for label, value in rows)
