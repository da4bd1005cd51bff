"""Two AWS behaviours moto 5.2.5 lacks, added to moto's own models the way AWS documents them.

- RDS `PromoteReadReplica`: moto keeps `ReadReplicaSourceDBInstanceIdentifier` on the promoted
  instance; AWS reports it only "if this DB instance is a read replica" (RDS API reference,
  DBInstance), and the source stops listing it in `ReadReplicaDBInstanceIdentifiers`.
- Secrets Manager `StopReplicationToReplica` (moto: NotImplementedError): "Removes the link between
  the replica secret and the primary secret and promotes the replica to a primary secret in the
  replica Region. You must call this operation from the Region in which you want to promote the
  replica" (Secrets Manager API reference, StopReplicationToReplica). The promoted secret keeps the
  name and value; the primary no longer replicates to that region.

Both are installed for the duration of a `with moto_gaps():` block and removed afterwards.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.rds.models import RDSBackend, rds_backends
from moto.secretsmanager.exceptions import InvalidParameterException, SecretNotFoundException
from moto.secretsmanager.models import ReplicaSecret
from moto.secretsmanager.responses import SecretsManagerResponse


def _promote(original: Any) -> Any:
    def promote_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        database = self.databases[db_kwargs["db_instance_identifier"]]
        source_id = database.source_db_instance_identifier if database.is_replica else None
        promoted = original(self, db_kwargs)
        if source_id:
            region = source_id.split(":")[3] if source_id.startswith("arn:") else self.region_name
            source = rds_backends[self.account_id][region].databases.get(source_id.split(":")[-1])
            for entry in (promoted.db_instance_arn, promoted.db_instance_identifier):
                if source is not None and entry in source.replicas:
                    source.replicas.remove(entry)
            promoted.source_db_instance_identifier = None
        return promoted

    return promote_read_replica


def _stop_replication_to_replica(self: SecretsManagerResponse) -> str:
    secret_id = self._get_param("SecretId")
    backend = self.backend
    if secret_id not in backend.secrets:
        raise SecretNotFoundException()
    replica = backend.secrets[secret_id]
    if not isinstance(replica, ReplicaSecret):
        raise InvalidParameterException("The secret is not a replica secret.")
    source = replica.source
    standalone = copy.copy(source)
    standalone.region = replica.region
    standalone.arn = replica.arn
    standalone.replicas = []
    standalone.versions = copy.deepcopy(source.versions)
    dict.pop(backend.secrets, replica.arn, None)
    backend.secrets[standalone.name] = standalone
    source.replicas = [item for item in source.replicas if item.region != replica.region]
    return json.dumps({"ARN": standalone.arn})


@contextmanager
def moto_gaps() -> Iterator[None]:
    original = RDSBackend.promote_read_replica
    RDSBackend.promote_read_replica = _promote(original)  # type: ignore[method-assign]
    SecretsManagerResponse.stop_replication_to_replica = _stop_replication_to_replica  # type: ignore[attr-defined]
    try:
        yield
    finally:
        RDSBackend.promote_read_replica = original  # type: ignore[method-assign]
        del SecretsManagerResponse.stop_replication_to_replica  # type: ignore[attr-defined]
