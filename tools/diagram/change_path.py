"""The path of a change, from the workflows' own job graph (.github/workflows/*.yml).

Each workflow that a change passes through becomes a box of its jobs, with an arrow for every
`needs:`; a job that calls a reusable workflow (`uses: ./.github/workflows/<file>`) holds that
workflow's jobs. The two workflows are joined where the repository joins them: a merge to `main`
(pull-request.yml runs on `pull_request`, deploy.yml on `push`). After the publish job the manifests
are on the GitOps branch the Argo CD Applications track (their `targetRevision`, from dist/<env>/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tools.diagram.dot import Cluster, Graph

# The workflows of a change to this repository, in the order a change meets them.
CHANGE_WORKFLOWS = ("pull-request.yml", "deploy.yml")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _label(job_id: str, job: dict[str, Any]) -> str:
    name = EXPRESSION.sub(lambda match: "<" + match.group(1).rsplit(".", 1)[-1] + ">", str(job.get("name", job_id)))
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    gate = f"\nenvironment {EXPRESSION.sub(lambda m: '<' + m.group(1).rsplit('.', 1)[-1] + '>', str(environment))}" if environment else ""
    return f"{name}{gate}"


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _jobs(graph: Graph, box: Cluster, workflows: Path, file: str, prefix: str) -> tuple[list[str], list[str], list[str]]:
    """Add a workflow's jobs into `box`; returns its first jobs (no needs), its last (nobody needs
    them) and the last jobs of every reusable workflow it calls (where a deploy ends)."""
    jobs = _load(workflows / file)["jobs"]
    ends: dict[str, tuple[list[str], list[str]]] = {}
    called_ends: list[str] = []
    for job_id, job in jobs.items():
        called = job.get("uses", "")
        if called.startswith("./.github/workflows/"):
            inner = box.cluster(
                f"{prefix}{job_id}", f"job {job_id}: {_label(job_id, job)} ({Path(called).name})", style="dashed", color="#616161"
            )
            first, last, _ = _jobs(graph, inner, workflows, Path(called).name, f"{prefix}{job_id}.")
            ends[job_id] = (first, last)
            called_ends += last
        else:
            node = box.node(f"{prefix}{job_id}", _label(job_id, job))
            ends[job_id] = ([node], [node])
    needed = {need for job in jobs.values() for need in _needs(job)}
    for job_id, job in jobs.items():
        for need in _needs(job):
            for tail in ends[need][1]:
                for head in ends[job_id][0]:
                    graph.edge(tail, head)
    first = [node for job_id, job in jobs.items() if not _needs(job) for node in ends[job_id][0]]
    last = [node for job_id in jobs if job_id not in needed for node in ends[job_id][1]]
    return first, last, called_ends


# The job of deploy-environment.yml that renders the manifests and pushes them to the GitOps branch.
PUBLISH_JOB = "publish"


def _gitops_revision(kubernetes_dir: Path, env: str) -> str:
    for doc in yaml.safe_load_all((kubernetes_dir / env / "gitops.k8s.yaml").read_text(encoding="utf-8")):
        if doc and doc["kind"] == "Application" and "source" in doc["spec"]:
            return str(doc["spec"]["source"]["targetRevision"]).replace(env, "<env>")
    raise ValueError(f"no Argo CD Application in {kubernetes_dir / env / 'gitops.k8s.yaml'}")


def change_path(workflows: Path, kubernetes_dir: Path, env: str) -> Graph:
    graph = Graph(
        "change-path",
        graph={
            "rankdir": "LR",
            "fontname": "Helvetica",
            "fontsize": "11",
            "labelloc": "t",
            "label": "the path of a change, from the workflows' job graph (make diagram)",
        },
        node_defaults={"fontname": "Helvetica", "fontsize": "10", "shape": "box", "style": "rounded"},
        edge_defaults={"color": "#1f5fa8", "fontname": "Helvetica", "fontsize": "9"},
    )
    previous = [graph.node("pull-request", "pull request", shape="oval")]
    for index, file in enumerate(CHANGE_WORKFLOWS):
        workflow = _load(workflows / file)
        triggers = workflow.get(True, workflow.get("on", {}))
        box = graph.cluster(file.removesuffix(".yml"), f"{file} (on: {', '.join(sorted(map(str, triggers)))})", color="#424242")
        first, last, deploys = _jobs(graph, box, workflows, file, f"{file}.")
        if index:
            merge = graph.node("merge", "merge to main", shape="oval")
            for tail in previous:
                graph.edge(tail, merge)
            previous = [merge]
        for head in first:
            for tail in previous:
                graph.edge(tail, head)
        previous = deploys or last
    branch = graph.node("gitops-branch", f"GitOps branch\n{_gitops_revision(kubernetes_dir, env)}", shape="folder")
    argocd = graph.node("argocd", "Argo CD\n(syncs the cluster)", shape="oval")
    # The push comes from the deploy workflow's publishing job, not from a job that runs after it.
    pushers = dict.fromkeys(f"{tail.rsplit('.', 1)[0]}.{PUBLISH_JOB}" for tail in previous)
    for tail in pushers:
        graph.edge(tail, branch, label="push")
    graph.edge(branch, argocd, label="watch")
    return graph
