"""The web ACL's rules, in the WAF API's JSON form (the provider's `rule_json`: a statement nested
deeper than the provider's typed blocks allow needs it, and a string cannot lose nested blocks).

Order (lower priority first): the per-IP rate limits, the declared-size limit, then AWS's managed
rule groups. Facts the rules rely on (AWS WAF developer guide):
- On an ALB, WAF inspects only the first 8 KB of a body ("Inspecting the request body"); the common
  rule set's `SizeRestrictions_BODY` blocks every body over 8 KB ("Baseline rule groups", core rule
  set), which would block every document upload. It is set to Count (it then only labels the
  request `awswaf:managed:aws:core-rule-set:SizeRestrictions_Body`), and a rule after the group
  blocks labelled requests outside the upload paths, so only those paths take large bodies.
- WAF cannot see past 8 KB of a body, so the upload ceiling is enforced on the declared
  `Content-Length` header (headers are inspected up to 8 KB): a regular expression matching
  decimal numbers greater than the limit.
- The SQL-database rule group guards the API only (a scope-down to `/api`).
"""

from __future__ import annotations

from typing import Any

from envspec.models import Waf

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
SQL_DATABASE = "AWSManagedRulesSQLiRuleSet"
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
API_PREFIX = "/api"
RATE_WINDOW_SECONDS = 300


def greater_than_pattern(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers greater than `limit` (leading zeros allowed)."""
    digits = str(limit)
    branches = [rf"[1-9]\d{{{len(digits)},}}"]  # more digits than the limit
    for index, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - index - 1
            branches.append(digits[:index] + f"[{int(digit) + 1}-9]" + (rf"\d{{{rest}}}" if rest else ""))
    return rf"^0*(?:{'|'.join(branches)})$"


def _visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def _starts_with(prefix: str) -> dict[str, Any]:
    return {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            "PositionalConstraint": "STARTS_WITH",
            "SearchString": prefix,
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


def _any_of(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return statements[0] if len(statements) == 1 else {"OrStatement": {"Statements": statements}}


def _managed(name: str, priority: int, count_only: bool, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": priority,
        "OverrideAction": {"Count": {}} if count_only else {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name, **extra}},
        "VisibilityConfig": _visibility(name),
    }


def web_acl_rules(settings: Waf) -> list[dict[str, Any]]:
    block = {"Count": {}} if settings.count_only else {"Block": {}}
    max_bytes = settings.max_upload_mib * 1024 * 1024
    uploads = _any_of([_starts_with(prefix) for prefix in settings.upload_path_prefixes])
    return [
        {
            "Name": "rate-limit-per-ip",
            "Priority": 0,
            "Action": block,
            "Statement": {
                "RateBasedStatement": {
                    "Limit": settings.rate_limit_per_5m,
                    "AggregateKeyType": "IP",
                    "EvaluationWindowSec": RATE_WINDOW_SECONDS,
                }
            },
            "VisibilityConfig": _visibility("rate-limit-per-ip"),
        },
        {
            "Name": "api-rate-limit-per-ip",
            "Priority": 1,
            "Action": block,
            "Statement": {
                "RateBasedStatement": {
                    "Limit": settings.api_rate_limit_per_5m,
                    "AggregateKeyType": "IP",
                    "EvaluationWindowSec": RATE_WINDOW_SECONDS,
                    "ScopeDownStatement": _starts_with(API_PREFIX),
                }
            },
            "VisibilityConfig": _visibility("api-rate-limit-per-ip"),
        },
        {
            "Name": "declared-body-over-upload-limit",
            "Priority": 2,
            "Action": block,
            "Statement": {
                "RegexMatchStatement": {
                    "RegexString": greater_than_pattern(max_bytes),
                    "FieldToMatch": {"SingleHeader": {"Name": "content-length"}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            },
            "VisibilityConfig": _visibility("declared-body-over-upload-limit"),
        },
        _managed(IP_REPUTATION, 10, settings.count_only),
        _managed(
            COMMON_RULE_SET,
            20,
            settings.count_only,
            RuleActionOverrides=[{"Name": BODY_SIZE_RULE, "ActionToUse": {"Count": {}}}],
        ),
        {
            "Name": "body-over-8kb-outside-uploads",
            "Priority": 21,
            "Action": block,
            "Statement": {
                "AndStatement": {
                    "Statements": [
                        {"LabelMatchStatement": {"Scope": "LABEL", "Key": BODY_SIZE_LABEL}},
                        {"NotStatement": {"Statement": uploads}},
                    ]
                }
            },
            "VisibilityConfig": _visibility("body-over-8kb-outside-uploads"),
        },
        _managed(KNOWN_BAD_INPUTS, 30, settings.count_only),
        _managed(SQL_DATABASE, 40, settings.count_only, ScopeDownStatement=_starts_with(API_PREFIX)),
    ]
