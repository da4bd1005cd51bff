"""Synthesis is deterministic, and the lean provider import changes nothing in the output.

The second run differs from the session's in every way that must not matter: another hash seed,
another output path, the provider package imported the usual (eager) way, and `-O` (as `make
synth` runs it, without the bindings' runtime type checks).
"""

from __future__ import annotations

from pathlib import Path

from stacks.aws_bindings import EAGER_ENV
from tests.conftest import Synthesis, run_synth


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_two_syntheses_are_byte_identical(synthesis: Synthesis, tmp_path: Path) -> None:
    result = run_synth(tmp_path / "tf", tmp_path / "k8s", env={"PYTHONHASHSEED": "12345", EAGER_ENV: "1", "PYTHONOPTIMIZE": "1"})
    assert result.returncode == 0, result.stderr
    for first, second in ((synthesis.terraform_dir, tmp_path / "tf"), (synthesis.kubernetes_dir, tmp_path / "k8s")):
        a, b = _tree(first), _tree(second)
        assert sorted(a) == sorted(b)
        different = [name for name in a if a[name] != b[name]]
        assert not different, f"files differ between runs: {different}"
