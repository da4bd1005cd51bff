"""The `secrets` chart: one ClusterSecretStore without credentials, ExternalSecrets for the app's Secrets.

database-secret's `url` is rendered by External Secrets from a Go template; `render` below evaluates
exactly the constructs that template uses (`.key`, `(.key | fromJson).field`, `| urlquery`) the way
Go's text/template and sprig do, so the test proves the URL a pod gets, not the template's text.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_plus, unquote, urlsplit

import pytest

from envspec import names_for
from envspec.naming import APP_NAMESPACE, CLUSTER_SECRET_STORE, MONITORING_NAMESPACE, RDS_MANAGED_SECRET_TAG
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
            if binding.kubernetes_name == "database-secret"
            else spec.secret_sync.refresh_interval
        )
        assert document["spec"]["refreshInterval"] == expected
        assert document["spec"]["refreshPolicy"] == "Periodic"
        if binding.kubernetes_name != "database-secret":
            assert [(item["secretKey"], item["remoteRef"]) for item in document["spec"]["data"]] == [
                (key, {"key": binding.remote_name, "property": key}) for key in binding.keys
            ]
    registry = _external_secret(synthesis, env, "registry-secret")
    assert registry["spec"]["target"]["template"]["type"] == "kubernetes.io/dockerconfigjson"
    assert registry["spec"]["data"][0]["secretKey"] == ".dockerconfigjson"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_database_url_joins_the_connection_details_with_the_rds_managed_password(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    document = _external_secret(synthesis, env, "database-secret")
    spec = document["spec"]
    assert {item["remoteRef"]["key"] for item in spec["data"]} == {names.secret_name("database")}
    (lookup,) = spec["dataFrom"]
    assert lookup["find"] == {
        "tags": {RDS_MANAGED_SECRET_TAG: f"arn:aws:rds:{SPECS[env].aws.region}:{names.account}:db:{names.database_identifier}"}
    }
    (rewrite,) = lookup["rewrite"]
    master_key = rewrite["regexp"]["target"]
    assert re.fullmatch(rewrite["regexp"]["source"], "rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    # What External Secrets would hand the template: the data keys, and the RDS secret under its new key.
    # Characters a URL's user-info must escape; RDS never generates a space (it would become `+`).
    password = "p@ss:w/rd?#%&+=[]"
    data = {item["secretKey"]: "" for item in spec["data"]}
    data |= {"host": "db.example.internal", "port": "5432", "dbname": names.database_name, "username": "ai_subsidy"}
    data[master_key] = json.dumps({"username": "ai_subsidy", "password": password})
    template = spec["target"]["template"]
    assert set(template["data"]) == {"url"}, "only the URL may reach the Secret, not the bare password"
    url = urlsplit(render(template["data"]["url"], data))
    assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", "db.example.internal", 5432, f"/{names.database_name}")
    assert unquote(url.password) == password  # how a URL parser reads user-info
    assert url.username == "ai_subsidy"
    assert url.query == "sslmode=require"


def test_the_template_renderer_fails_on_what_it_does_not_know() -> None:
    with pytest.raises(KeyError):
        render("{{ .missing }}", {})
    with pytest.raises(AssertionError):
        render("{{ .a | b64enc }}", {"a": "x"})
