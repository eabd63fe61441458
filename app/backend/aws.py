"""The backend's AWS clients, created in one place and handed to the app and the status consumer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from app.contracts.settings import BackendSettings


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    # Signs the URLs browsers use; locally it points at the gateway's `/_s3` path, path-style.
    s3_presign: Any
    sqs: Any
    # Only Publish to the video events topic.
    sns: Any
    secretsmanager: Any
    # Only for GetUser, which the caller's access token authorizes (no IAM permission).
    cognito: Any
    # Only GetItem on the sign-out table.
    dynamodb: Any

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> AwsClients:
        """Clients for the region and endpoint boto3 reads from the environment (AWS_ENDPOINT_URL locally)."""
        s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
        if settings.s3_public_endpoint_url:
            s3_presign = boto3.client(
                "s3",
                endpoint_url=settings.s3_public_endpoint_url,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
        else:
            # Left to itself, botocore signs browser URLs for the global s3.amazonaws.com, which
            # answers a bucket outside us-east-1 with a 307 for up to a day after its creation
            # (a browser's CORS preflight does not follow it) and, in a Region launched after
            # March 2019, with a 400: sign them for the bucket's Regional endpoint.
            s3_presign = boto3.client(
                "s3",
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
                ),
            )
        return cls(
            s3=s3,
            s3_presign=s3_presign,
            sqs=boto3.client("sqs"),
            sns=boto3.client("sns"),
            secretsmanager=boto3.client("secretsmanager"),
            cognito=boto3.client("cognito-idp"),
            dynamodb=boto3.client("dynamodb"),
        )
