"""Lambda functions of this repository's own Python code: deployment packages that are the same bytes on
every machine (stored, not compressed, so the output checks can read them; sorted, with a fixed timestamp
and mode), and the function around a package."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdktf import AssetType, Fn, TerraformAsset
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction, LambdaFunctionTracingConfig
from constructs import Construct

from stacks.checkov import skip_check

# The earliest date a zip entry can carry; any fixed value makes the archive reproducible.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def reproducible_zip(target: Path, files: Mapping[str, bytes]) -> tuple[Path, str]:
    """`files` (name in the zip -> content) written to `target` unless it is there already (the caller names
    it by the content's digest), and the zip's base64 SHA-256, Lambda's code hash."""
    if not target.exists():
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name])
        partial.replace(target)
    return target, base64.b64encode(hashlib.sha256(target.read_bytes()).digest()).decode()


PYTHON_RUNTIME = "python3.13"
UNSIGNED_CODE = "deployed only by Terraform from this repository's reviewed code; the account has no signing profile"


def packaged_function(
    scope: Construct,
    *,
    archive: Path,
    handler_source: Path,
    name: str,
    description: str,
    role_arn: str,
    timeout_seconds: int,
    memory_size: int,
    checkov_skips: Mapping[str, str],
    **settings: Any,
) -> LambdaFunction:
    """The function (`function`) running `handler_source`'s `handler` from the package `archive` (`code`), on
    the Python runtime, with X-Ray passed through; `settings` are the function's other arguments. Code
    signing is skipped for every such function (`CKV_AWS_272`), after the function's own `checkov_skips`."""
    asset = TerraformAsset(scope, "code", path=str(archive), type=AssetType.FILE)
    function = LambdaFunction(
        scope,
        "function",
        function_name=name,
        description=description,
        role=role_arn,
        runtime=PYTHON_RUNTIME,
        handler=f"{handler_source.stem}.handler",
        filename=asset.path,
        # Terraform hashes the packaged file itself: a change of the handler is a change of the function.
        source_code_hash=Fn.filebase64sha256(asset.path),
        timeout=timeout_seconds,
        memory_size=memory_size,
        tracing_config=LambdaFunctionTracingConfig(mode="PassThrough"),
        tags={"Name": name},
        **settings,
    )
    for check_id, reason in {**checkov_skips, "CKV_AWS_272": UNSIGNED_CODE}.items():
        skip_check(function, check_id, reason)
    return function
