"""A compact IAM policy evaluator for the synthesized policies, as AWS documents the evaluation.

Scope: Allow/Deny with Action/NotAction and Resource/NotResource wildcards (`*`, `?`; actions
case-insensitive), the Principal element of resource policies, and the condition operators the
stacks use (String*, Arn*, Null, Bool, ForAnyValue:/ForAllValues: and the `IfExists` suffix).
Policy variables (`${aws:username}`) and numeric or date operators are not evaluated: a condition
using them raises, so a test cannot pass by ignoring one.

Rules encoded (IAM User Guide):
- "Policy evaluation logic" / "Determining whether a request is allowed or denied within an
  account": an explicit Deny in any policy wins; otherwise an Allow is needed from an identity
  policy (capped by the permissions boundary, when the principal has one) or from a resource
  policy; AWS KMS key policies are the exception: a key is usable only when its key policy allows
  it, directly or through the account-root statement that delegates to IAM policies
  (AWS KMS Developer Guide, "Key policies in AWS KMS", "Default key policy").
- "Permissions boundaries for IAM entities": the effective permissions are the intersection of
  the identity policies and the boundary; a Deny in either applies.
- "IAM JSON policy elements: Condition operators": a condition on a key the request does not
  carry is false, except for negated operators (`StringNotEquals`, `ArnNotLike`, ...) and
  `...IfExists`, which are true; `Null: true` matches a missing key; `ForAllValues` is true for a
  missing key; values of one key are ORed, keys and operators of one statement are ANDed.

No PyPI package evaluates conditions this way (policyuniverse and parliament parse and lint;
moto's IAM enforcement ignores conditions), hence this module.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    principal: str = ""  # ARN of the caller (role ARN for a role session)
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyStatement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] | None = None  # None: no Resource element (trust policies)
    not_resources: tuple[str, ...] = ()
    principals: Mapping[str, tuple[str, ...]] | None = None  # type -> identifiers; None: identity policy
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (operator, key, values)
    sid: str = ""


Policy = Sequence[PolicyStatement]


# --- Loading ----------------------------------------------------------------------------------
def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def from_document(document: Mapping[str, Any], resolve: Callable[[str], str] = lambda value: value) -> list[PolicyStatement]:
    """Statements of a synthesized `aws_iam_policy_document` body; `resolve` turns Terraform
    references (`${aws_s3_bucket.x.arn}`) into the concrete values the test assumes."""

    def values(items: Iterable[str] | None) -> tuple[str, ...]:
        return tuple(resolve(item) for item in items or ())

    statements = []
    for raw in document["statement"]:
        principals = None
        if raw.get("principals"):
            principals = {item["type"]: values(item["identifiers"]) for item in raw["principals"]}
        statements.append(
            PolicyStatement(
                effect=raw.get("effect", "Allow"),
                actions=_tuple(raw.get("actions")),
                not_actions=_tuple(raw.get("not_actions")),
                resources=values(raw["resources"]) if raw.get("resources") else None,
                not_resources=values(raw.get("not_resources")),
                principals=principals,
                conditions=tuple((item["test"], item["variable"], values(item["values"])) for item in raw.get("condition") or ()),
                sid=raw.get("sid", ""),
            )
        )
    return statements


def from_json(policy: str | Mapping[str, Any]) -> list[PolicyStatement]:
    """Statements of a policy in IAM's own JSON grammar (AWS managed policies)."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    raw_statements = document["Statement"]
    statements = []
    for raw in [raw_statements] if isinstance(raw_statements, dict) else raw_statements:
        principals = None
        if "Principal" in raw:
            principal = raw["Principal"]
            principals = {"AWS": ("*",)} if principal == "*" else {kind: _tuple(ids) for kind, ids in principal.items()}
        conditions = tuple(
            (operator, key, _tuple(expected)) for operator, block in (raw.get("Condition") or {}).items() for key, expected in block.items()
        )
        statements.append(
            PolicyStatement(
                effect=raw["Effect"],
                actions=_tuple(raw.get("Action")),
                not_actions=_tuple(raw.get("NotAction")),
                resources=_tuple(raw["Resource"]) if "Resource" in raw else None,
                not_resources=_tuple(raw.get("NotResource")),
                principals=principals,
                conditions=conditions,
                sid=raw.get("Sid", ""),
            )
        )
    return statements


# --- Matching ---------------------------------------------------------------------------------
def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _action_matches(statement: PolicyStatement, action: str) -> bool:
    if statement.not_actions:
        return not any(_glob(pattern, action, case_sensitive=False) for pattern in statement.not_actions)
    return any(_glob(pattern, action, case_sensitive=False) for pattern in statement.actions)


def _resource_matches(statement: PolicyStatement, resource: str) -> bool:
    if statement.not_resources:
        return not any(_glob(pattern, resource) for pattern in statement.not_resources)
    if statement.resources is None:
        return True
    return any(_glob(pattern, resource) for pattern in statement.resources)


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _principal_matches(statement: PolicyStatement, request: Request) -> bool:
    if statement.principals is None:
        return True
    for kind, identifiers in statement.principals.items():
        for identifier in identifiers:
            if identifier == "*" or request.principal == _PRINCIPAL_FORMS.get(kind, "{}").format(identifier):
                return True
            # "arn:aws:iam::<account>:root" names the account: any IAM principal of it (whose own
            # IAM policies must then allow the request).
            root = kind == "AWS" and identifier.endswith(":root") and not request.principal.startswith("service:")
            if root and _account_of(identifier) == _account_of(request.principal):
                return True
    return False


_PRINCIPAL_FORMS = {"AWS": "{}", "Service": "service:{}", "Federated": "federated:{}"}


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringEqualsIgnoreCase": lambda expected, actual: expected.lower() == actual.lower(),
    "StringLike": lambda expected, actual: _glob(expected, actual),
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": lambda expected, actual: _glob(expected, actual),
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, expected: tuple[str, ...], context: Mapping[str, ContextValue]) -> bool:
    if any("${" in value for value in expected):
        raise NotImplementedError(f"policy variables are not evaluated: {operator} {key} {expected}")
    present = key in context
    raw = context.get(key)
    actual: tuple[str, ...] = _tuple(raw) if present else ()
    if operator == "Null":
        return (expected[0].lower() == "true") == (not present)
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if not present:
        if qualifier == "ForAllValues":
            return True
        return if_exists or base in _NEGATED
    negated = base in _NEGATED
    compare = _OPERATORS.get(_NEGATED.get(base, base))
    if compare is None:
        raise NotImplementedError(f"condition operator {operator} is not evaluated")

    def matches(value: str) -> bool:
        return any(compare(item, value) for item in expected)

    # ForAllValues: every value of the request; ForAnyValue and single-valued operators: any.
    result = all(matches(value) for value in actual) if qualifier == "ForAllValues" else any(matches(value) for value in actual)
    return not result if negated else result


def statement_applies(statement: PolicyStatement, request: Request) -> bool:
    return (
        _action_matches(statement, request.action)
        and _resource_matches(statement, request.resource)
        and _principal_matches(statement, request)
        and all(_condition_holds(operator, key, values, request.context) for operator, key, values in statement.conditions)
    )


def _effects(policy: Policy, request: Request) -> set[str]:
    return {statement.effect for statement in policy if statement_applies(statement, request)}


# --- Decisions --------------------------------------------------------------------------------
def is_allowed(
    request: Request,
    identity: Policy = (),
    *,
    boundary: Policy | None = None,
    resource_policy: Policy | None = None,
) -> bool:
    """Same-account decision for an IAM principal (or, with `identity` empty, a service principal
    named `service:<service>` in `request.principal`) under identity policies, an optional
    permissions boundary and an optional resource policy."""
    identity_effects = _effects(identity, request)
    boundary_effects = _effects(boundary, request) if boundary is not None else {"Allow"}
    resource_effects = _effects(resource_policy, request) if resource_policy is not None else set()
    if "Deny" in identity_effects | boundary_effects | resource_effects:
        return False
    if "Allow" in resource_effects:
        return True
    return "Allow" in identity_effects and "Allow" in boundary_effects


def kms_is_allowed(request: Request, key_policy: Policy, identity: Policy = (), *, boundary: Policy | None = None) -> bool:
    """A KMS request: the key policy must allow it, naming the caller, or naming the account
    (then the caller's IAM policies, capped by its boundary, must allow it too)."""
    if "Deny" in _effects(key_policy, request) | _effects(identity, request):
        return False
    if boundary is not None and "Deny" in _effects(boundary, request):
        return False
    account_root = f"arn:aws:iam::{_account_of(request.principal)}:root"
    for statement in key_policy:
        if statement.effect != "Allow" or not statement_applies(statement, request):
            continue
        names = (statement.principals or {}).get("AWS", ())
        if request.principal in names or "*" in names or request.principal.startswith("service:"):
            return True
        if account_root in names or _account_of(request.principal) in names:
            return is_allowed(request, identity, boundary=boundary)
    return False


def assumable_by(trust: Policy, principal: str, context: Mapping[str, ContextValue], action: str) -> bool:
    """Whether a trust policy lets `principal` (for example `federated:<provider ARN>`) assume the
    role with `action` in this request context."""
    return is_allowed(Request(action=action, principal=principal, context=context), resource_policy=trust)


TERRAFORM_REFERENCE = re.compile(r"\$\{([^}]+)\}")


# --- Synthesized stacks -----------------------------------------------------------------------
@dataclass(frozen=True)
class RoleView:
    """One `aws_iam_role` of a synthesized stack with its policies, references resolved."""

    name: str
    arn: str
    trust: list[PolicyStatement]
    inline: list[PolicyStatement]
    managed_policy_arns: list[str]
    permissions_boundary: str | None


class StackIam:
    """The IAM side of one synthesized stack: roles, key policies, references resolved to the
    concrete ARNs the resources will have. A reference this class cannot resolve becomes
    `unresolved:<reference>`, which no pattern but `*` matches."""

    def __init__(self, stack: Mapping[str, Any], *, account: str, region: str, dr_region: str | None = None):
        self.stack, self.account, self.region, self.dr_region = stack, account, region, dr_region
        self.resources = stack.get("resource", {})
        self.documents = stack.get("data", {}).get("aws_iam_policy_document", {})

    def _region_of(self, body: Mapping[str, Any]) -> str:
        return self.dr_region if body.get("provider") == "aws.dr" and self.dr_region else self.region

    def _attribute(self, reference: str) -> str:
        parts = reference.split(".")
        if parts[0] == "data" and parts[1] == "aws_iam_policy_document" and parts[3] == "json":
            return reference  # documents are loaded with `document`
        kind, logical, attribute = parts[0], parts[1], parts[-1]
        body = self.resources.get(kind, {}).get(logical)
        if body is None:
            return f"unresolved:{reference}"
        account, region = self.account, self._region_of(body)
        arns = {
            "aws_s3_bucket": lambda: f"arn:aws:s3:::{body['bucket']}",
            "aws_kms_key": lambda: f"arn:aws:kms:{region}:{account}:key/{logical}",
            "aws_iam_role": lambda: f"arn:aws:iam::{account}:role/{body['name']}",
            "aws_iam_policy": lambda: f"arn:aws:iam::{account}:policy/{body['name']}",
            "aws_iam_openid_connect_provider": lambda: f"arn:aws:iam::{account}:oidc-provider/{body['url'].removeprefix('https://')}",
            "aws_cloudwatch_log_group": lambda: f"arn:aws:logs:{region}:{account}:log-group:{body['name']}",
        }
        if attribute == "arn" and kind in arns:
            return arns[kind]()
        if attribute in ("bucket", "name") and attribute in body:
            return body[attribute]
        return f"unresolved:{reference}"

    def resolve(self, value: str) -> str:
        return TERRAFORM_REFERENCE.sub(lambda match: self._attribute(match.group(1)), value)

    def document(self, reference: str) -> list[PolicyStatement]:
        """`${data.aws_iam_policy_document.<id>.json}` as statements."""
        logical = reference.removeprefix("${").removesuffix("}").split(".")[2]
        return from_document(self.documents[logical], self.resolve)

    def roles(self) -> dict[str, RoleView]:
        roles = {}
        inline = self.resources.get("aws_iam_role_policy", {})
        attachments = self.resources.get("aws_iam_role_policy_attachment", {})
        for logical, body in self.resources.get("aws_iam_role", {}).items():
            by_id = f"${{aws_iam_role.{logical}.id}}"
            by_name = f"${{aws_iam_role.{logical}.name}}"
            statements = [s for policy in inline.values() if policy["role"] in (by_id, by_name) for s in self.document(policy["policy"])]
            managed = [self.resolve(a["policy_arn"]) for a in attachments.values() if a["role"] in (by_id, by_name)]
            boundary = body.get("permissions_boundary")
            roles[body["name"]] = RoleView(
                name=body["name"],
                arn=f"arn:aws:iam::{self.account}:role/{body['name']}",
                trust=self.document(body["assume_role_policy"]),
                inline=statements,
                managed_policy_arns=managed,
                permissions_boundary=self.resolve(boundary) if boundary else None,
            )
        return roles

    def key_policy_by_alias(self, alias: str) -> tuple[str, list[PolicyStatement]]:
        """(key ARN, key policy) of the key an `aws_kms_alias` of this stack names."""
        for body in self.resources.get("aws_kms_alias", {}).values():
            if body["name"] == alias:
                logical = body["target_key_id"].removeprefix("${").split(".")[1]
                key = self.resources["aws_kms_key"][logical]
                return f"arn:aws:kms:{self._region_of(key)}:{self.account}:key/{logical}", self.document(key["policy"])
        raise KeyError(f"no alias {alias} in this stack")

    def managed_policies(self) -> dict[str, list[PolicyStatement]]:
        """Customer managed policies (`aws_iam_policy`) of this stack by ARN."""
        return {
            self._attribute(f"aws_iam_policy.{logical}.arn"): self.document(body["policy"])
            for logical, body in self.resources.get("aws_iam_policy", {}).items()
        }
