"""Mail and alarms: a user pool mails through SES, and every alarm has someone to tell.

Cognito's own sender allows a user pool only a few emails a day (AWS: "For typical production
environments, the default email limit is below the required delivery volume"), after which
sign-ups and password resets fail; an alarm without actions changes state unseen.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._support import as_list, is_false, known

USER_POOL = "aws:cognito/userPool:UserPool"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _cognito_ses(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != USER_POOL:
        return
    email = known(args.props, "emailConfiguration") or {}
    if email.get("emailSendingAccount") != "DEVELOPER" or not email.get("sourceArn"):
        report(
            f"user pool {args.name} mails through Cognito's default sender, which allows only a few "
            "emails a day; send through a verified SES identity (emailSendingAccount DEVELOPER, "
            "sourceArn; stack config emailSourceArn and emailFrom)",
            None,
        )


def _alarm_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ALARM:
        return
    if not as_list(known(args.props, "alarmActions")) or is_false(known(args.props, "actionsEnabled")):
        report(
            f"alarm {args.name} has no enabled alarm action: nobody hears when it fires "
            "(stack config alarmTopicArn names the topic to notify)",
            None,
        )


POLICIES = [
    ResourceValidationPolicy(
        name="cognito-ses-email",
        description="User pools send their mail through an SES identity, not Cognito's daily-capped default sender.",
        validate=_cognito_ses,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="alarms-notify",
        description="Every CloudWatch alarm has an enabled action (a topic to notify, or a scaling policy).",
        validate=_alarm_actions,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
