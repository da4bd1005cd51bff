"""One ExternalSecret that copies a Secrets Manager secret (a `SecretBinding`) into a Kubernetes Secret."""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from envspec.naming import CLUSTER_SECRET_STORE, PROJECT_TAG, SecretBinding
from imports.io import external_secrets as eso


def synced_secret(
    scope: Construct,
    *,
    binding: SecretBinding,
    refresh_interval: str,
    remote_keys: tuple[str, ...] | None = None,
    template_data: dict[str, str] | None = None,
    data_from: list[eso.ExternalSecretSpecDataFrom] | None = None,
    version: str | None = None,
    labels: dict[str, str] | None = None,
) -> eso.ExternalSecret:
    """`binding.keys` of the remote JSON secret become the Secret's keys; `remote_keys` and
    `template_data` instead render the Secret's data from other properties; `version` pins the
    version stage each key is read from."""
    return eso.ExternalSecret(
        scope,
        binding.kubernetes_name,
        metadata=ApiObjectMetadata(name=binding.kubernetes_name, namespace=binding.namespace),
        spec=eso.ExternalSecretSpec(
            refresh_interval=refresh_interval,
            refresh_policy=eso.ExternalSecretSpecRefreshPolicy.PERIODIC,
            secret_store_ref=eso.ExternalSecretSpecSecretStoreRef(
                kind=eso.ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name=CLUSTER_SECRET_STORE
            ),
            target=eso.ExternalSecretSpecTarget(
                name=binding.kubernetes_name,
                # The Secret goes with its ExternalSecret, but survives the remote secret's deletion:
                # running pods keep working (and Alertmanager keeps notifying) while someone restores it.
                creation_policy=eso.ExternalSecretSpecTargetCreationPolicy.OWNER,
                deletion_policy=eso.ExternalSecretSpecTargetDeletionPolicy.RETAIN,
                template=eso.ExternalSecretSpecTargetTemplate(
                    engine_version=eso.ExternalSecretSpecTargetTemplateEngineVersion.V2,
                    type=binding.type,
                    metadata=eso.ExternalSecretSpecTargetTemplateMetadata(
                        labels={
                            "app.kubernetes.io/part-of": PROJECT_TAG,
                            "app.kubernetes.io/managed-by": "external-secrets",
                            **(labels or {}),
                        }
                    ),
                    data=template_data,
                ),
            ),
            data=[
                eso.ExternalSecretSpecData(
                    secret_key=key, remote_ref=eso.ExternalSecretSpecDataRemoteRef(key=binding.remote_name, property=key, version=version)
                )
                for key in (remote_keys or binding.keys)
            ],
            data_from=data_from,
        ),
    )
