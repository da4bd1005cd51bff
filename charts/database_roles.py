"""PostgreSQL roles of the application and the migration, created idempotently with the master login.

Roles (names in `envspec.naming.DatabaseRoles`):
- `owner` (NOLOGIN) owns the `public` schema and every object in it.
- `app_group` (NOLOGIN) has DML only: SELECT, INSERT, UPDATE, DELETE on tables and USAGE, SELECT on
  sequences, now and, through ALTER DEFAULT PRIVILEGES FOR ROLE owner, on every table the migration
  creates later. No CREATE on the schema, so no DDL.
- Two login users per purpose (`<user>` and `<user>_clone`), members of their group: the AWS
  Secrets Manager "alternating users" rotation (Secrets Manager User Guide, "Rotation strategies";
  the template SecretsManagerRDSPostgreSQLRotationMultiUser, aws-samples/aws-secrets-manager-rotation-lambdas)
  switches the secret between the two and changes only the password of the user not in use, so
  the password running pods hold stays valid until the next-but-one rotation. The template only
  creates a missing clone as `GRANT <current user> TO clone`, which would lose the clone's own
  settings; both users are created here, so the template only ever sets a password.
- The migration users log in with `role = owner` as their per-role setting: every session starts
  as `SET ROLE owner`, so tables Prisma creates are owned by `owner` whichever of the two users ran
  the migration, and the default privileges apply to them.

The master (RDS: a NOSUPERUSER CREATEROLE member of rds_superuser, RDS User Guide "Understanding the
rds_superuser role") runs `BOOTSTRAP_SQL` with psql. Initial passwords reach the server only as
SCRAM-SHA-256 verifiers (`scram_verifier`), never in clear: the parameter group logs DDL
(`log_statement = ddl`), and a CREATE ROLE with a clear-text password would land in CloudWatch Logs.
A role that exists keeps its password; running the script again changes no catalog row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations, src/include/common/scram-common.h)

# psql variables the script reads: role names, the database, and the two initial verifiers.
VARIABLES = ("owner", "app_group", "app_user", "app_clone", "migrate_user", "migrate_clone", "dbname")
CREDENTIALS_FILE = "credentials.psql"  # `\set app_verifier ...` and `\set migrate_verifier ...`

_CREATE_GROUP = (
    "SELECT format('CREATE ROLE %I NOLOGIN', :'{role}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'{role}') \\gexec"
)
_CREATE_LOGIN = (
    "SELECT format('CREATE ROLE %I LOGIN{clause} IN ROLE %I', :'{user}', {verifier}:'{group}') "
    "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'{user}') \\gexec"
)


def _create_login(user: str, group: str, verifier: str | None) -> str:
    if verifier is None:  # the clone: no password until the first rotation sets one
        return _CREATE_LOGIN.format(clause="", user=user, verifier="", group=group)
    return _CREATE_LOGIN.format(clause=" PASSWORD %L", user=user, verifier=f":'{verifier}', ", group=group)


BOOTSTRAP_SQL = "\n".join(
    [
        "\\set ON_ERROR_STOP on",
        "\\i :credentials",
        _CREATE_GROUP.format(role="owner"),
        _CREATE_GROUP.format(role="app_group"),
        # The master must be a member of `owner` to hand it the schema and set its default privileges.
        "SELECT format('GRANT %I TO %I', :'owner', current_user) WHERE NOT pg_has_role(current_user, :'owner', 'MEMBER') \\gexec",
        _create_login("migrate_user", "owner", "migrate_verifier"),
        _create_login("migrate_clone", "owner", None),
        _create_login("app_user", "app_group", "app_verifier"),
        _create_login("app_clone", "app_group", None),
        "ALTER ROLE :\"migrate_user\" SET role = :'owner';",
        "ALTER ROLE :\"migrate_clone\" SET role = :'owner';",
        'REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;',
        'GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"owner", :"app_group";',
        'ALTER SCHEMA public OWNER TO :"owner";',
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        'GRANT USAGE ON SCHEMA public TO :"app_group";',
        'SET ROLE :"owner";',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_group";',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_group";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_group";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app_group";',
        "RESET ROLE;",
        "",
    ]
)


def scram_verifier(phrase: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for the password `phrase` (RFC 5802/7677; PostgreSQL's
    `scram_build_secret`): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    PostgreSQL accepts it in place of a password and stores it as given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", phrase.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def credentials_script(app_phrase: str, migrate_phrase: str) -> str:
    """The psql file with the two initial verifiers (written to a memory-backed volume, never logged)."""
    return f"\\set app_verifier '{scram_verifier(app_phrase)}'\n\\set migrate_verifier '{scram_verifier(migrate_phrase)}'\n"


if __name__ == "__main__":  # the bootstrap Job's first container: environment in, credentials file out
    import os
    import sys

    target = sys.argv[1]
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(credentials_script(os.environ["APP_PASSWORD"], os.environ["MIGRATE_PASSWORD"]))
