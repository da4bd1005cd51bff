"""Atomic replacement of synthesized output: build beside the target, then swap it in by rename.

A failed run leaves the previous output exactly as it was; a successful run replaces only the
parts it synthesized.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _swap(staged: Path, target: Path) -> None:
    """Replace `target` (file or folder, may be absent) with `staged` by renames in one folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.replace(staged, target)
        return
    trash = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, trash)
    try:
        os.replace(staged, target)
    except BaseException:
        os.replace(trash, target)
        raise
    shutil.rmtree(trash) if trash.is_dir() else trash.unlink()


class StagedOutput:
    """A scratch folder next to `target`, removed on exit whatever happens.

    Synthesize into `staging`, then `commit()` the whole folder or `commit_parts()` some entries.
    """

    def __init__(self, target: Path):
        self.target = target.resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".synth-tmp-{self.target.name}-", dir=self.target.parent))
        # mkdtemp makes the folder private (0700); committed, it becomes the output folder itself,
        # which must get the permissions any folder of the user's gets (0755 under umask 022).
        self.staging.chmod(0o777 & ~current_umask())

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def commit(self) -> None:
        _swap(self.staging, self.target)
        self.staging.mkdir()  # keep __exit__'s removal harmless

    def commit_parts(self, parts: list[str], stale: list[str] = ()) -> None:
        """Swap in `parts` (paths relative to the folder); remove `stale` entries of the target."""
        for part in parts:
            _swap(self.staging / part, self.target / part)
        for part in stale:
            path = self.target / part
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def merge_cdktf_manifest(previous: Path, staged: Path, replaced_prefixes: list[str]) -> list[str]:
    """Keep the previous manifest's stacks of environments not synthesized this run; return the
    previous stacks of synthesized environments that no longer exist (to remove)."""
    old = json.loads(previous.read_text(encoding="utf-8")) if previous.is_file() else {"stacks": {}}
    new = json.loads(staged.read_text(encoding="utf-8"))
    kept = {name: entry for name, entry in old.get("stacks", {}).items() if not name.startswith(tuple(replaced_prefixes))}
    stale = [name for name in old.get("stacks", {}) if name.startswith(tuple(replaced_prefixes)) and name not in new["stacks"]]
    new["stacks"] = dict(sorted({**kept, **new["stacks"]}.items()))
    staged.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
    return stale
