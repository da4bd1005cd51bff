"""`PublicIngress`: the internet-facing ALB in front of the frontend and the backend.

The AWS Load Balancer Controller reads the annotations: HTTPS on 443 with a TLS 1.2+ policy and the
edge stack's ACM certificate, which the controller discovers by the Ingress's hosts (no
`certificate-arn`: "Certificate Discovery" in the controller's ingress annotations guide); HTTP on
80 answered by a redirect to HTTPS; targets registered by pod IP (so the ALB reaches pods from the
public subnets directly; the network policies allow exactly that); invalid header fields dropped;
access logs written to the edge stack's bucket; the edge stack's WAF web ACL attached by name
(`wafv2-acl-name`: the controller resolves it with `wafv2:ListWebACLs`, pkg/ingress/model_builder.go
`webACLNameToArnMapper`; the ACL's ARN ends in a generated id). The frontend host serves the
frontend at `/` and the backend at `/api`; the API host serves `/api`.

With a standby (envspec/dr.py) each side's Ingress also serves its origin host (`/api` only), and
ExternalDNS writes only that host's record (`ingress-hostname-source: annotation-only` with the
`hostname` annotation; kubernetes-sigs/external-dns v0.21.0 source/ingress.go): the public hosts are
the failover records of `<env>-dr-dns` (stacks/edge/failover.py), which ExternalDNS must not fight over.
"""

from __future__ import annotations

import json

from cdk8s_plus_27 import k8s
from constructs import Construct

from envspec.naming import HTTP_PORT_NAME, INGRESS_CLASS, INGRESS_NAME, Names
from envspec.topology import BACKEND, FRONTEND, Component

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 only
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
EXTERNAL_DNS_HOSTNAME_SOURCE = "external-dns.alpha.kubernetes.io/ingress-hostname-source"
API_PATH = "/api"


def alb_annotations(names: Names) -> dict[str, str]:
    spec = names.spec
    attributes = {
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "deletion_protection.enabled": "true" if spec.edge.load_balancer_deletion_protection else "false",
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": names.alb_access_log_bucket,
        "access_logs.s3.prefix": names.alb_access_log_prefix,
    }
    tags = {key: value for key, value in names.tags().items() if key in ("Environment", "Project")}
    prefix = "alb.ingress.kubernetes.io"
    external_dns = {EXTERNAL_DNS_HOSTNAME: names.origin_host, EXTERNAL_DNS_HOSTNAME_SOURCE: "annotation-only"} if names.origin_host else {}
    return {
        **external_dns,
        f"{prefix}/load-balancer-name": names.load_balancer_name,
        f"{prefix}/scheme": "internet-facing",
        f"{prefix}/target-type": "ip",
        f"{prefix}/ip-address-type": "ipv4",
        f"{prefix}/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}], separators=(",", ":")),
        f"{prefix}/ssl-redirect": "443",
        f"{prefix}/ssl-policy": SSL_POLICY,
        f"{prefix}/backend-protocol": "HTTP",
        f"{prefix}/load-balancer-attributes": ",".join(f"{key}={value}" for key, value in attributes.items()),
        f"{prefix}/target-group-attributes": "deregistration_delay.timeout_seconds=30",
        f"{prefix}/wafv2-acl-name": names.web_acl,
        f"{prefix}/tags": ",".join(f"{key}={value}" for key, value in tags.items()),
    }


def _path(path: str, component: Component) -> k8s.HttpIngressPath:
    return k8s.HttpIngressPath(
        path=path,
        path_type="Prefix",
        backend=k8s.IngressBackend(
            service=k8s.IngressServiceBackend(name=component.service_name, port=k8s.ServiceBackendPort(name=HTTP_PORT_NAME))
        ),
    )


class PublicIngress(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, labels: dict[str, str]):
        super().__init__(scope, construct_id)
        dns = names.spec.dns
        # Most specific path first: the controller creates listener rules in this order.
        frontend_host = [_path(API_PATH, BACKEND), _path("/", FRONTEND)]
        api_host = [_path(API_PATH, BACKEND)]
        self.ingress = k8s.KubeIngress(
            self,
            "ingress",
            metadata=k8s.ObjectMeta(name=INGRESS_NAME, labels=labels, annotations=alb_annotations(names)),
            spec=k8s.IngressSpec(
                ingress_class_name=INGRESS_CLASS,
                rules=[
                    k8s.IngressRule(host=dns.frontend_host, http=k8s.HttpIngressRuleValue(paths=frontend_host)),
                    k8s.IngressRule(host=dns.api_host, http=k8s.HttpIngressRuleValue(paths=api_host)),
                    # The origin host: what the Route 53 health check requests (Host header and SNI).
                    *(
                        [k8s.IngressRule(host=names.origin_host, http=k8s.HttpIngressRuleValue(paths=[_path(API_PATH, BACKEND)]))]
                        if names.origin_host
                        else []
                    ),
                ],
            ),
        )
