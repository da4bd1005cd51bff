"""Reasoned checkov skips kept next to the construct they concern.

checkov ignores inline skip comments in cdktf's JSON, so each skip is written into a `//` comment
object (Terraform ignores `//` keys): the resource's own, or, for data sources (whose `//` cdktf
rewrites), the stack's under `checkov_skip.<logical id>`. `tools/checkov_gate.py` reads them back
and applies them to checkov's report; a skip without a real reason is refused here.
"""

from __future__ import annotations

import re

from cdktf import TerraformDataSource, TerraformResource, TerraformStack

from synth.errors import construct_error

SKIP_KEY = "checkov_skip"


def skip_check(element: TerraformResource | TerraformDataSource, check_id: str, reason: str) -> None:
    if not re.fullmatch(r"CKV2?_AWS_\d+", check_id):
        raise construct_error(element, f"{check_id!r} is not a checkov AWS check id")
    if len(reason.strip()) < 20:
        raise construct_error(element, f"skip of {check_id} needs a real reason, got {reason!r}")
    if isinstance(element, TerraformDataSource):
        stack = TerraformStack.of(element)
        stack.add_override(f"//.{SKIP_KEY}.{stack.get_logical_id(element)}.{check_id}", reason.strip())
    else:
        element.add_override(f"//.{SKIP_KEY}.{check_id}", reason.strip())
