"""cdk8s charts for the Kubernetes layer, one output folder per environment (`dist/<env>/`)."""
