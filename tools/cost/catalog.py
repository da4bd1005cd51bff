"""Resource types that cost nothing by themselves, and those billed only by use this estimate does
not assume. Each entry says why; a type in neither this catalog nor tools.cost.rules is "not priced"."""

from __future__ import annotations

FREE: dict[str, str] = {
    **dict.fromkeys(
        ("aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy", "aws_iam_instance_profile",
         "aws_iam_openid_connect_provider"),
        "IAM has no charge",
    ),
    **dict.fromkeys(
        ("aws_vpc", "aws_subnet", "aws_route", "aws_route_table", "aws_route_table_association", "aws_network_acl",
         "aws_default_network_acl", "aws_default_security_group", "aws_security_group", "aws_vpc_security_group_ingress_rule",
         "aws_vpc_security_group_egress_rule", "aws_internet_gateway", "aws_ec2_tag", "aws_launch_template"),
        "VPC configuration has no charge (traffic is priced at the NAT gateways and endpoints; instances at their node group)",
    ),
    "aws_flow_log": "the flow log's cost is its log group's ingestion and storage",
    **dict.fromkeys(
        ("aws_eks_access_entry", "aws_eks_access_policy_association", "aws_eks_addon", "aws_eks_pod_identity_association"),
        "no charge beyond the cluster's hours (EKS pricing)",
    ),
    **dict.fromkeys(
        ("aws_db_subnet_group", "aws_db_parameter_group", "aws_db_event_subscription", "aws_elasticache_subnet_group",
         "aws_elasticache_parameter_group"),
        "configuration of the database or cache, no charge",
    ),
    **dict.fromkeys(
        ("aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_logging", "aws_s3_bucket_ownership_controls", "aws_s3_bucket_policy",
         "aws_s3_bucket_public_access_block", "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning",
         "aws_s3_bucket_object_lock_configuration"),
        "bucket configuration, no charge (storage is priced at the bucket)",
    ),
    "aws_kms_alias": "aliases are free (AWS KMS pricing)",
    "aws_secretsmanager_secret_version": "versions are included in the secret's monthly price",
    "aws_lambda_permission": "a resource policy, no charge",
    "aws_sqs_queue_policy": "a resource policy, no charge",
    "aws_sns_topic_policy": "a resource policy, no charge",
    "aws_config_delivery_channel": "delivery is priced as the bucket's storage",
    "aws_config_configuration_recorder_status": "the recorder is priced per configuration item",
    "aws_cloudwatch_event_rule": "EventBridge does not charge for AWS service events on the default bus or for scheduled rules",
    "aws_cloudwatch_event_target": "EventBridge targets have no charge",
    "aws_wafv2_web_acl_logging_configuration": "the logs are priced at their log group",
    "aws_acm_certificate": "public ACM certificates are free",
    "aws_acm_certificate_validation": "a wait for validation, no AWS resource",
    "aws_route53_record": "records are included in the hosted zone (queries to alias records of AWS resources are free)",
    "aws_backup_selection": "storage is priced at the vault",
    "aws_backup_vault_notifications": "no charge (SNS delivery is usage)",
    "aws_backup_vault_lock_configuration": "no charge",
    "aws_securityhub_standards_subscription": "checks are priced at the Security Hub account line",
    "aws_budgets_budget": "the first two budgets of an account are free, and each environment has its own account (AWS Budgets pricing)",
    "aws_ce_anomaly_monitor": "Cost Anomaly Detection has no charge",
    "aws_ce_anomaly_subscription": "Cost Anomaly Detection has no charge",
    "aws_ce_cost_allocation_tag": "activating a cost allocation tag has no charge (AWS Billing User Guide, cost allocation tags)",
    "aws_secretsmanager_secret_rotation": "rotation is included in the secret's price; its function is priced as aws_lambda_function",
    "aws_cloudwatch_query_definition": "a saved query costs nothing; running it is billed per GB scanned, like any Logs Insights query",
}  # fmt: skip

USAGE_ONLY: dict[str, str] = {
    "aws_sns_topic": "billed per publish and delivery; the first million requests a month are free",
    "aws_sns_topic_subscription": "billed per delivery (email and Lambda deliveries at alarm volumes are within the free tier)",
    "aws_sqs_queue": "billed per request; the first million a month are free",
    "aws_lambda_function": "billed per request and GB-second; alarm forwarding stays within the free tier",
    "aws_backup_plan": "storage is priced at each vault; cross-region copies also bill their transfer per GB, not assumed here",
    "aws_guardduty_detector_feature": "EKS audit logs, runtime monitoring (per vCPU), S3 data events and RDS login events are billed by "
    "volume analysed; no assumption in cost.usage yet",
}
