"""Monthly cost estimate of the synthesized Terraform output, from prices kept as data.

`python -m tools.cost` (`make cost`) reads `cdktf.out/stacks/*/cdk.tf.json`, prices every resource
by its type and its provider's region (`prices/<region>.yaml`), adds the Karpenter nodes the
NodePool's limits allow, and prints per environment and stack the monthly cost. Usage the output
cannot say comes from each environment's `cost.usage` (envspec/cost.py). A resource type with no
rule is listed "not priced", never counted as zero; see docs/cost.md.
"""
