"""Reference documentation generated from the code is up to date, and nothing it documents lacks a
description.

The anchors are terraform-docs and tflint:
- terraform-docs injects its tables between `<!-- BEGIN_TF_DOCS -->` markers (`--output-mode inject`)
  and `--output-check` "checks if content of output file is up to date" and exits non-zero when it is
  not (terraform-docs v0.19.0, docs/user-guide/configuration/output.md). `tools.docs` does the same with
  `<!-- BEGIN GENERATED: <part> -->` markers, and this test is its `--output-check`.
- tflint's `terraform_documented_variables` and `terraform_documented_outputs` rules (tflint-ruleset-
  terraform v0.10.0, docs/rules/terraform_documented_variables.md) report every variable or output
  "that has no description". The spec's fields are this project's variables, the stacks' declared
  outputs its outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, Synthesis
from tools.docs import __main__ as docs
from tools.docs import markers, spec, stacks


def test_generated_documentation_is_up_to_date(synthesis: Synthesis) -> None:
    """Fails when a field, a profile default, a stack output or an alert changed and `make docs` was
    not run (the diff is in the message)."""
    diffs = docs.stale(ROOT, synthesis.terraform_dir)
    assert not diffs, "generated documentation is out of date; run `make docs`:\n" + "\n".join(diffs)


def test_every_spec_field_has_a_description() -> None:
    assert spec.undocumented() == []


def test_every_declared_stack_output_has_a_description(synthesis: Synthesis) -> None:
    assert stacks.undocumented_outputs(synthesis.terraform_dir) == []


def test_the_spec_reference_lists_every_field_and_profile() -> None:
    reference = spec.reference()
    paths = [field.path for field in spec.fields()]
    assert len(paths) > 150 and len(set(paths)) == len(paths)
    for path in paths:
        assert f"| `{path}` |" in reference, path
    nat = "| `network.nat_gateways` | `single` \\| `per_az` | One shared NAT gateway, or one per availability zone. |"
    assert nat + " `single` | `single` | `per_az` |" in reference
    assert "| `aws.account_id` | string | AWS account the environment lives in (12 digits). | required | required | required |" in reference


def test_an_undescribed_field_is_found() -> None:
    """The description check is not vacuous: a model with a bare field is reported by path."""
    from envspec.models import Strict

    class Inner(Strict):
        bare: int = 1

    class Outer(Strict):
        inner: Inner = Inner()

    assert [field.path for field in spec.fields(Outer) if not field.description] == ["inner", "inner.bare"]


def test_the_stack_reference_names_cross_stack_reads(synthesis: Synthesis) -> None:
    reference = stacks.reference(synthesis.terraform_dir)
    data = reference[reference.index("### `<env>-data`") : reference.index("### `<env>-observability`")]
    assert "| `<env>-network` | `aws_subnet.vpc_isolated_<zone>.id` |" in data
    assert "| `<env>-cluster` | `aws_eks_cluster.control_plane_cluster.name` |" in data
    assert "cross-stack-output" not in reference


def test_a_page_without_markers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(markers.MarkerError):
        markers.inject("# a page\n", "spec-reference", "content")
    page = f"before\n{markers.begin('x')}\nold\n{markers.end('x')}\nafter\n"
    assert markers.inject(page, "x", "new") == f"before\n{markers.begin('x')}\nnew\n{markers.end('x')}\nafter\n"
