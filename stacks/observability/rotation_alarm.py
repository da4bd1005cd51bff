"""The alarm on the database login rotation function (`<env>-data`, stacks/data/rotation.py).

Secrets Manager calls the function once per rotation step; any step that raises is a Lambda error
and leaves AWSCURRENT where it was (the pods keep the login they have). The function runs only in
the rotation window, so no datapoint is the healthy state. The function is watched by its
deterministic name, so this stack reads nothing from the data stack.
"""

from __future__ import annotations

from envspec import Names
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData


def login_rotation_alarm(names: Names) -> AlarmDefinition:
    function = names.login_rotation_function
    return AlarmDefinition(
        purpose="db-login-rotation-errors",
        summary=f"The database login rotation ({function}) failed a step: the logins were not rotated and AWSCURRENT is unchanged.",
        comparison="GreaterThanThreshold",
        threshold=0,
        period=3600,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        missing=MissingData("notBreaching", "Lambda publishes Errors only while the function runs, in the rotation window"),
        runbook=("aws-database-login-rotation", "errors"),
        metric=Metric("AWS/Lambda", "Errors", {"FunctionName": function}, "Sum"),
    )
