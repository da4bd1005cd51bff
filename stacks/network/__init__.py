"""The `<env>-network` stack: VPC, subnets, routing, flow logs and VPC endpoints."""
