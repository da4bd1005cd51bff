"""Karpenter's EC2NodeClass and NodePool for the application nodes, from `spec.node_autoscaling`.

Field meanings are the CRDs' at aws/karpenter-provider-aws v1.14.1 (crds/karpenter.*.yaml) and the
disruption concepts page (`website/content/en/docs/concepts/disruption.md`): budgets rate-limit only
the voluntary methods (Drifted, Underutilized, Empty); their `schedule` is a cron in UTC ("Timezones
are not currently supported"); expiration is forceful and not held back by budgets, though its
drain still goes through the Eviction API and so respects the PodDisruptionBudgets.
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.models import BusinessHours
from envspec.naming import KARPENTER_DISCOVERY_TAG, KARPENTER_NODE_CLASS, KARPENTER_NODE_POOL, NODE_ROLE_LABEL
from imports.aws.k8s import karpenter as aws
from imports.sh import karpenter as sh

ROOT_DEVICE = "/dev/xvda"  # root device of the EKS-optimized AL2023 AMIs
Reasons = sh.NodePoolSpecDisruptionBudgetsReasons


def business_hours_schedule(hours: BusinessHours) -> tuple[str, str]:
    """(cron in UTC, duration) of a budget window covering the local business day."""
    start_utc = hours.start_hour - hours.timezone_offset_hours
    day_shift, hour = divmod(start_utc, 24)
    days = "*" if not hours.weekdays_only else f"{1 + day_shift}-{5 + day_shift}"
    return f"0 {hour} * * {days}", f"{hours.end_hour - hours.start_hour}h"


def disruption_budgets(spec: EnvironmentSpec) -> list[sh.NodePoolSpecDisruptionBudgets]:
    settings = spec.node_autoscaling
    budgets = [sh.NodePoolSpecDisruptionBudgets(nodes=settings.disruption_budget_nodes)]
    if settings.business_hours is not None:
        schedule, duration = business_hours_schedule(settings.business_hours)
        # Empty nodes hold no pods: removing them in the business day disturbs nobody.
        budgets.append(
            sh.NodePoolSpecDisruptionBudgets(
                nodes="0", reasons=[Reasons.UNDERUTILIZED, Reasons.DRIFTED], schedule=schedule, duration=duration
            )
        )
    return budgets


def node_class(scope: Construct, *, spec: EnvironmentSpec, names: Names) -> aws.Ec2NodeClass:
    settings = spec.node_autoscaling
    discovery = [{KARPENTER_DISCOVERY_TAG: names.cluster_name}]
    return aws.Ec2NodeClass(
        scope,
        "node_class",
        metadata=ApiObjectMetadata(name=KARPENTER_NODE_CLASS),
        spec=aws.Ec2NodeClassSpec(
            role=names.karpenter_node_role,
            ami_selector_terms=[aws.Ec2NodeClassSpecAmiSelectorTerms(alias=settings.image_alias)],
            subnet_selector_terms=[aws.Ec2NodeClassSpecSubnetSelectorTerms(tags=tags) for tags in discovery],
            security_group_selector_terms=[aws.Ec2NodeClassSpecSecurityGroupSelectorTerms(tags=tags) for tags in discovery],
            # 1: pods cannot reach the node's instance credentials; they use Pod Identity.
            metadata_options=aws.Ec2NodeClassSpecMetadataOptions(
                http_endpoint=aws.Ec2NodeClassSpecMetadataOptionsHttpEndpoint.ENABLED,
                http_protocol_i_pv6=aws.Ec2NodeClassSpecMetadataOptionsHttpProtocolIPv6.DISABLED,
                http_put_response_hop_limit=1,
                http_tokens=aws.Ec2NodeClassSpecMetadataOptionsHttpTokens.REQUIRED,
            ),
            block_device_mappings=[
                aws.Ec2NodeClassSpecBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    root_volume=True,
                    ebs=aws.Ec2NodeClassSpecBlockDeviceMappingsEbs(
                        volume_size=f"{settings.disk_size_gib}Gi",
                        volume_type=aws.Ec2NodeClassSpecBlockDeviceMappingsEbsVolumeType.GP3,
                        encrypted=True,
                        # The cluster stack's key, by its alias (EC2 accepts an alias ARN as KmsKeyId).
                        kms_key_id=names.kms_alias_arn("cluster"),
                        delete_on_termination=True,
                    ),
                )
            ],
        ),
    )


def node_pool(scope: Construct, *, spec: EnvironmentSpec) -> sh.NodePool:
    settings = spec.node_autoscaling
    op = sh.NodePoolSpecTemplateSpecRequirementsOperator.IN
    requirements = [
        ("kubernetes.io/arch", settings.architectures),
        ("kubernetes.io/os", ("linux",)),
        ("karpenter.sh/capacity-type", settings.capacity_types),
        ("karpenter.k8s.aws/instance-family", settings.instance_families),
        ("karpenter.k8s.aws/instance-size", settings.instance_sizes),
    ]
    policy = sh.NodePoolSpecDisruptionConsolidationPolicy
    return sh.NodePool(
        scope,
        "node_pool",
        metadata=ApiObjectMetadata(name=KARPENTER_NODE_POOL),
        spec=sh.NodePoolSpec(
            template=sh.NodePoolSpecTemplate(
                metadata=sh.NodePoolSpecTemplateMetadata(labels={NODE_ROLE_LABEL: "application"}),
                spec=sh.NodePoolSpecTemplateSpec(
                    node_class_ref=sh.NodePoolSpecTemplateSpecNodeClassRef(
                        group="karpenter.k8s.aws", kind="EC2NodeClass", name=KARPENTER_NODE_CLASS
                    ),
                    requirements=[
                        sh.NodePoolSpecTemplateSpecRequirements(key=key, operator=op, values=list(values)) for key, values in requirements
                    ],
                    expire_after=settings.expire_after,
                ),
            ),
            limits={
                "cpu": sh.NodePoolSpecLimits.from_string(str(settings.cpu_limit)),
                "memory": sh.NodePoolSpecLimits.from_string(f"{settings.memory_limit_gib}Gi"),
            },
            disruption=sh.NodePoolSpecDisruption(
                consolidation_policy=policy.WHEN_EMPTY
                if settings.consolidation_policy == "WhenEmpty"
                else policy.WHEN_EMPTY_OR_UNDERUTILIZED,
                consolidate_after=settings.consolidate_after,
                budgets=disruption_budgets(spec),
            ),
        ),
    )
