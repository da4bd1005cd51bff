"""Kubernetes resource quantities, parsed just far enough to compare requests with limits."""

from __future__ import annotations

import re
from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_cpu(value: str) -> Decimal:
    """CPU quantity in cores: `250m`, `0.5`, `2`."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", value)
    if not match:
        raise ValueError(f"'{value}' is not a CPU quantity (e.g. 250m or 0.5)")
    number = Decimal(match.group(1))
    return number / 1000 if match.group(2) else number


def parse_memory(value: str) -> int:
    """Memory quantity in bytes: `256Mi`, `1Gi`, `512M`."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?", value)
    if not match:
        raise ValueError(f"'{value}' is not a memory quantity (e.g. 256Mi or 1Gi)")
    unit = match.group(2)
    return int(match.group(1)) * (_BINARY.get(unit) or _DECIMAL.get(unit) or 1)
