"""`<env>-observability`: the infrastructure alarms and the topic they notify."""
