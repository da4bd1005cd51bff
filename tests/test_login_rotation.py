"""The database login rotation function, run from its own package against a real PostgreSQL 15
server (with TLS, as RDS forces it) and moto's Secrets Manager.

Secrets Manager's side is moto's `RotateSecret`: it stages a new AWSPENDING version and calls the
function's four steps in order (createSecret, setSecret, testSecret, finishSecret), or only
testSecret on a copy of the current value when rotation is configured without rotating
immediately, as AWS does (Secrets Manager API Reference, RotateSecret, `RotateImmediately`). moto
runs Lambda functions in Docker; here its `invoke` calls the packaged handler in-process instead, and a
step that raises stops the rotation, as it does on AWS (Secrets Manager User Guide, "Rotation by
Lambda function": "If any rotation step fails, Secrets Manager retries the entire rotation
process"). Two moto limits, checked in moto 5.2.5 (moto/secretsmanager/models.py): only
`AutomaticallyAfterDays` turns `RotationEnabled` on (so the tests configure that; the schedule the
stack sets is tested in test_login_rotation_stack.py), and its "rotation still in progress" check
looks for AWSPENDING *on* AWSCURRENT, the reverse of AWS; the function takes AWSPENDING off the new
version in finishSecret, an end state AWS documents as valid, so both agree.

What the tests hold the function to (Secrets Manager User Guide, "Lambda rotation functions" and
"Rotation strategies", alternating users; "Rotation function templates",
SecretsManagerRDSPostgreSQLRotationMultiUser):
- after a rotation the application logs in with the new AWSCURRENT user and password, and the
  previous user keeps working until the next rotation changes its password;
- a failing testSecret leaves AWSCURRENT where it was, and the next rotation recovers;
- every step run twice with the same token changes nothing the first run did not;
- no password reaches the logs, even with the root logger at DEBUG.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from moto.awslambda import models as lambda_models

from stacks.data import rotation
from stacks.lambda_package import PYTHON_RUNTIME
from tests.test_database_roles import DATABASE, MASTER, PASSWORDS, ROLES, Server, _bootstrap, rds_like_server

REGION, ACCOUNT = "ap-northeast-1", "123456789012"
FUNCTION = "ai-subsidy-test-db-login-rotation"
LOGIN_SECRET = "ai-subsidy/test/app/database"


def _certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, the CA the function verifies the server against."""
    key, certificate = folder / "server.key", folder / "server.crt"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subject, "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    (folder / "server.key").chmod(0o600)
    if os.geteuid() == 0:
        for name in ("server.key", "server.crt"):
            shutil.chown(folder / name, "postgres", "postgres")
    return folder / "server.crt"


def _tls_options(folder: Path) -> str:
    certificate = _certificate(folder)
    return f"-c ssl=on -c ssl_cert_file={certificate} -c ssl_key_file={folder / 'server.key'}"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Server, Path]]:
    with rds_like_server(prefix="pg-rotation-", extra_options=_tls_options) as running:
        result = _bootstrap(running)
        assert result.returncode == 0, result.stderr
        yield running, running.folder / "server.crt"


@pytest.fixture(scope="module")
def function() -> Iterator[ModuleType]:
    """The handler imported from the function's package exactly as synthesis builds it."""
    try:
        archive, _ = rotation.package()
    except rotation.MissingRotationPackage as error:
        if os.environ.get("CI") == "true":
            pytest.fail(str(error))
        pytest.skip(str(error))
    unpacked = Path(tempfile.mkdtemp(prefix="rotation-package-"))
    with zipfile.ZipFile(archive) as package:
        package.extractall(unpacked)
    sys.path.insert(0, str(unpacked))
    try:
        module = importlib.import_module("login_rotation")
        assert Path(module.pg8000.__file__).is_relative_to(unpacked), "pg8000 must come from the package"
        yield module
    finally:
        sys.path.remove(str(unpacked))
        for name in [name for name in sys.modules if name.split(".")[0] in ("login_rotation", "database_roles", "pg8000", "scramp")]:
            del sys.modules[name]
        shutil.rmtree(unpacked, ignore_errors=True)


class World:
    """moto's Secrets Manager with the login and master secrets, and the function as moto's Lambda."""

    def __init__(self, server: Server, monkeypatch: pytest.MonkeyPatch, handler: Callable[[dict, Any], None]):
        self.server = server
        self.client = boto3.client("secretsmanager", region_name=REGION)
        self.steps: list[str] = []
        self.before_step: Callable[[str], None] = lambda step: None
        self.repeat = False
        master = self.client.create_secret(
            Name="rds!db-test", SecretString=json.dumps({"username": MASTER, "password": PASSWORDS["master"]})
        )
        login = {
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": str(server.port),
            "dbname": DATABASE,
            "username": ROLES["app_user"],
            "password": PASSWORDS["app"],
            "masterarn": master["ARN"],
        }
        self.arn = self.client.create_secret(Name=LOGIN_SECRET, SecretString=json.dumps(login))["ARN"]
        iam = boto3.client("iam", region_name=REGION)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        role = iam.create_role(RoleName=FUNCTION, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.function_arn = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=FUNCTION, Runtime=PYTHON_RUNTIME, Role=role, Handler="login_rotation.handler", Code={"ZipFile": b"PK"}
        )["FunctionArn"]

        def invoke(backend: object, function_name: str, qualifier: object, body: str, headers: object, response_headers: object) -> bytes:
            event = json.loads(body)
            self.before_step(event["Step"])
            self.steps.append(event["Step"])
            handler(event, None)
            if self.repeat:
                before = self.state()
                handler(event, None)
                assert self.state() == before, f"{event['Step']} changed something when run again"
            return b""

        monkeypatch.setattr(lambda_models.LambdaBackend, "invoke", invoke)

    def rotate(self, *, immediately: bool = True) -> None:
        self.client.rotate_secret(
            SecretId=self.arn,
            RotationLambdaARN=self.function_arn,
            RotationRules={"AutomaticallyAfterDays": 30},
            RotateImmediately=immediately,
        )

    def current(self) -> dict[str, str]:
        # External Secrets reads the login with VersionStage AWSCURRENT (charts/secrets.py).
        return json.loads(self.client.get_secret_value(SecretId=self.arn, VersionStage="AWSCURRENT")["SecretString"])

    def stages(self) -> dict[str, list[str]]:
        return {version: sorted(stages) for version, stages in self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"].items()}

    def state(self) -> tuple:
        """Everything a step may change: the secret's versions and values, and the users' passwords."""
        values = {
            version: self.client.get_secret_value(SecretId=self.arn, VersionId=version).get("SecretString") for version in self.stages()
        }
        with psycopg.connect(host=str(self.server.folder), port=self.server.port, user="postgres", dbname=DATABASE) as admin:
            passwords = admin.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'ai_subsidy_app_user%' ORDER BY 1"
            ).fetchall()
        return self.stages(), values, passwords

    def logs_in(self, username: str, password: str) -> bool:
        try:
            with self.server.connect(username, password) as connection:
                return connection.execute("SELECT current_user").fetchone() == (username,)
        except psycopg.OperationalError:
            return False


@pytest.fixture
def world(server: tuple[Server, Path], function: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    database, ca = server
    monkeypatch.setattr(function, "CA_BUNDLE", ca)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    with mock_aws():
        yield World(database, monkeypatch, function.handler)
    # Each test starts from the bootstrap's passwords.
    with psycopg.connect(host=str(database.folder), port=database.port, user="postgres", dbname=DATABASE, autocommit=True) as admin:
        admin.execute(f"ALTER ROLE {ROLES['app_user']} PASSWORD '{PASSWORDS['app']}'")
        admin.execute(f"ALTER ROLE {ROLES['app_clone']} PASSWORD NULL")


def test_a_rotation_switches_to_the_other_user_and_the_previous_one_keeps_working(world: World) -> None:
    world.rotate()
    assert world.steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    first = world.current()
    assert first["username"] == ROLES["app_clone"] and first["password"] != PASSWORDS["app"]
    assert world.logs_in(first["username"], first["password"]), "the new AWSCURRENT login works"
    assert world.logs_in(ROLES["app_user"], PASSWORDS["app"]), "the login running pods hold still works"
    assert sorted(world.stages().values()) == [["AWSCURRENT"], ["AWSPREVIOUS"]], "no AWSPENDING left apart from AWSCURRENT"

    world.rotate()
    second = world.current()
    assert second["username"] == ROLES["app_user"] and second["password"] not in (PASSWORDS["app"], first["password"])
    assert world.logs_in(second["username"], second["password"])
    assert world.logs_in(first["username"], first["password"]), "the previous login works until the next rotation"
    assert not world.logs_in(ROLES["app_user"], PASSWORDS["app"]), "the next-but-one rotation retired the first password"


def test_configuring_rotation_without_rotating_only_tests_the_current_login(world: World) -> None:
    """`rotate_immediately = false` (the stack's default): Secrets Manager runs testSecret on a copy."""
    before = world.current()
    world.rotate(immediately=False)
    assert world.steps == ["testSecret"]
    assert world.current() == before


def test_a_failed_test_step_leaves_awscurrent_untouched_and_the_next_rotation_recovers(world: World) -> None:
    before, stages = world.current(), world.stages()
    current_version = next(version for version, labels in stages.items() if "AWSCURRENT" in labels)

    def break_the_new_password(step: str) -> None:
        if step == "testSecret":  # someone changes the clone's password between setSecret and testSecret
            with psycopg.connect(
                host=str(world.server.folder), port=world.server.port, user="postgres", dbname=DATABASE, autocommit=True
            ) as admin:
                admin.execute(f"ALTER ROLE {ROLES['app_clone']} PASSWORD '{os.urandom(8).hex()}'")

    world.before_step = break_the_new_password
    with pytest.raises(Exception, match="password authentication failed"):
        world.rotate()
    assert world.steps == ["createSecret", "setSecret", "testSecret"]
    assert world.current() == before
    assert "AWSCURRENT" in world.stages()[current_version]
    assert world.logs_in(before["username"], before["password"])

    world.before_step = lambda step: None
    world.rotate()
    assert world.current()["username"] == ROLES["app_clone"]
    assert world.logs_in(world.current()["username"], world.current()["password"])


def test_every_step_run_twice_changes_nothing_more(world: World) -> None:
    world.repeat = True
    world.rotate()
    world.rotate()
    assert world.current()["username"] == ROLES["app_user"]


def test_no_password_is_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world.rotate()
    world.rotate()
    passwords = [PASSWORDS["master"], PASSWORDS["app"]] + [
        json.loads(world.client.get_secret_value(SecretId=world.arn, VersionId=version)["SecretString"])["password"]
        for version in world.stages()
    ]
    assert any("setSecret: set the password of user" in record.getMessage() for record in caplog.records), "the function logged nothing"
    for record in caplog.records:
        text = record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        assert not [password for password in passwords if password in text], f"{record.name}: a password in the log"
