"""The `<env>-data` stack: database, cache, buckets and secrets as the issue and the spec ask."""

from __future__ import annotations

import pytest

from envspec import names_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, only, only_item, ref, resources_of


def _data(synthesis: Synthesis, env: str) -> dict:
    return synthesis.stack(f"{env}-data")


def _key(stack: dict, purpose: str) -> str:
    """Logical id of the stack's own CMK with alias `alias/ai-subsidy-<env>-<purpose>` (primary region)."""
    for alias in resources_of(stack, "aws_kms_alias").values():
        if alias["name"].endswith(f"-{purpose}") and "provider" not in alias:
            return ref(alias["target_key_id"])
    raise AssertionError(f"no {purpose} key")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_postgresql_instance(env: str, synthesis: Synthesis) -> None:
    spec, stack = SPECS[env], _data(synthesis, env)
    db = only(resources_of(stack, "aws_db_instance"))
    key = f"${{aws_kms_key.{_key(stack, 'data')}.arn}}"
    assert (db["identifier"], db["db_name"]) == (f"ai-subsidy-{env}", f"ai_subsidy_{env}")
    assert (db["engine"], db["engine_version"], db["auto_minor_version_upgrade"]) == ("postgres", "15", True)
    assert db["instance_class"] == ("db.m7g.large" if spec.is_production else "db.t4g.medium")
    assert (db["allocated_storage"], db["max_allocated_storage"], db["storage_type"]) == (100, 1000, "gp3")
    assert db["storage_encrypted"] is True and db["kms_key_id"] == key and db["performance_insights_kms_key_id"] == key
    assert db["manage_master_user_password"] is True
    assert not {"password", "password_wo"} & set(db), "the master password is managed by RDS, never passed in"
    assert db["master_user_secret_kms_key_id"] == f"${{aws_kms_key.{_key(stack, 'secrets')}.arn}}"
    # 03:00-04:00 and Monday 04:00-05:00 in Tokyo, which AWS must be given in UTC (JST = UTC+9).
    assert (db["backup_retention_period"], db["backup_window"], db["maintenance_window"]) == (30, "18:00-19:00", "sun:19:00-sun:20:00")
    assert db["multi_az"] is spec.is_production
    assert db["deletion_protection"] is spec.is_production
    assert db["skip_final_snapshot"] is not spec.is_production
    assert ("final_snapshot_identifier" in db) is spec.is_production
    assert db["publicly_accessible"] is False
    assert db["iam_database_authentication_enabled"] is True
    assert db["performance_insights_enabled"] is True and db["monitoring_interval"] > 0 and "monitoring_role_arn" in db
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    subnets = resources_of(stack, "aws_db_subnet_group")[ref(db["db_subnet_group_name"])]["subnet_ids"]
    assert len(subnets) == len(spec.availability_zones) and all("isolated" in subnet for subnet in subnets)
    parameters = resources_of(stack, "aws_db_parameter_group")[ref(db["parameter_group_name"])]
    assert parameters["family"] == "postgres15"
    assert {"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"} in parameters["parameter"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_parameter_group_can_be_replaced_and_carries_production_settings(env: str, synthesis: Synthesis) -> None:
    """A replacing change with create_before_destroy creates the new group first: with a fixed `name`
    RDS refuses it (DBParameterGroupAlreadyExists), so the group takes a `name_prefix`. Static
    parameters take `pending-reboot` (RDS refuses `immediate` for them; which ones are static is
    checked against PostgreSQL 15 itself in tests/test_database_roles.py)."""
    spec, stack = SPECS[env], _data(synthesis, env)
    db = only(resources_of(stack, "aws_db_instance"))
    parameters = resources_of(stack, "aws_db_parameter_group")[ref(db["parameter_group_name"])]
    assert "name" not in parameters and parameters["name_prefix"] == f"ai-subsidy-{env}-postgres15-"
    assert parameters["lifecycle"] == {"create_before_destroy": True}
    values = {item["name"]: (item["value"], item["apply_method"]) for item in parameters["parameter"]}
    settings = spec.database.parameters
    assert values["idle_in_transaction_session_timeout"] == (str(settings.idle_in_transaction_session_timeout_ms), "immediate")
    assert values["log_autovacuum_min_duration"] == (str(settings.log_autovacuum_min_duration_ms), "immediate")
    assert values["log_temp_files"] == (str(settings.log_temp_files_kb), "immediate")
    assert values["shared_preload_libraries"] == ("pg_stat_statements", "pending-reboot")


def test_production_runs_on_non_burstable_graviton_classes(synthesis: Synthesis) -> None:
    """AWS: burstable (T) classes suit development and test; production throttles once credits run out."""
    for env in ENVIRONMENTS:
        stack = _data(synthesis, env)
        db, cache = only(resources_of(stack, "aws_db_instance")), only(resources_of(stack, "aws_elasticache_replication_group"))
        burstable = [kind.split(".")[1].startswith("t") for kind in (db["instance_class"], cache["node_type"])]
        assert burstable == ([False, False] if SPECS[env].is_production else [True, True]), env
        assert all(kind.split(".")[1].endswith("g") for kind in (db["instance_class"], cache["node_type"])), "Graviton"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_redis_never_evicts_queued_jobs_or_sessions(env: str, synthesis: Synthesis) -> None:
    """Redis holds the AI worker's job queue and the sessions; the default parameter group's
    `volatile-lru` would evict keys with a TTL (sessions) under memory pressure, `noeviction` refuses
    writes instead (ElastiCache User Guide, "Redis OSS-specific parameters": maxmemory-policy)."""
    stack = _data(synthesis, env)
    group = only(resources_of(stack, "aws_elasticache_replication_group"))
    parameters = resources_of(stack, "aws_elasticache_parameter_group")[ref(group["parameter_group_name"])]
    assert parameters["family"] == "redis7" and parameters["name"] == f"ai-subsidy-{env}-redis7"
    assert parameters["parameter"] == [{"name": "maxmemory-policy", "value": "noeviction"}]
    assert parameters["lifecycle"] == {"create_before_destroy": True}


def test_only_production_is_multi_az_with_deletion_protection(synthesis: Synthesis) -> None:
    for env in ENVIRONMENTS:
        db = only(resources_of(_data(synthesis, env), "aws_db_instance"))
        assert (db["multi_az"], db["deletion_protection"]) == ((True, True) if env == "production" else (False, False))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_redis_replication_group(env: str, synthesis: Synthesis) -> None:
    spec, stack = SPECS[env], _data(synthesis, env)
    group = only(resources_of(stack, "aws_elasticache_replication_group"))
    nodes = 3 if env == "production" else 1
    assert group["replication_group_id"] == f"ai-subsidy-{env}"
    assert group["engine"] == "redis" and group["engine_version"].startswith("7.")
    assert group["node_type"] == ("cache.m7g.large" if env == "production" else "cache.t4g.small")
    assert group["num_cache_clusters"] == nodes
    assert group["automatic_failover_enabled"] is (nodes > 1) and group["multi_az_enabled"] is (nodes > 1)
    assert group["at_rest_encryption_enabled"] == "true"
    assert group["kms_key_id"] == f"${{aws_kms_key.{_key(stack, 'data')}.arn}}"
    assert group["transit_encryption_enabled"] is True and group["transit_encryption_mode"] == "required"
    assert group["auth_token_update_strategy"] == "ROTATE"
    assert "lifecycle" not in group, "no ignore_changes: the token Terraform holds is the token the cache has"
    assert group["snapshot_retention_limit"] == spec.cache.snapshot_retention_days > 0
    # 02:00-03:00 and Monday 05:00-06:00 in Tokyo: an hour after the database's maintenance.
    assert (group["snapshot_window"], group["maintenance_window"]) == ("17:00-18:00", "sun:20:00-sun:21:00")
    subnets = resources_of(stack, "aws_elasticache_subnet_group")[ref(group["subnet_group_name"])]["subnet_ids"]
    assert all("isolated" in subnet for subnet in subnets)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_stores_admit_only_the_cluster(env: str, synthesis: Synthesis) -> None:
    """And PostgreSQL the login rotation function (stacks/data/rotation.py) too."""
    stack = _data(synthesis, env)
    groups = resources_of(stack, "aws_security_group")
    rules = list(resources_of(stack, "aws_vpc_security_group_ingress_rule").values())
    db = only(resources_of(stack, "aws_db_instance"))
    cache = only(resources_of(stack, "aws_elasticache_replication_group"))
    rotation = next(logical for logical, group in groups.items() if group["name"].endswith("-db-login-rotation"))
    for store, port, extra in ((db["vpc_security_group_ids"], 5432, [rotation]), (cache["security_group_ids"], 6379, [])):
        (group_ref,) = store
        assert "ingress" not in groups[ref(group_ref)] and "egress" not in groups[ref(group_ref)]
        admitted = [rule for rule in rules if ref(rule["security_group_id"]) == ref(group_ref)]
        assert len(admitted) == 1 + len(extra)
        for rule in admitted:
            assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (port, port, "tcp")
            assert "cidr_ipv4" not in rule
        sources = [rule["referenced_security_group_id"] for rule in admitted]
        assert len([source for source in sources if "cluster_security_group_id" in source]) == 1
        assert [ref(source) for source in sources if "cluster_security_group_id" not in source] == extra


def test_no_ingress_from_anywhere_in_any_stack(synthesis: Synthesis) -> None:
    for stack_id in synthesis.stack_ids:
        stack = synthesis.stack(stack_id)
        for rule in resources_of(stack, "aws_vpc_security_group_ingress_rule").values():
            assert rule.get("cidr_ipv4") != "0.0.0.0/0" and rule.get("cidr_ipv6") != "::/0", stack_id
        for rule in resources_of(stack, "aws_security_group_rule").values():
            assert not (rule["type"] == "ingress" and "0.0.0.0/0" in rule.get("cidr_blocks", [])), stack_id
        for group in resources_of(stack, "aws_security_group").values():
            assert not [i for i in group.get("ingress", []) if "0.0.0.0/0" in i.get("cidr_blocks", [])], stack_id


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_buckets(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), _data(synthesis, env)
    buckets = {bucket["bucket"]: logical for logical, bucket in resources_of(stack, "aws_s3_bucket").items()}
    wanted = {purpose: names.bucket(purpose) for purpose in ("files", "diagnostics", "access-logs")}
    assert set(buckets) == set(wanted.values())
    data_key = f"${{aws_kms_key.{_key(stack, 'data')}.arn}}"
    by_bucket = {
        kind: {ref(item["bucket"]): item for item in resources_of(stack, f"aws_s3_bucket_{kind}").values()}
        for kind in (
            "versioning",
            "server_side_encryption_configuration",
            "public_access_block",
            "policy",
            "lifecycle_configuration",
            "logging",
        )
    }
    for purpose, name in wanted.items():
        logical = buckets[name]
        assert by_bucket["versioning"][logical]["versioning_configuration"]["status"] == "Enabled"
        (rule,) = by_bucket["server_side_encryption_configuration"][logical]["rule"]
        sse = rule["apply_server_side_encryption_by_default"]
        assert sse == (
            {"sse_algorithm": "AES256"} if purpose == "access-logs" else {"sse_algorithm": "aws:kms", "kms_master_key_id": data_key}
        )
        assert all(by_bucket["public_access_block"][logical][flag] is True for flag in ("block_public_acls", "restrict_public_buckets"))
        policy = data_of(stack, "aws_iam_policy_document")[ref(by_bucket["policy"][logical]["policy"])]
        assert any(s["effect"] == "Deny" and s["condition"][0]["variable"] == "aws:SecureTransport" for s in policy["statement"])
        (lifecycle,) = by_bucket["lifecycle_configuration"][logical]["rule"]
        assert lifecycle["noncurrent_version_expiration"][0]["noncurrent_days"] > 0
        if purpose != "access-logs":
            assert ref(by_bucket["logging"][logical]["target_bucket"]) == buckets[wanted["access-logs"]]
    diagnostics = by_bucket["lifecycle_configuration"][buckets[wanted["diagnostics"]]]["rule"][0]
    assert diagnostics["expiration"][0]["days"] == 90


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_redis_auth_token_from_the_aws_generator_never_stored_by_terraform(env: str, synthesis: Synthesis) -> None:
    """The ephemeral generator's value goes write-only into the token secret, once per spec generation;
    the cache and the redis URL both take the token read back from that secret version."""
    spec, names, stack = SPECS[env], names_for(SPECS[env]), _data(synthesis, env)
    generator = stack["ephemeral"]["aws_secretsmanager_random_password"]["redis_auth_token"]
    assert generator["password_length"] == 64 and generator["exclude_punctuation"] is True
    assert list(stack["ephemeral"]) == ["aws_secretsmanager_random_password"]
    assert "aws_secretsmanager_random_password" not in stack.get("data", {}), "a data source would print the password as its id"
    secrets = {secret["name"]: logical for logical, secret in resources_of(stack, "aws_secretsmanager_secret").items()}
    versions = {
        ref(version["secret_id"]): (logical, version)
        for logical, version in resources_of(stack, "aws_secretsmanager_secret_version").items()
    }
    token_version_id, token_version = versions[secrets[names.cache_auth_token_secret]]
    assert "secret_string" not in token_version
    assert (
        token_version["secret_string_wo"]
        == "${jsonencode({token = ephemeral.aws_secretsmanager_random_password.redis_auth_token.random_password})}"
    )
    assert token_version["secret_string_wo_version"] == spec.cache.auth_token_version
    (reader_id, reader) = only_item(data_of(stack, "aws_secretsmanager_secret_version"))
    assert reader["version_id"] == f"${{aws_secretsmanager_secret_version.{token_version_id}.version_id}}"
    token = f"jsondecode(data.aws_secretsmanager_secret_version.{reader_id}.secret_string).token"
    group = only(resources_of(stack, "aws_elasticache_replication_group"))
    assert group["auth_token"] == f"${{{token}}}"
    _, redis = versions[secrets[names.secret_name("redis")]]
    assert "secret_string" not in redis and redis["secret_string_wo_version"] == spec.cache.auth_token_version
    assert redis["secret_string_wo"].startswith('${jsonencode({"url" = "rediss://:${' + token + "}@${aws_elasticache_replication_group.")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_for_the_kubernetes_layer(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), _data(synthesis, env)
    secrets = {secret["name"]: logical for logical, secret in resources_of(stack, "aws_secretsmanager_secret").items()}
    expected = {binding.remote_name for binding in names.synced_secrets}
    assert set(secrets) == expected | {names.cache_auth_token_secret}
    secrets_key = f"${{aws_kms_key.{_key(stack, 'secrets')}.arn}}"
    assert all(secret["kms_key_id"] == secrets_key for secret in resources_of(stack, "aws_secretsmanager_secret").values())
    versions = {ref(version["secret_id"]): version for version in resources_of(stack, "aws_secretsmanager_secret_version").values()}
    written = {
        secrets[names.secret_name("database")],
        secrets[names.secret_name("database-migration")],
        secrets[names.secret_name("redis")],
        secrets[names.cache_auth_token_secret],
        secrets[names.grafana_admin_secret.remote_name],
    }
    assert set(versions) == written, "operators fill the others: ai-keys, registry, alert receivers"
    instance, _ = only_item(resources_of(stack, "aws_db_instance"))
    masterarn = f"aws_db_instance.{instance}.master_user_secret[0].secret_arn"
    for purpose, user in (("database", "ai_subsidy_app_user"), ("database-migration", "ai_subsidy_migrate")):
        version = versions[secrets[names.secret_name(purpose)]]
        assert "secret_string" not in version and version["secret_string_wo_version"] == 1, "written once; rotation owns it after"
        login = version["secret_string_wo"]
        # The keys Secrets Manager's alternating-users rotation for RDS PostgreSQL reads (get_secret_dict:
        # host, username, password, engine; masterarn for the master login that sets the twin's password).
        for key in ("engine", "host", "port", "dbname", "username", "password", "masterarn"):
            assert f'"{key}" =' in login
        assert f'"username" = "{user}"' in login and f'"masterarn" = {masterarn}' in login
        assert "ephemeral.aws_secretsmanager_random_password." in login


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_grafana_admin_login_is_generated_and_never_stored_by_terraform(env: str, synthesis: Synthesis) -> None:
    """Grafana never runs with its chart's well-known default password: Terraform writes a generated
    one once (write-only), so an operator's rotation in Secrets Manager is never reverted."""
    names, stack = names_for(SPECS[env]), _data(synthesis, env)
    binding = names.grafana_admin_secret
    generator = stack["ephemeral"]["aws_secretsmanager_random_password"]["grafana_admin_password"]
    assert generator["password_length"] >= 32 and generator["include_space"] is False
    (secret,) = [logical for logical, s in resources_of(stack, "aws_secretsmanager_secret").items() if s["name"] == binding.remote_name]
    (version,) = [v for v in resources_of(stack, "aws_secretsmanager_secret_version").values() if ref(v["secret_id"]) == secret]
    assert "secret_string" not in version and version["secret_string_wo_version"] == 1
    user_key, password_key = binding.keys
    assert version["secret_string_wo"] == (
        f'${{jsonencode({{"{user_key}" = "admin", '
        f'"{password_key}" = ephemeral.aws_secretsmanager_random_password.grafana_admin_password.random_password}})}}'
    )


def test_production_secrets_have_a_copy_in_the_dr_region(synthesis: Synthesis) -> None:
    for env in ENVIRONMENTS:
        for secret in resources_of(_data(synthesis, env), "aws_secretsmanager_secret").values():
            replicas = secret.get("replica", [])
            assert [replica["region"] for replica in replicas] == (["ap-northeast-3"] if SPECS[env].backup.cross_region else [])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_log_groups_encrypted_with_the_stack_key_and_kept_as_the_spec_says(env: str, synthesis: Synthesis) -> None:
    spec, stack = SPECS[env], _data(synthesis, env)
    data_key = f"${{aws_kms_key.{_key(stack, 'data')}.arn}}"
    groups = {group["name"]: group for group in resources_of(stack, "aws_cloudwatch_log_group").values()}
    expected = {
        f"/aws/rds/instance/ai-subsidy-{env}/postgresql": spec.database.log_retention_days,
        f"/aws/rds/instance/ai-subsidy-{env}/upgrade": spec.database.log_retention_days,
        f"/aws/elasticache/ai-subsidy-{env}/slow-log": spec.cache.log_retention_days,
        f"/aws/elasticache/ai-subsidy-{env}/engine-log": spec.cache.log_retention_days,
        f"/aws/lambda/ai-subsidy-{env}-db-login-rotation": spec.database.log_retention_days,
    }
    assert {name: group["retention_in_days"] for name, group in groups.items()} == expected
    assert all(group["kms_key_id"] == data_key for group in groups.values())
    db = only(resources_of(stack, "aws_db_instance"))
    assert sorted(ref(dependency) for dependency in db["depends_on"]) == sorted(
        logical for logical, group in resources_of(stack, "aws_cloudwatch_log_group").items() if "/aws/rds/" in group["name"]
    ), "the log groups exist before RDS would create unencrypted ones without retention"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_later_stacks_need(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), _data(synthesis, env)
    outputs = stack["output"]
    expected = {
        "database_identifier",
        "database_arn",
        "database_endpoint",
        "database_master_secret_arn",
        "cache_replication_group_id",
        "cache_primary_endpoint",
        "data_kms_key_arn",
        "secrets_kms_key_arn",
        "secret_arns",
    } | {f"{purpose}_bucket{suffix}" for purpose in ("files", "diagnostics", "access_logs") for suffix in ("", "_arn")}
    assert expected <= set(outputs)
    assert all(outputs[name]["description"] for name in expected)
    assert set(outputs["secret_arns"]["value"]) == {b.remote_name for b in names.synced_secrets}
    assert not any(output.get("sensitive") for output in outputs.values()), "no output carries a secret value"
