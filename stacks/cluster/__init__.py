"""The `<env>-cluster` stack: EKS control plane, managed node groups, add-ons, controller identities."""
