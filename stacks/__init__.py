"""cdktf stacks for the AWS layer, one Terraform state per `<env>-<layer>` stack."""

from stacks.aws_bindings import install_lean_provider_package

install_lean_provider_package()
