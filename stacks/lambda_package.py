"""Lambda deployment packages that are the same bytes on every machine: stored (not compressed, so the
output checks can read them), sorted, with a fixed timestamp and mode."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path

# The earliest date a zip entry can carry; any fixed value makes the archive reproducible.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def reproducible_zip(target: Path, files: Mapping[str, bytes]) -> tuple[Path, str]:
    """`files` (name in the zip -> content) written to `target` unless it is there already (the caller names
    it by the content's digest), and the zip's base64 SHA-256, Lambda's code hash."""
    if not target.exists():
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name])
        partial.replace(target)
    return target, base64.b64encode(hashlib.sha256(target.read_bytes()).digest()).decode()
