"""The `secrets` chart: one ClusterSecretStore without credentials, ExternalSecrets for the app's Secrets.

database-secret's `url` is rendered by External Secrets from a Go template; `render` below evaluates
exactly the constructs that template uses (`.key`, `(.key | fromJson).field`, `| urlquery`) the way
Go's text/template and sprig do, so the test proves the URL a pod gets, not the template's text.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote, urlsplit

import pytest

from envspec import names_for
from envspec.naming import (
    APP_NAMESPACE,
    CLUSTER_SECRET_STORE,
    MONITORING_NAMESPACE,
    RDS_CA_CONFIG_MAP,
    RDS_CA_FILE,
    RDS_CA_MOUNT_PATH,
    RDS_MANAGED_SECRET_TAG,
)
from stacks.data.database import CA_CERTIFICATE
from tests import kube
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis

ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _evaluate(expression: str, data: dict[str, str]) -> str:
    stages = [stage.strip() for stage in expression.split("|")]
    head = stages.pop(0)
    nested = re.fullmatch(r"\(\.(\w[\w-]*)\s*", head)
    if nested:  # `(.master | fromJson).password`: the pipeline inside the parentheses, then a field
        inner, field = stages.pop(0), None
        match = re.fullmatch(r"(\w+)\)\.(\w+)", inner)
        assert match and match.group(1) == "fromJson", f"unsupported template construct: {expression}"
        field = match.group(2)
        value = str(json.loads(data[nested.group(1)])[field])
    else:
        assert head.startswith("."), f"unsupported template construct: {expression}"
        value = data[head[1:]]  # a missing key is an error in External Secrets' templates too
    for stage in stages:
        assert stage == "urlquery", f"unsupported template function: {stage}"
        value = quote_plus(value)  # Go's urlquery is QueryEscape: the same set as quote_plus
    return value


def render(template: str, data: dict[str, str]) -> str:
    return ACTION.sub(lambda match: _evaluate(match.group(1), data), template)


def _external_secret(synthesis: Synthesis, env: str, name: str) -> dict[str, Any]:
    (document,) = synthesis.find(env, "ExternalSecret", name)
    return document


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_store_reads_the_environment_s_region_with_the_controller_s_identity(env: str, synthesis: Synthesis) -> None:
    (store,) = synthesis.find(env, "ClusterSecretStore", CLUSTER_SECRET_STORE)
    aws = store["spec"]["provider"]["aws"]
    assert aws == {"service": "SecretsManager", "region": SPECS[env].aws.region}  # no auth block: no static keys, no role chain
    assert store["spec"]["conditions"] == [{"namespaces": [APP_NAMESPACE, MONITORING_NAMESPACE]}]
    assert "namespace" not in store["metadata"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_external_secrets_produce_the_app_secrets_with_a_refresh_interval(env: str, synthesis: Synthesis) -> None:
    spec, names = SPECS[env], names_for(SPECS[env])
    for binding in names.app_secrets:
        document = _external_secret(synthesis, env, binding.kubernetes_name)
        assert document["metadata"]["namespace"] == binding.namespace
        assert document["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": CLUSTER_SECRET_STORE}
        target = document["spec"]["target"]
        assert target["name"] == binding.kubernetes_name
        assert target["template"]["type"] == binding.type
        assert target["creationPolicy"] == "Owner"
        expected = (
            spec.secret_sync.database_refresh_interval
            if binding.kubernetes_name in ("database-secret", "database-migration-secret")
            else spec.secret_sync.refresh_interval
        )
        assert document["spec"]["refreshInterval"] == expected
        assert document["spec"]["refreshPolicy"] == "Periodic"
        if binding.kubernetes_name not in ("database-secret", "database-migration-secret"):
            assert [(item["secretKey"], item["remoteRef"]) for item in document["spec"]["data"]] == [
                (key, {"key": binding.remote_name, "property": key}) for key in binding.keys
            ]
    registry = _external_secret(synthesis, env, "registry-secret")
    assert registry["spec"]["target"]["template"]["type"] == "kubernetes.io/dockerconfigjson"
    assert registry["spec"]["data"][0]["secretKey"] == ".dockerconfigjson"


# Characters a URL's user-info must escape; the rotation's generator may produce punctuation.
PASSWORD = "p@ss:w/rd?#%&+=[]"
APP_INITIAL = "app-initial"
LOGIN = {"host": "db.example.internal", "port": "5432", "engine": "postgres", "masterarn": "arn:aws:secretsmanager:x"}


def _data(document: dict[str, Any], **extra: str) -> dict[str, str]:
    """What External Secrets would hand the template: the data keys (from one remote secret), plus extra keys."""
    return {item["secretKey"]: extra.get(item["secretKey"], LOGIN.get(item["secretKey"], "")) for item in document["spec"]["data"]} | extra


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("secret", "user"), [("database-secret", "ai_subsidy_app_user"), ("database-migration-secret", "ai_subsidy_migrate")]
)
def test_each_database_url_is_its_own_role_s_login_and_verifies_the_server(env: str, secret: str, user: str, synthesis: Synthesis) -> None:
    """The application and the migration each log in with their own role's secret, never the master's.

    TLS as Prisma reads the URL (prisma-engines, quaint/src/connector/postgres/url.rs at 0d495ae):
    `sslmode` knows only disable/prefer/require (`verify-full` would fall back to `prefer`, which
    allows plain text), the default `sslaccept` is accept_invalid_certs, and `sslcert` is the root
    certificate file. So `require` + `sslaccept=strict` + `sslcert=<RDS roots>` is the verifying form."""
    names = names_for(SPECS[env])
    spec = _external_secret(synthesis, env, secret)["spec"]
    assert {item["remoteRef"]["key"] for item in spec["data"]} == {names.app_secret(secret).remote_name}
    assert "dataFrom" not in spec, "no other secret (the master's least of all) reaches this Secret"
    template = spec["target"]["template"]
    assert set(template["data"]) == {"url"}, "only the URL may reach the Secret, not the bare password"
    data = _data({"spec": spec}, dbname=names.database_name, username=user, password=PASSWORD)
    url = urlsplit(render(template["data"]["url"], data))
    assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", "db.example.internal", 5432, f"/{names.database_name}")
    assert unquote(url.password) == PASSWORD and url.username == user
    query = parse_qs(url.query)
    assert query == {"sslmode": ["require"], "sslaccept": ["strict"], "sslcert": [f"{RDS_CA_MOUNT_PATH}/{RDS_CA_FILE}"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_bootstrap_secret_holds_the_master_login(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    holders = [doc["metadata"]["name"] for doc in synthesis.find(env, "ExternalSecret") if doc["spec"].get("dataFrom")]
    assert holders == ["database-bootstrap-secret"]
    spec = _external_secret(synthesis, env, "database-bootstrap-secret")["spec"]
    master, migration = spec["dataFrom"]
    assert master["find"] == {"tags": {RDS_MANAGED_SECRET_TAG: names.database_arn}}
    assert re.fullmatch(master["rewrite"][0]["regexp"]["source"], "rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    assert migration["extract"] == {"key": names.app_secret("database-migration-secret").remote_name, "version": "AWSCURRENT"}
    rewrite = migration["rewrite"][0]["regexp"]
    prefixed = re.sub(rewrite["source"], rewrite["target"].replace("$1", r"\1"), "password")
    data = _data({"spec": spec}, dbname=names.database_name, username="ai_subsidy_app_user", password=APP_INITIAL)
    data[master["rewrite"][0]["regexp"]["target"]] = json.dumps({"username": names.database_username, "password": PASSWORD})
    data[prefixed] = "migrate-initial"
    rendered = {key: render(value, data) for key, value in spec["target"]["template"]["data"].items()}
    assert rendered == {
        "PGHOST": "db.example.internal",
        "PGPORT": "5432",
        "PGDATABASE": names.database_name,
        "PGUSER": names.database_username,
        "PGPASSWORD": PASSWORD,
        "APP_PASSWORD": APP_INITIAL,
        "MIGRATE_PASSWORD": "migrate-initial",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pods_that_connect_mount_the_rds_roots_of_both_regions(env: str, synthesis: Synthesis) -> None:
    """The instance uses `rds-ca-rsa2048-g1` (stacks/data/database.py): the client needs that region's
    root, and the DR region's for a restored copy there. Each certificate must be a self-signed CA."""
    from cryptography import x509

    (config_map,) = synthesis.find(env, "ConfigMap", RDS_CA_CONFIG_MAP)
    certificates = x509.load_pem_x509_certificates(config_map["data"][RDS_CA_FILE].encode())
    names = [cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for cert in certificates]
    spec = SPECS[env]
    for region in (spec.aws.region, spec.aws.dr_region):
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names
    assert names[0] == f"Amazon RDS {spec.aws.region} Root CA {CA_CERTIFICATE.split('-')[2].upper()} G1"
    for cert in certificates:
        assert cert.issuer == cert.subject
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        cert.verify_directly_issued_by(cert)
    pods = [doc for doc in kube.workloads(synthesis.manifests(env)) if doc["metadata"]["namespace"] == APP_NAMESPACE]
    connecting = 0
    for doc in pods:
        pod_spec = kube.pod_spec(doc)
        containers = [
            c
            for c in kube.containers(pod_spec)
            if any(e["name"] == "DATABASE_URL" or e["name"] == "PGSSLROOTCERT" for e in c.get("env", []))
        ]
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        for container in containers:
            connecting += 1
            (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == RDS_CA_MOUNT_PATH]
            assert volumes[mount["name"]]["configMap"]["name"] == RDS_CA_CONFIG_MAP, doc["metadata"]["name"]
    assert connecting == 4, "backend, AI worker, migration, role bootstrap"


def test_the_template_renderer_fails_on_what_it_does_not_know() -> None:
    with pytest.raises(KeyError):
        render("{{ .missing }}", {})
    with pytest.raises(AssertionError):
        render("{{ .a | b64enc }}", {"a": "x"})
