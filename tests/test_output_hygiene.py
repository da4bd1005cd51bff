"""What must never be in synthesized output: dropped nested blocks, secrets, machine paths, timestamps."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, Synthesis


def _empty_objects_in_lists(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _empty_objects_in_lists(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if item == {}:
                found.append(f"{path}[{index}]")
            found += _empty_objects_in_lists(item, f"{path}[{index}]")
    return found


def test_no_nested_block_was_silently_dropped(synthesis: Synthesis) -> None:
    """The Python bindings can turn a nested block given as a plain dict into `{}` without error."""
    for stack_id in synthesis.stack_ids:
        assert not _empty_objects_in_lists(synthesis.stack(stack_id)), stack_id


def _all_output(synthesis: Synthesis) -> list[Path]:
    return sorted(p for root in (synthesis.terraform_dir, synthesis.kubernetes_dir) for p in root.rglob("*") if p.is_file())


def _third_party(archive: zipfile.ZipFile) -> set[str]:
    """Members installed from a lock file: every file a `*.dist-info/RECORD` in the package lists."""
    listed = set()
    for name in archive.namelist():
        if name.endswith(".dist-info/RECORD"):
            listed |= {line.split(",", 1)[0] for line in archive.read(name).decode().splitlines() if line}
    return listed


def test_no_machine_paths_or_timestamps(synthesis: Synthesis) -> None:
    """Lambda packages (zip files, stored uncompressed) are checked member by member; a library's
    own text (dateutil's docstrings hold ISO examples) is exempt from the timestamp check only."""
    forbidden = [str(ROOT), str(synthesis.terraform_dir.parent), "/home/", "/root/"]
    timestamp = re.compile(r"20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d")
    for path in _all_output(synthesis):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                assert {member.compress_type for member in archive.infolist()} == {zipfile.ZIP_STORED}, path
                libraries = _third_party(archive)
                members = {name: archive.read(name).decode("latin-1") for name in archive.namelist()}
        else:
            members, libraries = {"": path.read_text(encoding="utf-8")}, set()
        for name, text in members.items():
            assert not [item for item in forbidden if item in text], f"{path} {name}"
            assert name in libraries or not timestamp.search(text), f"{path} {name}"


def _detect_secrets(root: Path) -> dict[str, Any]:
    """detect-secrets over every file below `root` (it only scans paths relative to its working folder)."""
    # cdktf's logical ids (`vpc_public_ap-northeast-1d_8872E234`) look random enough to trip the entropy
    # check, and its map of output names (`"secrets_kms_key_arn": "secrets_kms_key_arn"`) the keyword one.
    logical_id_key = r'^\s*"[A-Za-z0-9_.-]+_[0-9A-F]{8}": \{$|^\s*"uniqueId": "[A-Za-z0-9_.-]+_[0-9A-F]{8}"$|^\s*"([a-z0-9_]+)": "\1",?$'
    # An ExternalSecret's `secretKey:` names a key of the Secret it writes (`secretKey: url`), never a value.
    secret_key_name = r"^\s*(- )?secretKey: [A-Za-z0-9._-]{1,64}$"
    # Helm values that name a Kubernetes Secret and its keys (Grafana's admin login), never a value.
    secret_reference = r"^\s*(existingSecret|userKey|passwordKey): [a-z0-9-]+$"
    # A quoted ARN alone on its line (`"arn:aws:sns:...:222222222222:ai-subsidy-...-alarms"`): the account id and a
    # long name look like a Telegram bot token to detect-secrets; an ARN is a name, never a credential.
    arn_line = r'^\s*"arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d{12}:[A-Za-z0-9/_.:*-]+",?$'
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "detect_secrets",
            "scan",
            "--all-files",
            "--exclude-lines",
            logical_id_key,
            "--exclude-lines",
            secret_key_name,
            "--exclude-lines",
            secret_reference,
            "--exclude-lines",
            arn_line,
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["results"]


def test_detect_secrets_finds_nothing(synthesis: Synthesis) -> None:
    findings = _detect_secrets(synthesis.terraform_dir.parent)
    assert not findings, json.dumps(findings, indent=2)


def test_detect_secrets_would_catch_a_planted_credential(tmp_path: Path) -> None:
    planted = tmp_path / "stacks" / "x" / "cdk.tf.json"
    planted.parent.mkdir(parents=True)
    planted.write_text(
        json.dumps({"locals": {"key": "AKIA" + "Q3EGRIW7EXAMPLE1", "url": "postgresql://app:" + "s3cr3tPassw0rd@db:5432/app"}})
    )
    assert _detect_secrets(tmp_path)


def test_no_plain_text_secret_attributes(synthesis: Synthesis) -> None:
    """No Terraform attribute that holds a credential is set to a literal."""
    secret_attributes = {"password", "master_password", "auth_token", "secret_string", "access_key", "secret_key", "token"}

    def literals(node: Any, path: str = "") -> list[str]:
        found = []
        if isinstance(node, dict):
            for key, value in node.items():
                if key in secret_attributes and isinstance(value, str) and not value.startswith("${"):
                    found.append(f"{path}.{key}")
                found += literals(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                found += literals(item, path)
        return found

    for stack_id in synthesis.stack_ids:
        assert not literals(synthesis.stack(stack_id)), stack_id
