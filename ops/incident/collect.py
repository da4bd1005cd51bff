"""`ops incident collect`: a diagnostics bundle from the cluster and Prometheus, in the diagnostics bucket.

The tarball `<env>-<component>-<UTC stamp>.tar.gz` holds, under one folder of the same name:
summary.txt, deployments.yaml, pods.yaml, events.yaml, describe/<pod>.txt,
logs/<pod>/<container>.log (and .previous.log after a restart), prometheus/alerts.json and
prometheus/targets.json (or prometheus/error.txt when Prometheus does not answer). It is written
deterministically (sorted members, fixed times and owners) and uploaded to
`s3://<diagnostics bucket>/incidents/<component>/...`; the bucket's default SSE-KMS encrypts it.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from envspec.naming import APP_NAMESPACE
from envspec.topology import COMPONENTS, Component
from ops.console import say, step
from ops.context import Target
from ops.kube import Kube
from ops.timeutil import iso, now, stamp


def _api_problem(error: Exception) -> str:
    status = getattr(error, "status", None)
    reason = getattr(error, "reason", None)
    return f"{type(error).__name__}: {status} {reason}" if status else f"{type(error).__name__}: {error}"


def _yaml(documents: Any) -> bytes:
    return yaml.safe_dump(documents, sort_keys=True, default_flow_style=False, allow_unicode=True).encode("utf-8")


def describe_pod(pod: dict[str, Any], events: Sequence[dict[str, Any]]) -> str:
    """The parts of `kubectl describe pod` an on-call engineer reads first."""
    metadata, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    owner = next(iter(metadata.get("ownerReferences", [])), {})
    lines = [
        f"Name:          {metadata['name']}",
        f"Namespace:     {metadata.get('namespace', APP_NAMESPACE)}",
        f"Node:          {spec.get('nodeName', '<none>')}",
        f"Start Time:    {status.get('startTime', '<none>')}",
        f"Labels:        {', '.join(f'{k}={v}' for k, v in sorted(metadata.get('labels', {}).items()))}",
        f"Status:        {status.get('phase', 'Unknown')}" + (f" ({status['reason']})" if status.get("reason") else ""),
        f"IP:            {status.get('podIP', '<none>')}",
        f"Controlled By: {owner.get('kind', '<none>')}/{owner.get('name', '')}",
        "Containers:",
    ]
    statuses = {item["name"]: item for item in status.get("containerStatuses", [])}
    for container in spec.get("containers", []):
        state = statuses.get(container["name"], {})
        lines += [
            f"  {container['name']}:",
            f"    Image:          {container.get('image', '')}",
            f"    State:          {_state(state.get('state', {}))}",
            f"    Last State:     {_state(state.get('lastState', {})) or '<none>'}",
            f"    Ready:          {state.get('ready', False)}",
            f"    Restart Count:  {state.get('restartCount', 0)}",
            f"    Requests:       {json.dumps(container.get('resources', {}).get('requests', {}), sort_keys=True)}",
            f"    Limits:         {json.dumps(container.get('resources', {}).get('limits', {}), sort_keys=True)}",
        ]
    lines.append("Conditions:")
    lines += [f"  {item['type']:<28}{item['status']}" for item in status.get("conditions", [])]
    lines.append("Events:")
    if not events:
        lines.append("  <none>")
    for event in events:
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        source = (event.get("source") or {}).get("component") or event.get("reportingComponent", "")
        lines.append(f"  {event.get('type', ''):<8} {event.get('reason', ''):<20} {when}  {source}  {event.get('message', '')}")
    return "\n".join(lines) + "\n"


def _state(state: dict[str, Any]) -> str:
    for kind, detail in state.items():
        reason = detail.get("reason")
        exit_code = detail.get("exitCode")
        extra = ", ".join(str(item) for item in (reason, f"exit code {exit_code}" if exit_code is not None else None) if item)
        return f"{kind.capitalize()}" + (f" ({extra})" if extra else "")
    return ""


def _tarball(root: str, files: dict[str, bytes], moment: datetime) -> bytes:
    """A gzip tarball whose bytes depend only on its contents and `moment`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mtime, info.mode = len(files[name]), int(moment.timestamp()), 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            archive.addfile(info, io.BytesIO(files[name]))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=int(moment.timestamp())) as stream:
        stream.write(raw.getvalue())
    return compressed.getvalue()


def gather(kube: Kube, components: Sequence[Component], since_minutes: int, tail_lines: int) -> tuple[dict[str, bytes], list[str]]:
    """Every file of the bundle, and the problems met while gathering (recorded, not fatal)."""
    files: dict[str, bytes] = {}
    problems: list[str] = []
    deployments = []
    for component in components:
        try:
            deployments.append(kube.deployment(component.name))
        except Exception as error:  # noqa: BLE001 - a missing Deployment is itself a finding
            problems.append(f"deployment/{component.name}: {_api_problem(error)}")
    names = ", ".join(component.name for component in components)
    pods = kube.pods(f"app in ({names})")
    pod_names = {pod["metadata"]["name"] for pod in pods}
    related = pod_names | {component.name for component in components}
    events = [
        event
        for event in kube.events()
        if event.get("involvedObject", {}).get("name") in pod_names
        or any(event.get("involvedObject", {}).get("name", "").startswith(f"{component.name}-") for component in components)
        or event.get("involvedObject", {}).get("name") in related
    ]
    events.sort(key=lambda item: (item.get("lastTimestamp") or item.get("eventTime") or "", item["metadata"]["name"]))
    files["deployments.yaml"] = _yaml(deployments)
    files["pods.yaml"] = _yaml(pods)
    files["events.yaml"] = _yaml(events)
    for pod in pods:
        name = pod["metadata"]["name"]
        own_events = [event for event in events if event.get("involvedObject", {}).get("name") == name]
        files[f"describe/{name}.txt"] = describe_pod(pod, own_events).encode("utf-8")
        restarts = {item["name"]: item.get("restartCount", 0) for item in pod.get("status", {}).get("containerStatuses", [])}
        for container in pod.get("spec", {}).get("containers", []):
            cname = container["name"]
            try:
                files[f"logs/{name}/{cname}.log"] = kube.logs(name, cname, tail_lines, since_minutes * 60).encode("utf-8")
            except Exception as error:  # noqa: BLE001 - one unreadable log must not lose the bundle
                problems.append(f"logs {name}/{cname}: {_api_problem(error)}")
            if restarts.get(cname, 0):
                try:
                    files[f"logs/{name}/{cname}.previous.log"] = kube.logs(name, cname, tail_lines, since_minutes * 60, True).encode(
                        "utf-8"
                    )
                except Exception as error:  # noqa: BLE001
                    problems.append(f"previous logs {name}/{cname}: {_api_problem(error)}")
    try:
        files["prometheus/alerts.json"] = json.dumps(kube.prometheus("api/v1/alerts"), indent=2, sort_keys=True).encode("utf-8")
        targets = kube.prometheus("api/v1/targets")
        jobs = {component.name for component in components}
        active = [item for item in targets.get("data", {}).get("activeTargets", []) if item.get("labels", {}).get("job") in jobs]
        files["prometheus/targets.json"] = json.dumps(active, indent=2, sort_keys=True).encode("utf-8")
    except Exception as error:  # noqa: BLE001 - the cluster state is worth uploading without Prometheus
        problems.append(f"prometheus: {_api_problem(error)}")
        files["prometheus/error.txt"] = f"{_api_problem(error)}\n".encode()
    return files, problems


def summary(target: Target, label: str, moment: datetime, kube: Kube, files: dict[str, bytes], problems: list[str]) -> bytes:
    pods = yaml.safe_load(files["pods.yaml"]) or []
    not_ready = [
        pod["metadata"]["name"]
        for pod in pods
        if not all(item.get("ready") for item in pod.get("status", {}).get("containerStatuses", [{}]))
    ]
    firing = []
    if "prometheus/alerts.json" in files:
        alerts = json.loads(files["prometheus/alerts.json"]).get("data", {}).get("alerts", [])
        firing = sorted({alert["labels"].get("alertname", "?") for alert in alerts if alert.get("state") == "firing"})
    lines = [
        f"environment:   {target.env}",
        f"component:     {label}",
        f"collected at:  {iso(moment)}",
        f"cluster:       {target.names.cluster_name} (context {kube.context})",
        f"pods:          {len(pods)} ({len(not_ready)} not ready{': ' + ', '.join(not_ready) if not_ready else ''})",
        f"firing alerts: {', '.join(firing) or 'none'}",
        "problems while collecting:",
        *[f"  - {problem}" for problem in problems or ["none"]],
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def collect(target: Target, kube: Kube, component: Component | None, since_minutes: int, tail_lines: int, keep_local: Path | None) -> str:
    moment = now()
    components = [component] if component else list(COMPONENTS)
    label = component.name if component else "all"
    root = f"{target.env}-{label}-{stamp(moment)}"
    step(f"collecting {label} from {target.names.cluster_name} (last {since_minutes} min, {tail_lines} log lines per container)")
    files, problems = gather(kube, components, since_minutes, tail_lines)
    files["summary.txt"] = summary(target, label, moment, kube, files, problems)
    bundle = _tarball(root, files, moment)
    if keep_local is not None:
        keep_local.mkdir(parents=True, exist_ok=True)
        (keep_local / f"{root}.tar.gz").write_bytes(bundle)
    bucket, key = target.names.bucket("diagnostics"), target.names.incident_bundle_key(label, stamp(moment))
    step(f"uploading {len(files)} files ({len(bundle)} bytes)")
    target.aws.client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=bundle,
        ContentType="application/gzip",
        Metadata={"environment": target.env, "component": label, "collected-at": iso(moment)},
    )
    for problem in problems:
        say(f"    note: {problem}")
    uri = f"s3://{bucket}/{key}"
    say(uri)
    return uri
