"""The `Environment` cost allocation tag (observability stack): Cost Explorer groups cost by a user-defined
tag only once the tag key is activated, so the weekly report (`ops cost report`, grouped by that tag)
needs `aws_ce_cost_allocation_tag` for exactly the key the provider's default tags put on every resource.

Rules of the real service and provider encoded here:
- AWS Billing User Guide, "Using user-defined cost allocation tags" and "Activating user-defined cost
  allocation tags" (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/custom-tags.html,
  activating-tags.html): a user-defined tag appears in Cost Explorer only once activated; only a
  management account of an organization or a standalone account may activate tags (a member account
  gets AccessDeniedException "Linked account doesn't have access to cost allocation tags", as in
  2i2c-org/infrastructure#4932), hence `cost.activate_allocation_tag`; a new tag key can take up to 24
  hours to appear for activation; keys starting with `aws:` are AWS's ("User-defined tag restrictions").
- Cost Explorer API, UpdateCostAllocationTagsStatus (botocore's service model `ce/2017-10-25`, read
  below): at most 20 entries, `Status` Active or Inactive, `TagKey` up to 1024 characters; per-key
  failures come back in the response's `Errors`, not as an error of the call.
- hashicorp/terraform-provider-aws `internal/service/ce/cost_allocation_tag.go` (the same logic in the
  2022 version and today's, so in 5.100.0 between them): create calls UpdateCostAllocationTagsStatus
  without reading `Errors`, then ListCostAllocationTags for the key; a new resource whose key is not
  listed fails with "empty result" (hashicorp/terraform-provider-aws#29068). A new account's first apply
  therefore fails on this resource until the tag is in the billing data (docs/cost.md).

No emulator answers these calls: moto 5.x's Cost Explorer implements cost categories, tags of CE
resources and GetCostAndUsage, not UpdateCostAllocationTagsStatus or ListCostAllocationTags, so the
request is checked against botocore's model of the real API instead.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from envspec import names_for
from envspec.naming import ENVIRONMENT_TAG
from ops.cost.report import TAG_KEY
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, VariantSynthesis, only, resources_of
from tests.spec_factory import variant

STANDALONE_ACCOUNT = variant("standalone-account", profile="development", cost={"activate_allocation_tag": True})


def _operation_input() -> Any:
    """The botocore shape of the request (the real API's model)."""
    model = botocore.session.get_session().get_service_model("ce")
    return model.operation_model("UpdateCostAllocationTagsStatus").input_shape


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_environment_activates_by_default(env: str, synthesis: Synthesis) -> None:
    """A member account is refused the activation on every apply, and any account before the key is in its
    billing data (docs/cost.md): the checked-in environments do not activate, the rest of the guardrails stay."""
    assert SPECS[env].cost.activate_allocation_tag is False
    stack = synthesis.stack(f"{env}-observability")
    assert resources_of(stack, "aws_ce_cost_allocation_tag") == {}
    assert len(resources_of(stack, "aws_budgets_budget")) == 1


def test_the_tag_the_provider_sets_and_the_report_groups_by_is_activated(variants: VariantSynthesis) -> None:
    stack = variants.stack(f"{STANDALONE_ACCOUNT.name}-observability")
    tag = only(resources_of(stack, "aws_ce_cost_allocation_tag"))
    assert {key: tag[key] for key in tag if key != "//"} == {"tag_key": ENVIRONMENT_TAG, "status": "Active"}
    assert TAG_KEY == ENVIRONMENT_TAG
    # The key of the provider's default tags, which every resource of every stack carries.
    (provider,) = [p for p in stack["provider"]["aws"] if "alias" not in p]
    assert provider["default_tags"][0]["tags"][ENVIRONMENT_TAG] == names_for(variants.specs[STANDALONE_ACCOUNT.name]).env
    assert not ENVIRONMENT_TAG.lower().startswith("aws:"), "aws: keys are AWS-generated tags, not user-defined ones"


def test_the_request_the_provider_sends_is_one_the_api_accepts(variants: VariantSynthesis) -> None:
    """The provider sends one entry `{TagKey, Status}` (cost_allocation_tag.go, updateCostAllocationTagStatus)."""
    tag = only(resources_of(variants.stack(f"{STANDALONE_ACCOUNT.name}-observability"), "aws_ce_cost_allocation_tag"))
    request = {"CostAllocationTagsStatus": [{"TagKey": tag["tag_key"], "Status": tag["status"]}]}
    shape = _operation_input()
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    entries = shape.members["CostAllocationTagsStatus"]
    assert len(request["CostAllocationTagsStatus"]) <= entries.metadata["max"] == 20
    entry = entries.member
    assert tag["status"] in entry.members["Status"].enum
    assert len(tag["tag_key"]) <= entry.members["TagKey"].metadata["max"]
    assert re.fullmatch(entry.members["TagKey"].metadata.get("pattern", ".*"), tag["tag_key"])


def test_a_wrong_status_is_refused_by_the_api_model() -> None:
    """The model the check above relies on refuses what the API refuses (a check that can fail)."""
    entry = _operation_input().members["CostAllocationTagsStatus"].member
    assert "Enabled" not in entry.members["Status"].enum
    assert sorted(entry.members["Status"].enum) == ["Active", "Inactive"]
