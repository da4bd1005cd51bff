"""A small evaluator of synthesized `aws_iam_policy_document` statements against one request.

It follows IAM's evaluation logic for the parts the tests use (IAM User Guide, "Policy evaluation
logic"): an explicit Deny wins, otherwise some Allow must match; a statement matches when its
principal, action (wildcards), resource (wildcards) and every condition match; a condition on a key
the request does not carry fails (IAM User Guide, "Condition keys that are not present"). Operators:
StringEquals, StringLike, ArnEquals, ArnLike, Bool; anything else fails the test loudly.
"""

from __future__ import annotations

import fnmatch
from typing import Any


def condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    value = context.get(condition["variable"])
    if value is None:
        return False
    if condition["test"] in ("StringEquals", "ArnEquals", "Bool"):
        return value in condition["values"]
    if condition["test"] in ("ArnLike", "StringLike"):
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in condition["values"])
    raise AssertionError(f"operator {condition['test']} is not evaluated by tests/iam_eval.py")


def _matches(statement: dict[str, Any], principal: str, action: str, resource: str, context: dict[str, str]) -> bool:
    principals = {identifier for p in statement.get("principals", []) for identifier in p["identifiers"]}
    return (
        (principal in principals or "*" in principals)
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in statement["actions"])
        and any(fnmatch.fnmatchcase(resource, r) for r in statement["resources"])
        and all(condition_holds(c, context) for c in statement.get("condition", []))
    )


def allowed(statements: list[dict[str, Any]], principal: str, action: str, resource: str, context: dict[str, str]) -> bool:
    if any(s.get("effect") == "Deny" and _matches(s, principal, action, resource, context) for s in statements):
        return False
    return any(s.get("effect", "Allow") == "Allow" and _matches(s, principal, action, resource, context) for s in statements)
