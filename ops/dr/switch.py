"""`ops dr switch-db`: make a restored instance the environment's database.

Every other layer finds the database by name: the External Secrets lookup of the RDS-managed
master secret (tag `aws:rds:primaryDBInstanceArn` = the instance ARN from envspec.naming), the
endpoint in `ai-subsidy/<env>/app/database`, the CloudWatch alarms (DBInstanceIdentifier), AWS
Backup and the cross-region backup replication (instance ARN). So the switch does not repoint
them; the restored instance takes over the name:

1. lock the current instance out (its managed secret is removed and its password replaced by an
   unknown one, so the still-running application can no longer write to it: no split brain);
2. rename it to `<identifier>-replaced-<stamp>` (kept for forensics; delete it deliberately later);
3. rename the restored instance to `<identifier>`;
4. let RDS manage its master password, creating the secret tagged with the environment's ARN;
5. make every login secret that names the database (the application's `ai-subsidy/<env>/app/database`
   and the migration Job's `.../database-migration`) name the endpoint and the new master secret: the
   alternating-users rotation signs in as the master user through the login's `masterarn`
   (stacks/data/login_rotation.py, setSecret), and the lockout removed the old master secret, so a stale
   `masterarn` fails the next rotation;
6. refresh `database-secret` in the cluster and restart the Deployments that connect to the database.

The original's identifier, endpoint host name and ARN are then the restored instance's. Terraform
still tracks the old instance by its resource id; the command prints the two state commands that
adopt the new one.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from envspec import topology
from envspec.topology import AI_WORKER, BACKEND, Component
from ops.console import duration, fields, say, step
from ops.context import Target
from ops.dr.database import describe_instance, instance_status
from ops.dr.standby import DATABASE_LOGIN_SECRETS
from ops.errors import InputError, OpsError
from ops.kube import Kube, restart_and_wait
from ops.timeutil import iso, now, stamp
from ops.waiting import Poll, wait_for

MANAGED_SECRET_TAG = "aws:rds:primaryDBInstanceArn"
DATABASE_SECRET = topology.DATABASE_SECRET.kubernetes_name
# Deployments that hold database connections and must reconnect with the new credentials.
DATABASE_CLIENTS: tuple[Component, ...] = (BACKEND, AI_WORKER)


@dataclass(frozen=True)
class SwitchPlan:
    identifier: str  # the environment's database identifier
    restored: dict[str, Any]
    original: dict[str, Any] | None
    replaced_identifier: str
    started: datetime

    def steps(self, with_kubernetes: bool) -> list[str]:
        restored = self.restored["DBInstanceIdentifier"]
        listed = []
        if self.original is not None:
            listed += [
                f"lock out {self.identifier}: remove its managed master secret and set an unknown password",
                f"rename {self.identifier} -> {self.replaced_identifier} (kept; deletion protection unchanged)",
            ]
        listed += [
            f"rename {restored} -> {self.identifier}",
            f"let RDS manage the master password of {self.identifier} (secret tagged {MANAGED_SECRET_TAG})",
            "point both database login secrets (host, port, masterarn) at the endpoint and its master secret",
        ]
        if with_kubernetes:
            listed += [
                f"refresh ExternalSecret {DATABASE_SECRET} and restart {', '.join(c.name for c in DATABASE_CLIENTS)}; wait until ready"
            ]
        return listed


def plan_switch(target: Target, restored_identifier: str) -> SwitchPlan:
    names, rds = target.names, target.aws.client("rds")
    identifier = names.database_identifier
    if restored_identifier == identifier:
        raise InputError(f"{identifier} is already the environment's database; name the restored instance")
    restored = describe_instance(rds, restored_identifier)
    if restored is None:
        raise InputError(f"no instance {restored_identifier} in {target.aws.region}; nothing was changed")
    if restored["DBInstanceStatus"] != "available":
        raise InputError(f"{restored_identifier} is {restored['DBInstanceStatus']}, not available; wait for it; nothing was changed")
    started = now()
    replaced = names.restored_database_identifier("replaced", stamp(started))
    if describe_instance(rds, replaced) is not None:
        raise InputError(f"an instance named {replaced} already exists; nothing was changed")
    return SwitchPlan(identifier, restored, describe_instance(rds, identifier), replaced, started)


def _rename(rds: Any, old: str, new: str, poll: Poll) -> None:
    step(f"renaming {old} -> {new}")
    rds.modify_db_instance(DBInstanceIdentifier=old, NewDBInstanceIdentifier=new, ApplyImmediately=True)

    def renamed() -> tuple[bool, str]:
        if describe_instance(rds, new) is None:
            current = describe_instance(rds, old)
            return False, current["DBInstanceStatus"] if current else "renaming"
        return instance_status(rds, new)

    wait_for(new, renamed, poll)


def _secret_tag(secretsmanager: Any, secret_arn: str) -> str | None:
    tags = secretsmanager.describe_secret(SecretId=secret_arn).get("Tags", [])
    return next((tag["Value"] for tag in tags if tag["Key"] == MANAGED_SECRET_TAG), None)


def _manage_password(target: Target, identifier: str, kms_key_id: str | None, poll: Poll) -> str:
    """Ensure RDS manages the master password with a secret tagged with this instance's ARN."""
    rds, secretsmanager = target.aws.client("rds"), target.aws.client("secretsmanager")
    arn = target.names.database_arn
    instance = describe_instance(rds, identifier) or {}
    secret = instance.get("MasterUserSecret")
    if secret and _secret_tag(secretsmanager, secret["SecretArn"]) == arn:
        return str(secret["SecretArn"])
    if secret:  # managed under its former name: hand it back and let RDS create one for this ARN
        step(f"re-creating the managed master secret of {identifier} for its new ARN")
        rds.modify_db_instance(
            DBInstanceIdentifier=identifier, ManageMasterUserPassword=False, MasterUserPassword=_unknown_password(), ApplyImmediately=True
        )
        wait_for(identifier, lambda: instance_status(rds, identifier), poll)
    step(f"letting RDS manage the master password of {identifier}")
    extra = {"MasterUserSecretKmsKeyId": kms_key_id} if kms_key_id else {}
    rds.modify_db_instance(DBInstanceIdentifier=identifier, ManageMasterUserPassword=True, ApplyImmediately=True, **extra)

    def secret_active() -> tuple[bool, str]:
        current = (describe_instance(rds, identifier) or {}).get("MasterUserSecret") or {}
        status = current.get("SecretStatus", "not created yet")
        return status == "active", f"master secret {status}"

    wait_for(identifier, secret_active, poll)
    secret_arn = (describe_instance(rds, identifier) or {})["MasterUserSecret"]["SecretArn"]
    tagged = _secret_tag(secretsmanager, secret_arn)
    if tagged != arn:
        raise OpsError(f"the new master secret is tagged {MANAGED_SECRET_TAG}={tagged}, expected {arn}")
    return str(secret_arn)


def _unknown_password() -> str:
    """A password nobody learns: it is never printed or stored; an administrator resets it if needed."""
    return secrets.token_urlsafe(32)


def point_login_secrets(target: Target, endpoint: dict[str, Any], master_secret_arn: str) -> list[str]:
    """Every login secret that names the database follows it: `host`, `port` and `masterarn` (the alternating-users
    format the data stack writes). Idempotent: a secret already naming all three is left alone. Returns the secrets
    written. The rotation's other keys (engine, dbname, username, password) are the login's and stay."""
    secretsmanager = target.aws.client("secretsmanager")
    wanted = {"host": endpoint["Address"], "port": int(endpoint["Port"]), "masterarn": master_secret_arn}
    written = []
    for kubernetes_name in DATABASE_LOGIN_SECRETS:
        name = target.names.app_secret(kubernetes_name).remote_name
        try:
            current = json.loads(secretsmanager.get_secret_value(SecretId=name)["SecretString"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                raise OpsError(f"secret {name} does not exist; the data stack creates it (terraform apply of {target.env}-data)") from None
            raise
        if all(str(current.get(key)) == str(value) for key, value in wanted.items()):
            say(f"    {name} already names {wanted['host']}:{wanted['port']} and its master secret")
            continue
        step(f"pointing {name} at {wanted['host']}:{wanted['port']} and master secret {master_secret_arn}")
        secretsmanager.put_secret_value(SecretId=name, SecretString=json.dumps({**current, **wanted}, sort_keys=True))
        written.append(name)
    return written


def refresh_application(kube: Kube, poll: Poll, at: datetime) -> None:
    """Refresh `database-secret` now and restart the database clients, waiting until they are ready."""
    step(f"refreshing ExternalSecret {DATABASE_SECRET}")
    kube.force_sync_external_secret(DATABASE_SECRET, iso(at))

    def synced() -> tuple[bool, str]:
        status = kube.external_secret(DATABASE_SECRET).get("status", {})
        refreshed = status.get("refreshTime", "")
        ready = any(item.get("type") == "Ready" and item.get("status") == "True" for item in status.get("conditions", []))
        return bool(ready and refreshed >= iso(at)), f"refreshed {refreshed or 'never'}, ready={ready}"

    wait_for(DATABASE_SECRET, synced, poll)
    for component in DATABASE_CLIENTS:
        restart_and_wait(kube, component, poll, at)


def execute_switch(target: Target, plan: SwitchPlan, poll: Poll, kube: Kube | None) -> dict[str, Any]:
    started = time.monotonic()
    rds = target.aws.client("rds")
    restored_identifier = plan.restored["DBInstanceIdentifier"]
    kms_key_id = None
    if plan.original is not None:
        kms_key_id = (plan.original.get("MasterUserSecret") or {}).get("KmsKeyId")
        step(f"locking out {plan.identifier}")
        lockout: dict[str, Any] = {"MasterUserPassword": _unknown_password()}
        if plan.original.get("MasterUserSecret"):
            lockout["ManageMasterUserPassword"] = False
        rds.modify_db_instance(DBInstanceIdentifier=plan.identifier, ApplyImmediately=True, **lockout)
        wait_for(plan.identifier, lambda: instance_status(rds, plan.identifier), poll)
        _rename(rds, plan.identifier, plan.replaced_identifier, poll)
    _rename(rds, restored_identifier, plan.identifier, poll)
    secret_arn = _manage_password(target, plan.identifier, kms_key_id, poll)
    switched = describe_instance(rds, plan.identifier)
    if switched is None:
        raise OpsError(f"{plan.identifier} is not visible after the rename")
    point_login_secrets(target, switched["Endpoint"], secret_arn)
    if kube is not None:
        refresh_application(kube, poll, now())
    say(f"{plan.identifier} is now the instance restored as {restored_identifier} (switched in {duration(time.monotonic() - started)})")
    say(
        fields(
            [
                ("endpoint", f"{switched['Endpoint']['Address']}:{switched['Endpoint']['Port']}"),
                ("master secret", secret_arn),
                ("previous instance", plan.replaced_identifier if plan.original is not None else "(none)"),
            ]
        )
    )
    say("Adopt the new instance in Terraform (it still tracks the previous one by resource id):")
    say(f"  terraform -chdir=cdktf.out/stacks/{target.env}-data state list | grep aws_db_instance")
    say(f"  terraform -chdir=cdktf.out/stacks/{target.env}-data state rm <address>")
    say(f"  terraform -chdir=cdktf.out/stacks/{target.env}-data import <address> {plan.identifier}")
    return switched
