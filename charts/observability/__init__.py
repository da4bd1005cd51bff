"""Observability content of the Kubernetes layer as plain Python data: metric names and PromQL
(`promql`), the alert and recording rules (`rules`), the alert routing tree (`routing`) and the
Grafana dashboard (`dashboard`). The charts turn them into objects; the tests feed the same data to
promtool and amtool."""
