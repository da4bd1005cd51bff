"""`<env>-edge`: the WAF, the ALB access logs, the hosted zone and the certificate."""
