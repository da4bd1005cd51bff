"""Terraform CLI configuration for machines without registry access.

Resolution, first match wins:
1. `AI_SUBSIDY_TF_PROVIDER_MIRROR=<dir>`: use that filesystem mirror (the folder that contains
   `registry.terraform.io/`); `AI_SUBSIDY_TF_PROVIDER_MIRROR=off` disables detection.
2. An existing file named by `TF_CLI_CONFIG_FILE`: the user's own configuration, left alone.
3. A mirror holding hashicorp/aws in one of the usual plugin folders.
4. Nothing: Terraform downloads providers from the registry as usual.

Usage:
  python -m tools.terraform_cli path   # print the CLI config file to use (empty when none is needed)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from envspec.exit_codes import BAD_INPUT

# The hashicorp/aws release cdktf-cdktf-provider-aws 20.1.0 is generated from (and pins).
AWS_PROVIDER_VERSION = "5.100.0"
ROOT = Path(__file__).resolve().parent.parent
MIRROR_ENV = "AI_SUBSIDY_TF_PROVIDER_MIRROR"
GENERATED_CONFIG = ROOT / ".cache" / "terraform" / "cli.tfrc"
CANDIDATES = (
    Path("/opt/tf-plugins"),
    Path("/usr/share/terraform/plugins"),
    Path("/usr/local/share/terraform/plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
)


def _has_aws_provider(mirror: Path) -> bool:
    return (mirror / "registry.terraform.io" / "hashicorp" / "aws" / AWS_PROVIDER_VERSION).is_dir()


def find_mirror() -> Path | None:
    configured = os.environ.get(MIRROR_ENV, "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        mirror = Path(configured).expanduser()
        if not _has_aws_provider(mirror):
            raise SystemExit(f"error: {MIRROR_ENV}={configured} has no registry.terraform.io/hashicorp/aws/{AWS_PROVIDER_VERSION}")
        return mirror
    return next((candidate for candidate in CANDIDATES if _has_aws_provider(candidate)), None)


def cli_config_file() -> Path | None:
    """The CLI config Terraform should use, writing it if a mirror is found; None means defaults."""
    user_config = os.environ.get("TF_CLI_CONFIG_FILE")
    if not os.environ.get(MIRROR_ENV) and user_config and Path(user_config).is_file():
        return Path(user_config)
    mirror = find_mirror()
    if mirror is None:
        return None
    content = (
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        "}\n"
    )
    GENERATED_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    if not GENERATED_CONFIG.is_file() or GENERATED_CONFIG.read_text() != content:
        GENERATED_CONFIG.write_text(content)
    return GENERATED_CONFIG


def terraform_environment() -> dict[str, str]:
    """Environment for a Terraform subprocess: the CLI config (if any), no prompts, no telemetry."""
    env = dict(os.environ, TF_INPUT="0", CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    config = cli_config_file()
    if config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(config)
    else:
        env.pop("TF_CLI_CONFIG_FILE", None)  # a dangling path only makes Terraform warn
    return env


def main(argv: list[str]) -> int:
    if argv != ["path"]:
        print(__doc__, file=sys.stderr)
        return BAD_INPUT
    config = cli_config_file()
    print(config or "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
