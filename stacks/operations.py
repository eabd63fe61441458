"""Operations: the stack's own component for its CloudWatch dashboard and its alarms.

It belongs to the stack program, not to the component library (``infra/``): what it takes is
the other components' parts of the dashboard and their alarms, built by ``infra.operations``
from those components' Python values, so no program in another language could hand it them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from app.contracts.names import ResourceNames
from infra._common import declared_outputs, standard_tags
from infra.operations import AlarmSpec, AlarmStatus, Section, dashboard_body, metric_alarm


@dataclass(frozen=True)
class OperationsArgs:
    """What the stack's dashboard shows and what its alarms watch."""

    names: ResourceNames
    """Shared names: the dashboard is named after the prefix, each alarm ``<prefix>-<spec name>``."""
    sections: Sequence[Section]
    """The components' parts of the dashboard (their ``widgets()``), top to bottom."""
    alarms: Sequence[AlarmSpec]
    """The components' alarms (their ``alarms(thresholds)``)."""
    alarm_topic_arn: pulumi.Input[str] | None = None
    """The SNS topic every alarm notifies; ``None``: the alarms only change state on the dashboard."""
    owner: str = "platform"
    """The ``owner`` tag."""


class Operations(pulumi.ComponentResource):
    """The stack's dashboard (an alarm overview, then each component's section) and its alarms."""

    dashboard_name: pulumi.Output[str]
    dashboard: aws.cloudwatch.Dashboard
    """The dashboard (``alarms`` holds the alarms, in the order of their specs)."""

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reelstack:stack:Operations", name, None, opts)
        tags = standard_tags("operations", args.owner)
        actions = [args.alarm_topic_arn] if args.alarm_topic_arn is not None else []
        self.alarms: list[aws.cloudwatch.MetricAlarm] = [
            metric_alarm(
                f"{name}-{spec.name}",
                self,
                spec,
                actions=actions,
                tags=tags,
                alarm_name=f"{args.names.prefix}-{spec.name}",
            )
            for spec in args.alarms
        ]
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        overview = Section("Alarms", [AlarmStatus("alarms", [a.arn for a in self.alarms])])
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.names.prefix,
            dashboard_body=pulumi.Output.json_dumps(dashboard_body([overview, *args.sections], region)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs(declared_outputs(self))
