"""The subnet plan lives in `envspec.layout` (both layers read it); kept here for existing imports."""

from envspec.layout import SubnetLayout, subnet_layout

__all__ = ["SubnetLayout", "subnet_layout"]
