"""Which EKS add-on and node AMI versions belong to which Kubernetes minor version.

EKS publishes kube-proxy and CoreDNS per Kubernetes minor: kube-proxy's own minor is the cluster's
(EKS User Guide, "Manage kube-proxy in Amazon EKS clusters", table "kube-proxy versions": 1.35 ->
v1.35.3-eksbuild.2, 1.34 -> v1.34.6-eksbuild.2, ...), and each Kubernetes minor has its CoreDNS line
(EKS User Guide, "Manage CoreDNS for DNS in Amazon EKS clusters", table "CoreDNS versions": 1.33 and
1.34 -> v1.12.4-eksbuild.1; the builds published for 1.35 are v1.13.x). vpc-cni, the EBS CSI driver and
the Pod Identity agent are released for every supported Kubernetes version at once (one row per
version in their tables) and are not tied to a minor here.

A Kubernetes version missing from this table is refused: raising `cluster.version` starts with
adding its row from those tables (docs/upgrades.md), checked with
`aws eks describe-addon-versions --kubernetes-version <minor> --addon-name <name>`.

Managed node AMI release versions read `<Kubernetes patch>-<YYYYMMDD>`, e.g. `1.35.6-20260714` for the
AMIs `amazon-eks-node-al2023-*-1.35-v20260714` (awslabs/amazon-eks-ami CHANGELOG.md, "AMI Release
v20260714", table "Kubernetes 1.35": release version `1.35.6-20260714`).
"""

from __future__ import annotations

import re

# Kubernetes minor -> add-on name -> the version line (prefix before the patch) EKS publishes for it.
ADDON_LINES: dict[str, dict[str, str]] = {
    "1.33": {"kube-proxy": "v1.33", "coredns": "v1.12"},
    "1.34": {"kube-proxy": "v1.34", "coredns": "v1.12"},
    "1.35": {"kube-proxy": "v1.35", "coredns": "v1.13"},
}
AMI_RELEASE_VERSION = r"^(?P<minor>1\.\d{2})\.\d+-(?P<date>20\d{6})$"


def addon_problems(kubernetes_version: str, addons: dict[str, str]) -> list[str]:
    """Why the pinned add-on versions do not belong to this Kubernetes version (empty: they do)."""
    lines = ADDON_LINES.get(kubernetes_version)
    if lines is None:
        return [
            f"no add-on compatibility entry for Kubernetes {kubernetes_version} in envspec/eks_versions.py "
            f"(known: {', '.join(ADDON_LINES)}); add its row from the EKS User Guide's add-on version tables"
        ]
    return [
        f"{name} {addons[name]} is not a build for Kubernetes {kubernetes_version} (use a {line}.x build)"
        for name, line in lines.items()
        if name in addons and not addons[name].startswith(f"{line}.")
    ]


def release_version_problem(kubernetes_version: str, release_version: str) -> str | None:
    """Why a managed node AMI release version does not fit this Kubernetes version (None: it does)."""
    match = re.fullmatch(AMI_RELEASE_VERSION, release_version)
    if match is None:
        return f"'{release_version}' is not an EKS AMI release version like {kubernetes_version}.6-20260714"
    if match["minor"] != kubernetes_version:
        return (
            f"AMI release {release_version} is for Kubernetes {match['minor']}, not the cluster version "
            f"{kubernetes_version}; node groups must run the cluster's version"
        )
    return None
