"""The database roles' bootstrap SQL against a real PostgreSQL 15 server, and the parameter group's
settings checked by that server.

The server is Debian's PostgreSQL 15 (`initdb` + `pg_ctl` into a temporary folder, loopback only).
initdb refuses to run as root, so as root the server runs as the `postgres` system user.

The master login is emulated as RDS creates it (RDS User Guide, "Understanding the rds_superuser
role": `CREATE ROLE postgres WITH LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE NOREPLICATION`, a
member of `rds_superuser`), owning the application database: not a superuser, so the bootstrap can
only do what the RDS master can.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

import charts.database_roles
from charts.database_bootstrap import role_variables
from charts.database_roles import BOOTSTRAP_SQL
from charts.pod import RUN_AS_USER
from stacks.data.database import STATIC_PARAMETERS, parameters_for
from tests.conftest import SPECS

BIN = Path("/usr/lib/postgresql/15/bin")
MASTER, DATABASE = "ai_subsidy_admin", "ai_subsidy_test"
ROLES = role_variables(DATABASE)  # the names the bootstrap Job passes to psql
# Test-only passwords, generated per run.
PASSWORDS = {name: os.urandom(12).hex() for name in ("master", "app", "migrate")}


@dataclass(frozen=True)
class Server:
    port: int
    folder: Path

    def connect(self, user: str, password: str | None = None, dbname: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname, autocommit=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def rds_like_server(*, prefix: str, extra_options: Callable[[Path], str] = lambda folder: "") -> Iterator[Server]:
    """A PostgreSQL 15 server on loopback with the RDS master (see the module's docstring) owning the
    application database; `extra_options(folder)`, called once initdb has run, adds server options."""
    if not (BIN / "initdb").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL 15 is not installed (.ci/run installs the postgresql package)")
        pytest.skip("PostgreSQL 15 is not installed")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    # The superuser authenticates over the socket only; TCP logins need a SCRAM password.
    subprocess.run(
        _as_server_user([str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256"]),
        check=True,
        capture_output=True,
    )
    options = " ".join(option for option in (f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}", extra_options(folder)) if option)
    subprocess.run(
        _as_server_user([str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        with psycopg.connect(host=str(folder), port=port, user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute("CREATE ROLE rds_superuser NOLOGIN")
            admin.execute(
                f"CREATE ROLE {MASTER} WITH LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE NOREPLICATION IN ROLE rds_superuser "
                f"PASSWORD '{PASSWORDS['master']}'"
            )
            admin.execute(f"CREATE DATABASE {DATABASE} OWNER {MASTER}")
        yield Server(port, folder)
    finally:
        subprocess.run(_as_server_user([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with rds_like_server(prefix="pg-roles-") as running:
        yield running


def _as_pod_user(command: list[str]) -> list[str]:
    """As root, run as the pods' UID (no passwd entry, like in the container); otherwise as oneself."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", f"--reuid={RUN_AS_USER}", f"--regid={RUN_AS_USER}", "--clear-groups", *command]


def _bootstrap(server: Server) -> subprocess.CompletedProcess:
    """What the Job does, with a minimal environment: the verifier script as a standalone file (as the
    ConfigMap ships it), then psql with BOOTSTRAP_SQL as the master."""
    work = Path(tempfile.mkdtemp(prefix="bootstrap-"))
    if os.geteuid() == 0:
        os.chown(work, RUN_AS_USER, RUN_AS_USER)
    script = work / "database_roles.py"
    shutil.copyfile(charts.database_roles.__file__, script)
    (work / "bootstrap.sql").write_text(BOOTSTRAP_SQL)
    credentials = work / "credentials.psql"
    base = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    verifiers = subprocess.run(
        _as_pod_user([sys.executable, "-I", str(script), str(credentials)]),
        env={**base, "APP_PASSWORD": PASSWORDS["app"], "MIGRATE_PASSWORD": PASSWORDS["migrate"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert verifiers.returncode == 0, verifiers.stderr
    variables = [f"--variable={name}={value}" for name, value in ROLES.items()] + [f"--variable=credentials={credentials}"]
    pg = {"PGHOST": "127.0.0.1", "PGPORT": str(server.port), "PGDATABASE": DATABASE, "PGUSER": MASTER, "PGPASSWORD": PASSWORDS["master"]}
    try:
        return subprocess.run(
            _as_pod_user([str(BIN / "psql"), "--no-psqlrc", "--quiet", *variables, "-f", str(work / "bootstrap.sql")]),
            env={**base, **pg},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


CATALOG_QUERIES = {
    "roles": "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolinherit, rolpassword FROM pg_authid ORDER BY 1",
    "members": "SELECT r.rolname, m.rolname, g.rolname, admin_option FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
    "JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.grantor ORDER BY 1, 2",
    "settings": "SELECT setrole::regrole::text, setdatabase, setconfig FROM pg_db_role_setting ORDER BY 1, 2",
    "schemas": "SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_namespace ORDER BY 1",
    "default_acl": "SELECT defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype, defaclacl::text "
    "FROM pg_default_acl ORDER BY 1, 2, 3",
    "databases": "SELECT datname, datdba::regrole::text, datacl::text FROM pg_database ORDER BY 1",
    "tables": "SELECT relname, relowner::regrole::text, relacl::text FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
}


def _catalogs(server: Server) -> dict[str, list[tuple]]:
    with psycopg.connect(host=str(server.folder), port=server.port, user="postgres", dbname=DATABASE) as admin:
        return {name: admin.execute(query).fetchall() for name, query in CATALOG_QUERIES.items()}


@pytest.fixture(scope="module")
def bootstrapped(server: Server) -> dict[str, list[tuple]]:
    first = _bootstrap(server)
    assert first.returncode == 0, first.stderr
    return _catalogs(server)


def test_the_master_is_not_a_superuser(server: Server) -> None:
    with server.connect(MASTER, PASSWORDS["master"]) as master:
        assert master.execute("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone() == (False, True)


def test_the_migration_role_can_change_the_schema(server: Server, bootstrapped: dict) -> None:
    with server.connect(ROLES["migrate_user"], PASSWORDS["migrate"]) as migrate:
        assert migrate.execute("SELECT current_user, session_user").fetchone() == (ROLES["owner"], ROLES["migrate_user"])
        migrate.execute("CREATE TABLE IF NOT EXISTS application (id serial PRIMARY KEY, title text NOT NULL)")
        migrate.execute("ALTER TABLE application ADD COLUMN status text")
        migrate.execute("CREATE INDEX application_status ON application (status)")
        migrate.execute("CREATE TABLE scratch (id int)")
        migrate.execute("DROP TABLE scratch")
        owner = migrate.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'application'").fetchone()
        assert owner == (ROLES["owner"],), "the group role owns what either migration user creates"


def test_the_application_role_reads_and_writes_rows_of_tables_created_later(server: Server, bootstrapped: dict) -> None:
    """ALTER DEFAULT PRIVILEGES FOR ROLE owner: the table did not exist when the bootstrap ran."""
    with server.connect(ROLES["migrate_user"], PASSWORDS["migrate"]) as migrate:
        migrate.execute("CREATE TABLE IF NOT EXISTS draft (id bigserial PRIMARY KEY, body text)")
    with server.connect(ROLES["app_user"], PASSWORDS["app"]) as app:
        app.execute("INSERT INTO draft (body) VALUES ('first')")
        app.execute("UPDATE draft SET body = 'second'")
        assert app.execute("SELECT body FROM draft").fetchall() == [("second",)]
        app.execute("DELETE FROM draft")


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE draft ADD COLUMN intruder text",
        "DROP TABLE draft",
        "TRUNCATE draft",
        "CREATE INDEX intruder ON draft (body)",
        "CREATE SCHEMA intruder",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
    ],
)
def test_the_application_role_has_no_ddl(server: Server, bootstrapped: dict, statement: str) -> None:
    with server.connect(ROLES["migrate_user"], PASSWORDS["migrate"]) as migrate:
        migrate.execute("CREATE TABLE IF NOT EXISTS draft (id bigserial PRIMARY KEY, body text)")
    with server.connect(ROLES["app_user"], PASSWORDS["app"]) as app:
        if statement.startswith("ALTER DEFAULT"):  # allowed for one's own objects, of which it has none: it grants nothing
            app.execute(statement)
            assert not app.execute("SELECT 1 FROM pg_class WHERE relowner = current_user::regrole").fetchall()
            return
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute(statement)


def test_running_the_bootstrap_again_changes_no_catalog_row(server: Server, bootstrapped: dict) -> None:
    before = _catalogs(server)
    again = _bootstrap(server)
    assert again.returncode == 0, again.stderr
    assert _catalogs(server) == before
    assert PASSWORDS["app"] not in again.stdout + again.stderr


def test_no_clear_text_password_reaches_the_server(server: Server, bootstrapped: dict) -> None:
    """The server log would hold it (`log_statement = ddl` on RDS): only verifiers are sent."""
    with psycopg.connect(host=str(server.folder), port=server.port, user="postgres", dbname=DATABASE) as admin:
        stored = dict(admin.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'ai_subsidy_%'").fetchall())
    assert stored[ROLES["app_user"]].startswith("SCRAM-SHA-256$4096:")
    assert stored[ROLES["app_clone"]] is None and stored[ROLES["migrate_clone"]] is None, "clones get a password at their first rotation"
    assert not any(password in BOOTSTRAP_SQL for password in PASSWORDS.values())


def test_alternating_users_rotation_keeps_the_password_in_use(server: Server, bootstrapped: dict) -> None:
    """What the AWS template SecretsManagerRDSPostgreSQLRotationMultiUser does in setSecret (file
    lambda_function.py, aws-samples/aws-secrets-manager-rotation-lambdas): with the master, `ALTER USER
    <clone> WITH PASSWORD ...` when the clone exists. The user in use keeps working; the clone can do
    what the user does, including acting as the schema owner for the migration."""
    rotated = os.urandom(12).hex()
    with server.connect(ROLES["migrate_user"], PASSWORDS["migrate"]) as migrate:
        migrate.execute("CREATE TABLE IF NOT EXISTS application (id serial PRIMARY KEY, title text NOT NULL)")
    with server.connect(MASTER, PASSWORDS["master"]) as master:
        for clone in (ROLES["app_clone"], ROLES["migrate_clone"]):
            master.execute(f"ALTER USER {clone} WITH PASSWORD '{rotated}'")
    with server.connect(ROLES["app_user"], PASSWORDS["app"]) as current, server.connect(ROLES["app_clone"], rotated) as pending:
        current.execute("INSERT INTO application (title) VALUES ('in use')")
        pending.execute("INSERT INTO application (title) VALUES ('rotated')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pending.execute("CREATE TABLE intruder (id int)")
    with server.connect(ROLES["migrate_clone"], rotated) as migrate:
        assert migrate.execute("SELECT current_user").fetchone() == (ROLES["owner"],)
        migrate.execute("ALTER TABLE application ADD COLUMN IF NOT EXISTS reviewed boolean")


# --- the parameter group, checked by the server it configures -------------------------------------


def test_every_parameter_exists_in_postgresql_15_with_a_valid_value_and_the_right_apply_method(server: Server) -> None:
    """Each core parameter the group sets is looked up in pg_settings: it must exist, its value must
    be within min_val..max_val (in the unit PostgreSQL assumes for a bare number), and the parameters
    of context `postmaster` (a restart) are exactly those the stack applies with `pending-reboot` (RDS
    User Guide, "Working with parameters on your RDS for PostgreSQL DB instance": static parameters
    need a reboot; RDS refuses `immediate` for them). `rds.*` parameters exist only on RDS."""
    with psycopg.connect(host=str(server.folder), port=server.port, user="postgres", dbname="postgres") as admin:
        for env, spec in SPECS.items():
            parameters = parameters_for(spec.database.parameters)
            core = {name: value for name, value in parameters.items() if not name.startswith("rds.")}
            assert set(parameters) - set(core) == {"rds.force_ssl"}
            static = set()
            for name, value in core.items():
                row = admin.execute(
                    "SELECT vartype, min_val, max_val, context, enumvals FROM pg_settings WHERE name = %s", (name,)
                ).fetchone()
                assert row is not None, f"{env}: {name} is not a PostgreSQL 15 parameter"
                vartype, low, high, context, _ = row
                if vartype == "integer":
                    assert int(low) <= int(value) <= int(high), f"{env}: {name}={value} outside {low}..{high}"
                if vartype == "bool":
                    assert value in ("0", "1")
                if context == "postmaster":
                    static.add(name)
            assert static == set(STATIC_PARAMETERS), f"{env}: static parameters {static}"
            loaded = admin.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'").fetchone()
            assert loaded == (1,), "pg_stat_statements ships with PostgreSQL 15 (contrib)"
