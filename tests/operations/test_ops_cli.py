"""The command line itself: help everywhere, dry run by default, and clean refusals (one line,
an exit code, no traceback, nothing changed), as a user meets them through `python -m ops`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.cli import build_parser
from tests.conftest import ROOT


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(prefix, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*prefix, name))
    return found


COMMANDS = _commands(build_parser())
LEAVES = [path for path, parser in COMMANDS if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)]
DESTRUCTIVE = {
    ("dr", "restore-db"),
    ("dr", "switch-db"),
    ("dr", "restore-files"),
    ("dr", "drill"),
    ("dr", "failover-region"),
    ("incident", "recover"),
    ("deploy", "set-image"),
}


def ops(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops", *argv], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


def no_credentials_env(tmp_path: Path) -> dict[str, str]:
    blocked = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN"}
    env = {key: value for key, value in os.environ.items() if key not in blocked}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def test_the_tree_has_the_commands_the_runbooks_use() -> None:
    assert set(LEAVES) == {
        ("dr", "restore-db"),
        ("dr", "switch-db"),
        ("dr", "restore-files"),
        ("dr", "drill"),
        ("dr", "failover-region"),
        ("dr", "status"),
        ("incident", "collect"),
        ("incident", "notify"),
        ("incident", "recover"),
        ("cost", "report"),
        ("deploy", "set-image"),
    }


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda path: " ".join(path) or "ops")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = ops(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m ops")
    assert len(result.stdout.split("\n\n")) >= 2, "a description, not just usage"


@pytest.mark.parametrize("path", sorted(DESTRUCTIVE), ids=" ".join)
def test_destructive_commands_are_dry_runs_unless_execute(path: tuple[str, ...]) -> None:
    parser = dict(COMMANDS)[path]
    (execute,) = [action for action in parser._actions if "--execute" in action.option_strings]
    assert execute.default is False
    assert "dry run" in (execute.help or "")


def test_commands_that_act_on_nothing_have_no_execute_flag() -> None:
    for path in set(LEAVES) - DESTRUCTIVE:
        assert not any("--execute" in action.option_strings for action in dict(COMMANDS)[path]._actions), path


@pytest.mark.parametrize(
    "argv",
    [
        ("dr", "restore-db", "--env", "prod", "--to", "latest"),
        ("dr", "restore-files", "--env", "prod", "--to", "2026-01-01T00:00:00Z"),
        ("dr", "drill", "--env", "prod"),
        ("dr", "failover-region", "--env", "prod"),
        ("incident", "collect", "--env", "prod"),
        ("incident", "notify", "--env", "prod", "--severity", "minor", "--component", "backend", "--message", "x"),
        ("deploy", "set-image", "--env", "prod", "--component", "backend", "--tag", "v2.0.0"),
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_unknown_environment_is_refused_in_one_line(argv: tuple[str, ...]) -> None:
    result = ops(*argv)
    assert result.returncode == 2
    assert result.stderr == "error: environments/prod.yaml: unknown environment 'prod' (known: development, production, staging)\n"
    assert result.stdout == ""


def test_missing_credentials_are_refused_before_any_call(tmp_path: Path) -> None:
    result = ops("dr", "restore-db", "--env", "production", "--to", "latest", "--execute", env=no_credentials_env(tmp_path))
    assert result.returncode == 3
    assert result.stderr.startswith("error: no AWS credentials found")
    assert "nothing was changed" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_the_exit_codes_are_documented() -> None:
    assert "exit codes:" in ops("--help").stdout


BAD_ARGUMENTS = {
    "restore-db --to yesterday": (("dr", "restore-db", "--env", "production", "--to", "yesterday"), "--to: 'yesterday' is not an ISO 8601"),
    "restore-db --to without a zone": (("dr", "restore-db", "--env", "production", "--to", "2026-05-01T09:30:00"), "has no time zone"),
    "restore-db bad target name": (
        ("dr", "restore-db", "--env", "production", "--to", "latest", "--target-identifier", "Prod_Copy"),
        "--target-identifier: 'Prod_Copy' is not a valid RDS identifier",
    ),
    "restore-db bad security group": (
        ("dr", "restore-db", "--env", "production", "--to", "latest", "--vpc-security-group-id", "default"),
        "is not a security group ID",
    ),
    "restore-db dr without placement": (
        ("dr", "restore-db", "--env", "production", "--snapshot", "newest", "--region", "dr"),
        "--region dr: name the placement",
    ),
    "restore-db negative timeout": (
        ("dr", "restore-db", "--env", "production", "--to", "latest", "--timeout-minutes", "-5"),
        "--timeout-minutes: must be greater than 0",
    ),
    "switch-db negative poll": (
        ("dr", "switch-db", "--env", "production", "--instance", "x", "--poll-seconds", "-1"),
        "--poll-seconds: must be 0 or more",
    ),
    "restore-files --to tomorrow": (("dr", "restore-files", "--env", "production", "--to", "tomorrow"), "is not an ISO 8601 time"),
    "restore-files failover with execute": (
        ("dr", "restore-files", "--env", "production", "--failover", "--execute"),
        "--failover is a read-only check",
    ),
    "drill report in a missing folder": (
        ("dr", "drill", "--env", "production", "--report", "/nonexistent/drill.json"),
        "--report: the folder of /nonexistent/drill.json does not exist",
    ),
    "drill region-loss with restore options": (
        ("dr", "drill", "--env", "staging", "--scenario", "region-loss", "--keep"),
        "--keep: only for the restore scenario",
    ),
    "drill restore with failover options": (
        ("dr", "drill", "--env", "staging", "--accept-data-loss"),
        "--accept-data-loss: only for the region-loss scenario",
    ),
    "failover-region report in a missing folder": (
        ("dr", "failover-region", "--env", "production", "--report", "/nonexistent/failover.json"),
        "--report: the folder of /nonexistent/failover.json does not exist",
    ),
    "failover-region without a standby": (
        ("dr", "failover-region", "--env", "development"),
        "environment 'development' has dr.mode backup-restore: there is no standby to fail over to",
    ),
    "collect zero minutes": (("incident", "collect", "--env", "production", "--since-minutes", "0"), "--since-minutes: must be greater"),
    "collect missing keep folder": (
        ("incident", "collect", "--env", "production", "--keep-local", "/nonexistent"),
        "--keep-local: /nonexistent is not a folder",
    ),
    "notify empty message": (
        ("incident", "notify", "--env", "production", "--severity", "minor", "--component", "backend", "--message", " "),
        "--message: must not be empty",
    ),
    "notify bad incident id": (
        ("incident", "notify", "--env", "production", "--severity", "minor", "--component", "db", "--message", "x", "--incident-id", "a b"),
        "--incident-id: 'a b' may hold only",
    ),
    "recover negative timeout": (
        ("incident", "recover", "--env", "production", "--component", "backend", "--severity", "minor", "--timeout-minutes", "0"),
        "--timeout-minutes: must be greater than 0",
    ),
    "set-image empty tag": (
        ("deploy", "set-image", "--env", "production", "--component", "backend", "--tag", ""),
        "--tag: must not be empty",
    ),
    "an environment that is no name": (("dr", "status", "--env", "../production"), "--env: '../production' is not an environment name"),
}


@pytest.mark.parametrize("case", BAD_ARGUMENTS, ids=list(BAD_ARGUMENTS))
def test_bad_arguments_are_refused_before_credentials_are_looked_at(case: str, tmp_path: Path) -> None:
    """Without any AWS credentials, a command's own bad input is still exit 2 and one line: the
    arguments are checked first, so the user fixes what they typed rather than logging in for nothing."""
    argv, reason = BAD_ARGUMENTS[case]
    result = ops(*argv, env=no_credentials_env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and reason in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "credentials" not in result.stderr
    assert result.stdout == ""
