"""The environment an operation acts on: its spec, its names, and AWS clients checked against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from envspec import DEFAULT_DIRECTORY, EnvironmentSpec, Names, SpecError, load_environments, names_for
from ops.errors import EnvironmentProblem, InputError

AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60)


def load_spec(env: str, directory: Path = DEFAULT_DIRECTORY) -> EnvironmentSpec:
    """The validated spec of one environment; an unknown name or an invalid file is bad input."""
    try:
        return load_environments(directory, only=[env])[env]
    except SpecError as error:
        raise InputError("; ".join(str(problem) for problem in error.problems)) from None


@dataclass
class Aws:
    """boto3 clients for one environment, after proving the credentials belong to its account.

    `verify()` runs before any call that reads or changes anything, so missing or wrong credentials
    are reported once, clearly, and nothing has been touched.
    """

    spec: EnvironmentSpec
    profile: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    @cached_property
    def session(self) -> boto3.session.Session:
        try:
            return boto3.session.Session(profile_name=self.profile)
        except botocore.exceptions.ProfileNotFound:
            raise EnvironmentProblem(f"AWS profile '{self.profile}' is not configured (aws configure --profile {self.profile})") from None

    @property
    def region(self) -> str:
        return self.spec.aws.region

    @property
    def dr_region(self) -> str:
        return self.spec.aws.dr_region

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=key[1], config=AWS_CONFIG)
        return self._clients[key]

    def verify(self, region: str | None = None) -> str:
        """The caller's ARN; refuses missing credentials and credentials of another account.

        `region`: where to ask STS; a DR-region operation must not depend on the primary region.
        """
        if self.session.get_credentials() is None:
            raise EnvironmentProblem(
                "no AWS credentials found; log in first (for example `aws sso login`) or set AWS_PROFILE; nothing was changed"
            )
        identity = self.client("sts", region).get_caller_identity()
        account = identity["Account"]
        if account != self.spec.aws.account_id:
            raise EnvironmentProblem(
                f"the AWS credentials are for account {account}, but environment '{self.spec.name}' lives in "
                f"{self.spec.aws.account_id}; nothing was changed"
            )
        return str(identity["Arn"])


@dataclass
class Target:
    """Everything a command needs to know about the environment it acts on."""

    spec: EnvironmentSpec
    aws: Aws

    @property
    def names(self) -> Names:
        return names_for(self.spec)

    @property
    def env(self) -> str:
        return self.spec.name


def target(env: str, profile: str | None = None, directory: Path = DEFAULT_DIRECTORY) -> Target:
    spec = load_spec(env, directory)
    return Target(spec, Aws(spec, profile))
