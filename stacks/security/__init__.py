"""`<env>-security`: GuardDuty, CloudTrail with the CIS alarms, Security Hub and AWS Config."""
