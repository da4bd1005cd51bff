"""Delivery commands (tools/delivery.py): the environments matrix, the deploy order, the Terraform
command sequence of plan and apply, and the GitOps publish to a branch per environment."""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from envspec import names_for
from envspec.naming import DR_LAYERS, LAYERS
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis
from tools import delivery
from tools.delivery import DeliveryError, Stack

FIXTURES = ROOT / "tests" / "fixtures" / "plans"


def test_matrix_lists_every_environment_with_its_roles_from_the_spec() -> None:
    outputs = delivery.matrix_outputs(SPECS)
    everything = json.loads(outputs["all"])["include"]
    assert [entry["environment"] for entry in everything] == ENVIRONMENTS
    for entry in everything:
        spec = SPECS[entry["environment"]]
        names = names_for(spec)
        assert entry["deploy_role"] == f"arn:aws:iam::{spec.aws.account_id}:role/{names.deploy_role}"
        assert entry["plan_role"] == f"arn:aws:iam::{spec.aws.account_id}:role/{names.plan_role}"
        assert entry["github_environment"] == spec.ci.github_environment
        assert entry["aws_region"] == spec.aws.region
    production = [entry["environment"] for entry in json.loads(outputs["production"])["include"]]
    others = [entry["environment"] for entry in json.loads(outputs["nonproduction"])["include"]]
    assert production == [env for env in ENVIRONMENTS if SPECS[env].is_production] == ["production"]
    assert sorted(production + others) == ENVIRONMENTS
    assert json.loads(outputs["has_production"]) is True
    assert SPECS["production"].ci.github_environment == "production", "production deploys only from the `production` environment"


def test_plans_of_environments_with_a_plan_environment_wait_for_its_reviewers() -> None:
    outputs = delivery.matrix_outputs(SPECS)
    reviewed = json.loads(outputs["reviewed_plans"])["include"]
    automatic = json.loads(outputs["automatic_plans"])["include"]
    assert [(entry["environment"], entry["plan_environment"]) for entry in reviewed] == [("production", "production-plan")]
    assert sorted(entry["environment"] for entry in automatic) == ["development", "staging"]
    assert all(entry["plan_environment"] == "" for entry in automatic)
    assert json.loads(outputs["has_reviewed_plans"]) is True and json.loads(outputs["has_automatic_plans"]) is True


def test_matrix_command_prints_github_outputs() -> None:
    result = subprocess.run(["make", "-s", "ci-matrix"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    keys = [line.split("=", 1)[0] for line in result.stdout.splitlines()]
    assert keys == [
        "all",
        "nonproduction",
        "production",
        "has_production",
        "automatic_plans",
        "reviewed_plans",
        "has_automatic_plans",
        "has_reviewed_plans",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_order_matches_the_stack_dependencies_and_layers(env: str, synthesis: Synthesis) -> None:
    manifest = json.loads((synthesis.terraform_dir / "manifest.json").read_text())["stacks"]
    stacks = delivery.environment_stacks(synthesis.terraform_dir, env)
    standby = DR_LAYERS if SPECS[env].dr.has_standby else ()
    assert [stack.id for stack in stacks] == [f"{env}-{layer}" for layer in LAYERS + standby]
    position = {stack.id: index for index, stack in enumerate(stacks)}
    for stack in stacks:
        for dependency in manifest[stack.id]["dependencies"]:
            assert position[dependency] < position[stack.id], f"{stack.id} is applied before its dependency {dependency}"
    order = delivery.deploy_order(synthesis.terraform_dir, env)
    assert [stack.id for stack in order] == [stack.id for stack in stacks if stack.layer not in ("state", "ci", "dr-dns")]
    # The failover records follow the sync of both sides' Ingresses (stacks/edge/failover.py).
    after_sync = delivery.deploy_order(synthesis.terraform_dir, env, after_sync=True)
    assert [stack.id for stack in after_sync] == ([f"{env}-dr-dns"] if standby else [])
    bootstrap = [stack.layer for stack in stacks if stack.local_state]
    assert bootstrap == ["state"], "only the bootstrap stack keeps local state"
    # The deploy role may not change the CI roles or the boundary: CI plans the ci stack, never applies it.
    assert [stack.layer for stack in stacks if stack.administered] == ["state", "ci"]
    planned = delivery.plan_order(synthesis.terraform_dir, env)
    assert [stack.id for stack in planned] == [stack.id for stack in stacks if not stack.local_state]


def _stack(layer: str, *dependencies: str, local: bool = False) -> Stack:
    return Stack(f"dev-{layer}", layer, Path("."), tuple(f"dev-{dep}" for dep in dependencies), local)


def test_ordering_follows_dependencies_and_refuses_contradictions() -> None:
    first, second = LAYERS[0], LAYERS[1]
    ordered = delivery._topological({s.id: s for s in (_stack(second, first), _stack(first))})
    assert [stack.layer for stack in ordered] == [first, second]
    with pytest.raises(DeliveryError, match="cycle"):
        delivery._topological({s.id: s for s in (_stack(first, second), _stack(second, first))})


def test_an_order_contradicting_layers_is_refused(tmp_path: Path) -> None:
    first, second = LAYERS[0], LAYERS[1]
    stacks = {f"dev-{first}": [f"dev-{second}"], f"dev-{second}": []}
    manifest = {"stacks": {}}
    for stack_id, dependencies in stacks.items():
        folder = tmp_path / "stacks" / stack_id
        folder.mkdir(parents=True)
        (folder / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": {}}}}))
        manifest["stacks"][stack_id] = {
            "dependencies": dependencies,
            "workingDirectory": f"stacks/{stack_id}",
            "synthesizedStackPath": f"stacks/{stack_id}/cdk.tf.json",
        }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DeliveryError, match="contradict"):
        delivery.deploy_order(tmp_path, "dev")


@pytest.fixture
def recording_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `terraform` first on PATH that records its arguments and answers `show -json` with a
    plan recorded from the real one (tests/fixtures/plans)."""
    log = tmp_path / "terraform.log"
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    binary.write_text(
        f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "{log}"\nif [ "$2" = show ]; then cat "{FIXTURES / "state-change.json"}"; fi\n'
    )
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    return log


def test_plan_runs_read_only_and_keeps_only_digests(synthesis: Synthesis, recording_terraform: Path, tmp_path: Path) -> None:
    env = "staging"
    out = tmp_path / "plans"
    digests = delivery.plan(synthesis.terraform_dir, env, out)
    order = delivery.plan_order(synthesis.terraform_dir, env)
    assert [path.name for path in digests] == [f"{stack.id}.changes.json" for stack in order]
    calls = recording_terraform.read_text().splitlines()
    expected = []
    for stack in order:
        plan_file = (out / f"{stack.id}.tfplan").resolve()
        expected += [
            f"-chdir={stack.directory} init -input=false -no-color",
            f"-chdir={stack.directory} plan -input=false -no-color -lock=false -out={plan_file}",
            f"-chdir={stack.directory} show -json -no-color {plan_file}",
        ]
    assert calls == expected
    digest = json.loads(digests[0].read_text())
    assert digest["changes"]["replace"] == ["aws_kms_alias.key_alias_9418169B"]
    assert "(rotated)" not in digests[0].read_text(), "planned values never leave the machine"


def test_apply_applies_the_plan_it_made_stack_by_stack(synthesis: Synthesis, recording_terraform: Path, tmp_path: Path) -> None:
    env = "production"
    delivery.apply(synthesis.terraform_dir, env, tmp_path / "plans")
    expected = []
    for stack in delivery.deploy_order(synthesis.terraform_dir, env):
        plan_file = (tmp_path / "plans" / f"{stack.id}.tfplan").resolve()
        expected += [
            f"-chdir={stack.directory} init -input=false -no-color",
            f"-chdir={stack.directory} plan -input=false -no-color -out={plan_file}",
            f"-chdir={stack.directory} apply -input=false -no-color {plan_file}",
        ]
    assert recording_terraform.read_text().splitlines() == expected


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A clone whose `origin` is a bare repository standing in for GitHub."""
    shutil.which("git") or pytest.skip("git is not installed")
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "--quiet", "--bare", str(remote))
    work = tmp_path / "work"
    _git(tmp_path, "init", "--quiet", str(work))
    _git(work, "remote", "add", "origin", str(remote))
    return work


def test_publish_commits_exactly_the_rendered_manifests(synthesis: Synthesis, repository: Path, tmp_path: Path) -> None:
    env, spec = "staging", SPECS["staging"]
    rendered = tmp_path / "dist"
    for folder in (env, f"{env}-dr"):  # staging has a standby: its folder goes onto the same branch
        shutil.copytree(synthesis.kubernetes_dir / folder, rendered / folder)
    remote = repository.parent / "remote.git"
    branch = names_for(spec).gitops_branch

    first = delivery.publish(rendered, spec, "origin", "1111111", cwd=repository)
    assert first and _git(remote, "rev-parse", f"refs/heads/{branch}") == first
    files = _git(remote, "ls-tree", "-r", "--name-only", branch).splitlines()
    expected = [f"dist/{folder}/{path.name}" for folder in (env, f"{env}-dr") for path in (rendered / folder).glob("*.k8s.yaml")]
    assert files == sorted(expected)
    for name in files:
        assert _git(remote, "show", f"{branch}:{name}") == (rendered / Path(name).parent.name / Path(name).name).read_text().rstrip("\n")
    assert "Render staging from 1111111" in _git(remote, "log", "-1", "--format=%B", branch)

    assert delivery.publish(rendered, spec, "origin", "2222222", cwd=repository) is None, "unchanged manifests, no commit"

    (rendered / env / "gitops.k8s.yaml").write_text("# changed\n")
    second = delivery.publish(rendered, spec, "origin", "3333333", cwd=repository)
    assert second and _git(remote, "rev-parse", f"{second}^") == first, "a fast-forward on top of the previous render"


def test_publish_refuses_an_empty_render(repository: Path, tmp_path: Path) -> None:
    (tmp_path / "dist" / "staging").mkdir(parents=True)
    with pytest.raises(DeliveryError, match="nothing rendered"):
        delivery.publish(tmp_path / "dist", SPECS["staging"], "origin", "1111111", cwd=repository)


class _RecordingGitServer(http.server.BaseHTTPRequestHandler):
    """Stands in for github.com's smart-HTTP endpoint: records each request's Authorization header
    and refuses it (what GitHub answers a token without the right scope)."""

    seen: ClassVar[list[str | None]] = []
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        body = b"forbidden\n"
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_publish_sends_the_step_token_to_the_remote_and_writes_it_nowhere(
    synthesis: Synthesis, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real git against a TLS server: the token of the push step reaches the remote as the header
    actions/checkout would configure (`AUTHORIZATION: basic base64(x-access-token:<token>)`), yet
    `.git/config` never holds it, so nothing that ran earlier in the job (installs) could read it."""
    openssl = shutil.which("openssl") or pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "1",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingGitServer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/ai-subsidy/infrastructure.git"
        _git(repository, "remote", "set-url", "origin", url)
        rendered = tmp_path / "dist"
        for folder in ("staging", "staging-dr"):
            shutil.copytree(synthesis.kubernetes_dir / folder, rendered / folder)
        token = "ghs_" + "0" * 36  # a placeholder in GitHub's installation-token shape
        monkeypatch.setenv(delivery.PUSH_TOKEN_VARIABLE, token)
        monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))
        _RecordingGitServer.seen.clear()
        with pytest.raises(DeliveryError, match=r"(?s)git push failed: .*403"):
            delivery.publish(rendered, SPECS["staging"], "origin", "1111111", cwd=repository)
    finally:
        server.shutdown()
    expected = "basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert _RecordingGitServer.seen and all(header == expected for header in _RecordingGitServer.seen)
    config = (repository / ".git" / "config").read_text()
    assert token not in config and expected.split()[1] not in config


def test_publish_never_sends_the_token_to_a_plain_http_or_local_remote(
    synthesis: Synthesis, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = tmp_path / "dist"
    for folder in ("staging", "staging-dr"):
        shutil.copytree(synthesis.kubernetes_dir / folder, rendered / folder)
    monkeypatch.setenv(delivery.PUSH_TOKEN_VARIABLE, "ghs_" + "0" * 36)
    with pytest.raises(DeliveryError, match="not an https URL"):
        delivery.publish(rendered, SPECS["staging"], "origin", "1111111", cwd=repository)
