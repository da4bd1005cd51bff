"""Reduce `terraform show -json <plan>` to what a reviewer needs: which resources change, and how.

A digest holds resource addresses and actions only. Planned values are never copied: a plan may
contain secrets in clear text (generated passwords, for instance), so the raw plan stays on the
machine that made it and only digests travel between CI jobs and into pull-request comments.
"""

from __future__ import annotations

from typing import Any

# Terraform's own action lists (JSON output format, `resource_changes[].change.actions`).
CREATE, UPDATE, DELETE, READ, NO_OP, FORGET = "create", "update", "delete", "read", "no-op", "forget"
KINDS = ("create", "update", "replace", "delete", "forget")


def action_kind(actions: list[str]) -> str | None:
    """'create' | 'update' | 'replace' | 'delete' | 'forget'; None for no-op and data reads."""
    if sorted(actions) == [CREATE, DELETE]:
        return "replace"
    if actions == [CREATE]:
        return "create"
    if actions == [UPDATE]:
        return "update"
    if actions == [DELETE]:
        return "delete"
    if actions == [FORGET]:
        return "forget"
    if actions in ([NO_OP], [READ]):
        return None
    raise ValueError(f"unknown Terraform plan actions {actions!r}")


def digest_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """{'format': 1, 'terraform_version', 'changes': {kind: [address, ...]}, 'moved': [...], 'imported': [...]}."""
    if "format_version" not in plan or "terraform_version" not in plan:
        raise ValueError("not the output of `terraform show -json <plan file>`")
    changes: dict[str, list[str]] = {kind: [] for kind in KINDS}
    moved, imported = [], []
    for resource in plan.get("resource_changes", []):
        if resource.get("mode") == "data":
            continue
        change = resource["change"]
        kind = action_kind(list(change["actions"]))
        if kind is not None:
            changes[kind].append(resource["address"])
        if resource.get("previous_address"):
            moved.append(f"{resource['previous_address']} -> {resource['address']}")
        if change.get("importing"):
            imported.append(resource["address"])
    return {
        "format": 1,
        "terraform_version": plan["terraform_version"],
        "changes": {kind: sorted(addresses) for kind, addresses in changes.items()},
        "moved": sorted(moved),
        "imported": sorted(imported),
        "errored": bool(plan.get("errored", False)),
    }


def counts(digest: dict[str, Any]) -> dict[str, int]:
    """Terraform's own summary arithmetic: a replacement is one to add and one to destroy."""
    changes = digest["changes"]
    return {
        "add": len(changes["create"]) + len(changes["replace"]),
        "change": len(changes["update"]),
        "destroy": len(changes["delete"]) + len(changes["replace"]),
    }
