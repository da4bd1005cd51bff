"""Passwords generated at apply time that Terraform never stores.

`aws_secretsmanager_random_password` as an ephemeral resource (aws provider >= 5.83): Secrets
Manager's GetRandomPassword is called during plan and apply, and the value is kept in neither plan
nor state. Its only use is a write-only argument (`secret_string_wo`), which sends it once per
`secret_string_wo_version`. A data source would do the same job but print the password as its id.
"""

from __future__ import annotations

from cdktf import TerraformStack
from constructs import Construct


def ephemeral_password(scope: Construct, *, name: str, length: int) -> str:
    """Declare the generator `name` in `scope`'s stack; returns the expression of its value."""
    address = f"ephemeral.aws_secretsmanager_random_password.{name}"
    # Ephemeral resources have no cdktf construct (cdktf predates them): the block is written into
    # the stack's JSON and referenced by address.
    TerraformStack.of(scope).add_override(
        address,
        {
            "password_length": length,
            # Alphanumeric only: the values end up in URLs and shell commands, and ElastiCache refuses
            # some punctuation in AUTH tokens.
            "exclude_punctuation": True,
            "include_space": False,
            "require_each_included_type": True,
        },
    )
    return f"{address}.random_password"
