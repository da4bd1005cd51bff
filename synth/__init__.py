"""Synthesis entry point shared by `make synth`, `cdktf synth` and `cdk8s synth`."""
