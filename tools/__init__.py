"""Project tooling: CRD imports, Terraform CLI configuration, checkov gate, benchmark."""
