"""Environment specs built from a profile plus overrides, and their synthesis, for tests of shapes
the spec allows but no checked-in environment has (two zones, no DR copy, one NAT gateway in
production, a public API range, the longest name).

A variant starts from the checked-in environment of its profile (its required fields: account,
DNS, certificate, image tags), takes a name and a VPC range of its own, and deep-merges the
overrides on top, exactly as an environment file overrides its profile's defaults. It is loaded
by the real loader (`envspec.loader.load_file`), so a variant the spec refuses fails the way an
environment file would.

Variants are declared at import time (`variant(...)` in a test module); the `variants` fixture
(tests/conftest.py) synthesizes every declared variant in one `python -m synth` process, once per
run however many xdist workers ask (one process for many environments costs about as much as for
one: the provider bindings load once).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from envspec import EnvironmentSpec
from envspec.loader import DEFAULT_DIRECTORY, load_file
from envspec.profiles import deep_merge

# The checked-in environment each profile's variants start from.
BASE_ENVIRONMENT = {"development": "development", "staging": "staging", "production": "production"}
# Variants get VPC ranges from here, clear of the checked-in environments' (the loader refuses overlaps).
VARIANT_RANGES = ipaddress.IPv4Network("10.128.0.0/9")
# And DR VPC ranges from here (the loader checks them against every VPC in both regions).
VARIANT_DR_RANGES = ipaddress.IPv4Network("10.64.0.0/10")
# And accounts of their own: the loader refuses two environments in one account.
VARIANT_ACCOUNTS = 900000000000


@dataclass(frozen=True)
class Variant:
    name: str
    profile: str
    overrides: dict[str, Any] = field(default_factory=dict)
    vpc_cidr: str = ""
    account_id: str = ""
    dr_vpc_cidr: str = ""

    def document(self) -> dict[str, Any]:
        """The environment file this variant would be."""
        base = yaml.safe_load((DEFAULT_DIRECTORY / f"{BASE_ENVIRONMENT[self.profile]}.yaml").read_text(encoding="utf-8"))
        own = {"name": self.name, "profile": self.profile, "aws": {"account_id": self.account_id}, "network": {"vpc_cidr": self.vpc_cidr}}
        own["dr"] = {"vpc_cidr": self.dr_vpc_cidr}
        return deep_merge(deep_merge(base, own), self.overrides)

    def write(self, directory: Path) -> Path:
        path = directory / f"{self.name}.yaml"
        path.write_text(yaml.safe_dump(self.document(), sort_keys=False), encoding="utf-8")
        return path

    def spec(self, directory: Path) -> EnvironmentSpec:
        """The spec the loader makes of this variant (written into `directory` first)."""
        return load_file(self.write(directory))


VARIANTS: dict[str, Variant] = {}


def variant(name: str, *, profile: str, **overrides: Any) -> Variant:
    """Declare a variant named `name` (also its environment name); the same declaration twice is one variant."""
    index = len(VARIANTS) if name not in VARIANTS else list(VARIANTS).index(name)
    cidr = str(list(VARIANT_RANGES.subnets(new_prefix=16))[index])
    dr_cidr = str(list(VARIANT_DR_RANGES.subnets(new_prefix=16))[index])
    declared = Variant(name, profile, overrides, cidr, f"{VARIANT_ACCOUNTS + index:012d}", dr_cidr)
    if VARIANTS.setdefault(name, declared) != declared:
        raise ValueError(f"variant {name!r} is declared twice with different settings")
    return declared


def write_all(directory: Path) -> list[str]:
    """Write every declared variant's file into `directory`; returns their names."""
    directory.mkdir(parents=True, exist_ok=True)
    for declared in VARIANTS.values():
        declared.write(directory)
    return list(VARIANTS)
