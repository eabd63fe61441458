"""stacks/config.py: a value a platform team sets is the value the stack uses, zero included."""

from __future__ import annotations

import pytest

from app.contracts.settings import BackendSettings, TranscoderSettings
from infra._common import env_from_user_data
from pulumi_offline.graph import Graph
from pulumi_offline.synth import synthesize_stack


def test_an_explicit_zero_is_kept_rather_than_replaced_by_the_default() -> None:
    graph = Graph.of(
        synthesize_stack(
            "dev",
            overrides={"reelstack:backendMinSize": "0", "reelstack:progressMinSize": "0"},
        )
    )
    assert graph.one("aws:autoscaling/group:Group", "backend-asg").inputs["minSize"] == 0
    assert graph.one("aws:autoscaling/group:Group", "progress-asg").inputs["minSize"] == 0


SES_IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:reelstack-prod-alarms"
MAIL_AND_ALARMS = {
    "reelstack:emailSourceArn": SES_IDENTITY,
    "reelstack:emailFrom": "no-reply@example.com",
    "reelstack:alarmTopicArn": ALARM_TOPIC,
}


@pytest.mark.parametrize("unset", sorted(MAIL_AND_ALARMS))
def test_a_protected_stack_must_name_an_ses_identity_and_an_alarm_topic(unset: str) -> None:
    """AWS rule: with Cognito's default email (``COGNITO_DEFAULT``) "Amazon Cognito allows only a
    limited number of emails each day for your user pool. For typical production environments,
    the default email limit is below the required delivery volume"; past it, sign-up and reset
    codes are not sent. With ``DEVELOPER`` the limits are those of your SES identity. Sources:
    EmailConfigurationType,
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_EmailConfigurationType.html;
    "Email settings for Amazon Cognito user pools",
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html; the number is
    in "Quotas in Amazon Cognito", https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html
    (50 a day per account, as the Cognito console warns: aws-amplify/amplify-cli#5104).
    The DLQ alarm of a protected stack must notify someone, so it needs a topic."""
    overrides = {k: v for k, v in MAIL_AND_ALARMS.items() if k != unset}
    with pytest.raises(ValueError, match=unset):
        synthesize_stack("dev", overrides={"reelstack:protect": "true", **overrides})


def test_a_protected_stack_mails_through_ses_and_its_dlq_alarm_notifies_the_topic() -> None:
    graph = Graph.of(synthesize_stack("dev", overrides={"reelstack:protect": "true", **MAIL_AND_ALARMS}))
    email = graph.one("aws:cognito/userPool:UserPool", "users-pool").inputs["emailConfiguration"]
    assert email == {
        "emailSendingAccount": "DEVELOPER",
        "sourceArn": SES_IDENTITY,
        "fromEmailAddress": "no-reply@example.com",
    }
    alarm = graph.one("aws:cloudwatch/metricAlarm:MetricAlarm", "transcoder-dlq-not-empty").inputs
    assert alarm["alarmActions"] == [ALARM_TOPIC]


def test_prod_names_its_mail_identity_and_alarm_topic_and_dev_may_use_cognitos_sender(
    prod: Graph, dev: Graph
) -> None:
    prod_email = prod.one("aws:cognito/userPool:UserPool", "users-pool").inputs["emailConfiguration"]
    assert prod_email["emailSendingAccount"] == "DEVELOPER"
    dev_email = dev.one("aws:cognito/userPool:UserPool", "users-pool").inputs["emailConfiguration"]
    assert dev_email == {"emailSendingAccount": "COGNITO_DEFAULT"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reelstack:emailSourceArn", "arn:aws:sns:us-east-1:123456789012:not-ses"),
        ("reelstack:alarmTopicArn", "reelstack-prod-alarms"),
    ],
)
def test_mail_identity_and_alarm_topic_must_be_arns_of_their_service(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        synthesize_stack("prod", overrides={key: value})


def test_mail_identity_and_its_from_address_go_together() -> None:
    with pytest.raises(ValueError, match="go together"):
        synthesize_stack("dev", overrides={"reelstack:emailSourceArn": SES_IDENTITY})


@pytest.mark.parametrize("value", ["admin", "admin@localhost", "ad min@example.com", "@example.com"])
def test_a_first_admin_that_is_not_an_email_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="reelstack:firstAdminEmail"):
        synthesize_stack("dev", overrides={"reelstack:firstAdminEmail": value})


def test_source_limits_and_quotas_reach_the_services_from_the_stack_config() -> None:
    """Compute abuse is bounded per stack: each key lands in its service's environment file."""
    graph = Graph.of(
        synthesize_stack(
            "dev",
            overrides={
                "reelstack:transcoderMaxSourceSeconds": "600",
                "reelstack:transcoderMaxSourceFps": "60",
                "reelstack:transcoderMinSourceSide": "128",
                "reelstack:transcoderMaxSourceSide": "1920",
                "reelstack:transcoderMaxSourcePixelFrames": "100000000000",
                "reelstack:transcoderTimeoutSeconds": "1800",
                "reelstack:videosPerUserPerDay": "5",
                "reelstack:storedBytesPerUser": "1073741824",
            },
        )
    )
    transcoder_env = env_from_user_data(
        graph.one("aws:ec2/launchTemplate:LaunchTemplate", "transcoder-lt").inputs["userData"], "transcoder"
    )
    transcoder = TranscoderSettings(
        **{
            k.removeprefix("REELSTACK_").lower(): v
            for k, v in transcoder_env.items()
            if k.startswith("REELSTACK_")
        }
    )
    assert (
        transcoder.max_source_seconds,
        transcoder.max_source_fps,
        transcoder.min_source_side,
        transcoder.max_source_side,
        transcoder.max_source_pixel_frames,
        transcoder.transcode_timeout_seconds,
    ) == (600, 60, 128, 1920, 10**11, 1800)
    backend_env = env_from_user_data(
        graph.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["userData"], "backend"
    )
    assert backend_env["REELSTACK_VIDEOS_PER_USER_PER_DAY"] == "5"
    assert backend_env["REELSTACK_STORED_BYTES_PER_USER"] == "1073741824"
    assert set(backend_env) - {"AWS_DEFAULT_REGION"} <= set(BackendSettings.env_names())


def test_the_transcoding_prices_reach_the_backend_from_the_stack_config() -> None:
    """Issue 15, item 6: what videos cost is priced at each stack's own prices."""
    graph = Graph.of(
        synthesize_stack(
            "dev",
            overrides={
                "reelstack:priceCpuHourOnDemand": "0.05",
                "reelstack:priceCpuHourSpot": "0.02",
                "reelstack:priceGbMonthStored": "0.0125",
            },
        )
    )
    backend_env = env_from_user_data(
        graph.one("aws:ec2/launchTemplate:LaunchTemplate", "backend-lt").inputs["userData"], "backend"
    )
    prices = {k: v for k, v in backend_env.items() if k.startswith("REELSTACK_PRICE_")}
    assert prices == {
        "REELSTACK_PRICE_CPU_HOUR_ON_DEMAND": "0.05",
        "REELSTACK_PRICE_CPU_HOUR_SPOT": "0.02",
        "REELSTACK_PRICE_GB_MONTH_STORED": "0.0125",
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reelstack:alarmApi5xxPercent", "-1"),
        ("reelstack:alarmTranscodeFailurePercent", "100"),
        ("reelstack:alarmDbCpuPercent", "150"),
        ("reelstack:alarmApiP95LatencyMs", "-1"),
        ("reelstack:alarmTaskAgeSeconds", "0"),
        ("reelstack:alarmDbFreeStorageGib", "0"),
    ],
)
def test_an_alarm_threshold_out_of_its_range_is_refused_naming_its_key(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        synthesize_stack("dev", overrides={key: value})
