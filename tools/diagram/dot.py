"""A small DOT writer: nodes, edges and nested clusters, emitted in the order they were added, so
the same input always gives the same text (and, for one Graphviz version, the same picture)."""

from __future__ import annotations

from dataclasses import dataclass, field


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attributes(values: dict[str, str]) -> str:
    return "[" + ", ".join(f"{key}={quote(value)}" for key, value in values.items()) + "]" if values else ""


@dataclass
class Cluster:
    name: str
    label: str
    style: dict[str, str] = field(default_factory=dict)
    nodes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)

    def node(self, node_id: str, label: str, **style: str) -> str:
        self.nodes.append((node_id, {"label": label, **style}))
        return node_id

    def cluster(self, name: str, label: str, **style: str) -> Cluster:
        child = Cluster(name, label, style)
        self.clusters.append(child)
        return child

    def lines(self, indent: str) -> list[str]:
        out = [f"{indent}subgraph {quote('cluster_' + self.name)} {{", f"{indent}  label={quote(self.label)};"]
        out += [f"{indent}  {key}={quote(value)};" for key, value in self.style.items()]
        out += [f"{indent}  {quote(node_id)} {attributes(style)};" for node_id, style in self.nodes]
        for child in self.clusters:
            out += child.lines(indent + "  ")
        return [*out, f"{indent}}}"]


@dataclass
class Graph:
    name: str
    graph: dict[str, str] = field(default_factory=dict)
    node_defaults: dict[str, str] = field(default_factory=dict)
    edge_defaults: dict[str, str] = field(default_factory=dict)
    root: Cluster = field(default_factory=lambda: Cluster("root", ""))
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def node(self, node_id: str, label: str, **style: str) -> str:
        return self.root.node(node_id, label, **style)

    def cluster(self, name: str, label: str, **style: str) -> Cluster:
        return self.root.cluster(name, label, **style)

    def edge(self, tail: str, head: str, **style: str) -> None:
        self.edges.append((tail, head, style))

    def source(self) -> str:
        known = self._node_ids(self.root)
        missing = sorted({end for tail, head, _ in self.edges for end in (tail, head)} - known)
        if missing:
            raise ValueError(f"{self.name}: edges name nodes that were never added: {', '.join(missing)}")
        out = [f"digraph {quote(self.name)} {{"]
        out += [f"  {key}={quote(value)};" for key, value in self.graph.items()]
        out.append(f"  node {attributes(self.node_defaults)};")
        out.append(f"  edge {attributes(self.edge_defaults)};")
        out += [f"  {quote(node_id)} {attributes(style)};" for node_id, style in self.root.nodes]
        for child in self.root.clusters:
            out += child.lines("  ")
        out += [f"  {quote(tail)} -> {quote(head)} {attributes(style)};" for tail, head, style in self.edges]
        return "\n".join([*out, "}"]) + "\n"

    @staticmethod
    def _node_ids(cluster: Cluster) -> set[str]:
        found = {node_id for node_id, _ in cluster.nodes}
        for child in cluster.clusters:
            found |= Graph._node_ids(child)
        return found
