"""The local gateway's own AWS credentials, apart from the user service's role it runs the handler with.

On AWS the gateway's jobs are done by services with identities of their own: CloudFront reads the
media bucket through its origin access (the bucket policy's grant), Cognito mails codes. Locally the
gateway does them, with the launcher's credentials (``reelstack up`` passes them in these
variables), while the Lambda handler it calls in-process sees the process's AWS_* variables: the
credentials of the user service's role.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import boto3

PREFIX = "REELSTACK_LOCAL_GATEWAY_"
_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def stand_in_credentials(credentials: Mapping[str, str]) -> dict[str, str]:
    """The variables that hand ``credentials`` (AWS_* keys) to the gateway's own clients."""
    return {PREFIX + key: credentials[key] for key in _KEYS if key in credentials}


def stand_in_session() -> boto3.Session:
    """A session with the gateway's own credentials; without them, boto3's usual chain."""
    given = {key: os.environ.get(PREFIX + key) for key in _KEYS}
    if not given["AWS_ACCESS_KEY_ID"]:
        return boto3.Session()
    return boto3.Session(
        aws_access_key_id=given["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=given["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=given["AWS_SESSION_TOKEN"],
    )
