"""The alarm on Karpenter's interruption queue: messages that nobody consumes.

Karpenter deletes each message once handled (`sqs:DeleteMessage` in its policy), so the oldest
message's age stays near zero while the controller runs. Upstream keeps messages 300 s (the queue's
retention, stacks/cluster/karpenter.py); a message 120 s old has outlived a spot warning's two minutes.
The queue is watched by its deterministic name, so this stack reads nothing from the cluster stack.
"""

from __future__ import annotations

from envspec import Names
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData

OLDEST_MESSAGE_SECONDS = 120


def interruption_queue_alarm(names: Names) -> AlarmDefinition:
    queue = names.karpenter_interruption_queue
    return AlarmDefinition(
        purpose="karpenter-interruption-queue-age",
        summary=f"Interruption messages on {queue} are not being consumed: Karpenter does not drain nodes before EC2 reclaims them.",
        comparison="GreaterThanThreshold",
        threshold=OLDEST_MESSAGE_SECONDS,
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        missing=MissingData(
            "notBreaching",
            "SQS stops publishing the metrics of a queue that has been empty and unused for six hours, the healthy state here",
        ),
        runbook=("aws-sqs-interruption-queue", "oldest-message-age"),
        metric=Metric("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue}, "Maximum"),
    )
