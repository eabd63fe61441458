"""The EC2 instance's own id, from the instance metadata service (IMDSv2: the launch templates
require session tokens), for the services that act on their own instance."""

from __future__ import annotations

import os

import requests

IMDS_URL = "http://169.254.169.254/latest"


def ec2_instance_id(base_url: str = IMDS_URL, timeout_seconds: float = 1.0) -> str | None:
    """This instance's id, or None off EC2 (or with AWS_EC2_METADATA_DISABLED=true)."""
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        return None
    try:
        token = requests.put(
            f"{base_url}/api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
            timeout=timeout_seconds,
        )
        token.raise_for_status()
        answer = requests.get(
            f"{base_url}/meta-data/instance-id",
            headers={"X-aws-ec2-metadata-token": token.text},
            timeout=timeout_seconds,
        )
        answer.raise_for_status()
    except requests.RequestException:
        return None
    return answer.text.strip() or None
