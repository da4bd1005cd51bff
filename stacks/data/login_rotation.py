"""AWS Lambda handler: rotates a database login secret with the alternating-users strategy.

Deployed by `stacks/data/rotation.py`, packaged with pg8000 (a pure-Python PostgreSQL driver, from
`requirements/rotation-lambda.lock`), `database_roles.py` (the SCRAM verifier of the role bootstrap)
and the RDS root certificates. Secrets Manager invokes it synchronously once per step, with
`SecretId`, `ClientRequestToken` (the new version's id) and `Step` (Secrets Manager User Guide,
"Rotation by Lambda function" and "Lambda rotation functions"):

- createSecret: a new version, staged AWSPENDING, naming the other user of the pair (`<user>` and
  `<user>_clone`, both created by the bootstrap Job) with a new password from GetRandomPassword;
- setSecret: as the master user (the secret's `masterarn`, RDS's managed secret), sets that
  password on the other user, as a SCRAM verifier so the DDL log never holds it;
- testSecret: logs in with the pending version;
- finishSecret: moves AWSCURRENT to the new version (Secrets Manager moves AWSPREVIOUS to the old)
  and takes AWSPENDING off it.

The user in use is never touched, so running pods keep working until they read the new AWSCURRENT
(Secrets Manager User Guide, "Rotation strategies": alternating users). Every step can run again
with the same token and changes nothing more. No password is logged; the SDK and driver loggers
stay at WARNING whatever the function's log level.
"""

from __future__ import annotations

import json
import logging
import ssl
from pathlib import Path
from typing import Any

import boto3
import pg8000.native
from database_roles import scram_verifier
from pg8000.exceptions import DatabaseError, InterfaceError

CLONE_SUFFIX = "_clone"
CA_BUNDLE = Path(__file__).with_name("rds-ca-ap-northeast.pem")
PASSWORD_LENGTH = 40
# Characters that would need escaping in a connection URL or a shell; the URL template also quotes.
EXCLUDED_CHARACTERS = "/@\"'\\:?#%&=+ "
CONNECT_TIMEOUT_SECONDS = 5
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
for _chatty in ("boto3", "botocore", "urllib3", "pg8000"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)


def other_user(username: str) -> str:
    """The user of the pair that is not in use: `app` <-> `app_clone`."""
    return username.removesuffix(CLONE_SUFFIX) if username.endswith(CLONE_SUFFIX) else username + CLONE_SUFFIX


def _value(client: Any, arn: str, stage: str, token: str | None = None) -> dict[str, str]:
    arguments = {"SecretId": arn, "VersionStage": stage} | ({"VersionId": token} if token else {})
    return json.loads(client.get_secret_value(**arguments)["SecretString"])


def _connect(login: dict[str, str], username: str, password: str) -> pg8000.native.Connection:
    """A TLS connection that verifies the server's certificate and host name against the RDS roots."""
    context = ssl.create_default_context(cafile=str(CA_BUNDLE))
    return pg8000.native.Connection(
        user=username,
        password=password,
        host=login["host"],
        port=int(login["port"]),
        database=login["dbname"],
        ssl_context=context,
        timeout=CONNECT_TIMEOUT_SECONDS,
    )


def _can_log_in(login: dict[str, str]) -> bool:
    try:
        _connect(login, login["username"], login["password"]).close()
    except (DatabaseError, InterfaceError):  # refused login, or no answer: setSecret then tries as the master
        return False
    return True


def create_secret(client: Any, arn: str, token: str) -> None:
    current = _value(client, arn, CURRENT)
    try:
        _value(client, arn, PENDING, token)
        LOG.info("createSecret: version %s already holds the pending login", token)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    password = client.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludeCharacters=EXCLUDED_CHARACTERS)["RandomPassword"]
    pending = {**current, "username": other_user(current["username"]), "password": password}
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=[PENDING])
    LOG.info("createSecret: version %s names user %s", token, pending["username"])


def set_secret(client: Any, arn: str, token: str) -> None:
    pending = _value(client, arn, PENDING, token)
    current = _value(client, arn, CURRENT)
    if (pending["host"], pending["port"], pending["dbname"]) != (current["host"], current["port"], current["dbname"]):
        raise ValueError("setSecret: the pending version names another database than the current one")
    if pending["username"] not in (current["username"], other_user(current["username"])):
        raise ValueError(f"setSecret: user {pending['username']} is not of the pair of {current['username']}")
    if _can_log_in(pending):
        LOG.info("setSecret: user %s already logs in with the pending password", pending["username"])
        return
    master = _value(client, current["masterarn"], CURRENT)
    if pending["username"] == master["username"]:
        raise ValueError("setSecret: refusing to change the master user's password")
    connection = _connect(pending, master["username"], master["password"])
    try:
        exists = connection.run("SELECT 1 FROM pg_roles WHERE rolname = :name", name=pending["username"])
        if not exists:
            raise ValueError(f"setSecret: user {pending['username']} does not exist; the database bootstrap Job creates it")
        # ALTER ROLE takes no bind parameters: the server quotes name and verifier with format().
        statement = connection.run(
            "SELECT format('ALTER ROLE %I PASSWORD %L', CAST(:name AS text), CAST(:verifier AS text))",
            name=pending["username"],
            verifier=scram_verifier(pending["password"]),
        )[0][0]
        connection.run(statement)
    finally:
        connection.close()
    LOG.info("setSecret: set the password of user %s", pending["username"])


def test_secret(client: Any, arn: str, token: str) -> None:
    pending = _value(client, arn, PENDING, token)
    connection = _connect(pending, pending["username"], pending["password"])
    try:
        connection.run("SELECT 1")
    finally:
        connection.close()
    LOG.info("testSecret: user %s logs in with version %s", pending["username"], token)


def finish_secret(client: Any, arn: str, token: str) -> None:
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(version for version, stages in versions.items() if CURRENT in stages)
    if current != token:
        client.update_secret_version_stage(SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current)
        LOG.info("finishSecret: version %s is AWSCURRENT (was %s)", token, current)
    if PENDING in versions.get(token, []):
        client.update_secret_version_stage(SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token)


STEPS = {"createSecret": create_secret, "setSecret": set_secret, "testSecret": test_secret, "finishSecret": finish_secret}


def handler(event: dict[str, Any], context: object) -> None:
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise ValueError(f"unknown rotation step {step!r}")
    client = boto3.client("secretsmanager")
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"secret {arn} is not enabled for rotation")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages is None:
        raise ValueError(f"secret {arn} has no version {token} to rotate")
    if CURRENT in stages and PENDING not in stages:
        LOG.info("%s: version %s is already AWSCURRENT", step, token)
        return
    if PENDING not in stages and CURRENT not in stages:
        raise ValueError(f"version {token} of secret {arn} is not staged AWSPENDING")
    LOG.info("%s of %s, version %s", step, arn, token)
    STEPS[step](client, arn, token)
