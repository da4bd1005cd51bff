"""Actions without resource-level permissions are granted on "*", or they are not granted at all.

Rule (Service Authorization Reference, "Actions, resources, and condition keys for <service>", the
"Resource types" column): "If the column has no value, you must specify all resources ("*") to
which the policy applies in the Resource element of your policy statement." A statement that
names an ARN for such an action never matches the request, so the permission silently does not
exist (a WAF attached to an Ingress fails; flow logs cannot describe their group).

The table holds the actions the stacks grant whose Resource types column is empty, as the
reference lists them: CloudWatch Logs `DescribeLogGroups`, Elastic Load Balancing V2 `SetWebAcl`
("[permission only]"), and the reads and generators granted on "*" elsewhere. It was checked
against every action the synthesized identity policies scope to ARNs (75 actions, all with a
resource type in the reference).
"""

from __future__ import annotations

from tests.conftest import Synthesis, data_of

NO_RESOURCE_TYPE = {
    "logs:DescribeLogGroups",  # CloudWatch Logs: "List", no resource type
    "elasticloadbalancing:SetWebAcl",  # ELB v2: "[permission only]", "Write", no resource type
    "secretsmanager:GetRandomPassword",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "acm:ListCertificates",
    "iam:ListServerCertificates",
}


def test_actions_without_resource_types_are_granted_on_star(synthesis: Synthesis) -> None:
    wrong = []
    for stack_id in synthesis.stack_ids:
        for logical, document in data_of(synthesis.stack(stack_id), "aws_iam_policy_document").items():
            for statement in document["statement"]:
                if statement.get("principals") or statement.get("effect") == "Deny":
                    continue  # resource policies and denials are not grants
                scoped = [action for action in statement.get("actions", ()) if action in NO_RESOURCE_TYPE]
                if scoped and statement.get("resources") != ["*"]:
                    wrong.append(f"{stack_id} {logical} {statement.get('sid')}: {scoped} on {statement.get('resources')}")
    assert not wrong, "actions with no resource type scoped to ARNs:\n" + "\n".join(wrong)
