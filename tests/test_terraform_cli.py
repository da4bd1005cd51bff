"""Offline provider mirror detection: configurable, detected, never required."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import terraform_cli


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(terraform_cli, "GENERATED_CONFIG", tmp_path / "generated" / "cli.tfrc")
    monkeypatch.setattr(terraform_cli, "CANDIDATES", ())
    monkeypatch.delenv(terraform_cli.MIRROR_ENV, raising=False)
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)


def _mirror(root: Path) -> Path:
    (root / "registry.terraform.io" / "hashicorp" / "aws" / terraform_cli.AWS_PROVIDER_VERSION / "linux_amd64").mkdir(parents=True)
    return root


def test_nothing_found_means_terraform_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "missing.tfrc"))
    assert terraform_cli.cli_config_file() is None
    assert "TF_CLI_CONFIG_FILE" not in terraform_cli.terraform_environment()


def test_explicit_mirror_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mirror = _mirror(tmp_path / "mirror")
    monkeypatch.setenv(terraform_cli.MIRROR_ENV, str(mirror))
    config = terraform_cli.cli_config_file()
    assert config is not None
    text = config.read_text()
    assert f'path    = "{mirror}"' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
    assert terraform_cli.terraform_environment()["TF_CLI_CONFIG_FILE"] == str(config)


def test_explicit_mirror_without_the_provider_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(terraform_cli.MIRROR_ENV, str(tmp_path))
    with pytest.raises(SystemExit, match=r"has no registry\.terraform\.io/hashicorp/aws/5\.100\.0"):
        terraform_cli.cli_config_file()


def test_mirror_is_detected_in_a_usual_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mirror = _mirror(tmp_path / "plugins")
    monkeypatch.setattr(terraform_cli, "CANDIDATES", (tmp_path / "absent", mirror))
    assert terraform_cli.find_mirror() == mirror


def test_detection_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(terraform_cli, "CANDIDATES", (_mirror(tmp_path / "plugins"),))
    monkeypatch.setenv(terraform_cli.MIRROR_ENV, "off")
    assert terraform_cli.cli_config_file() is None


def test_a_users_own_cli_config_is_respected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    own = tmp_path / "own.tfrc"
    own.write_text('plugin_cache_dir = "/tmp"\n')
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(own))
    monkeypatch.setattr(terraform_cli, "CANDIDATES", (_mirror(tmp_path / "plugins"),))
    assert terraform_cli.cli_config_file() == own
