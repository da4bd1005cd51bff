"""Snapshots of every synthesized stack and chart, one readable file each.

A change to the output shows up as a plain JSON/YAML diff in review. Update them deliberately with
`make snapshot-update`, then read the diff.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.conftest import ENVIRONMENTS, STACK_IDS, STANDBY_FOLDERS, Synthesis


class TerraformJsonSnapshot(SingleFileSnapshotExtension):
    file_extension = "json"
    _write_mode = WriteMode.TEXT


class KubernetesYamlSnapshot(SingleFileSnapshotExtension):
    file_extension = "yaml"
    _write_mode = WriteMode.TEXT


@pytest.mark.parametrize("stack_id", STACK_IDS)
def test_stack(stack_id: str, synthesis: Synthesis, snapshot) -> None:
    assert synthesis.stack_file(stack_id).read_text(encoding="utf-8") == snapshot(extension_class=TerraformJsonSnapshot)


@pytest.mark.parametrize("env", ENVIRONMENTS + STANDBY_FOLDERS)
def test_manifests(env: str, synthesis: Synthesis, snapshot) -> None:
    for chart in synthesis.chart_files(env):
        name = chart.name.removesuffix(".k8s.yaml")
        assert chart.read_text(encoding="utf-8") == snapshot(name=name, extension_class=KubernetesYamlSnapshot)


def test_every_synthesized_stack_is_snapshotted(synthesis: Synthesis) -> None:
    assert synthesis.stack_ids == sorted(STACK_IDS)
