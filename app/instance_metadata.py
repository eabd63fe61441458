"""What the EC2 instance knows of itself, from the instance metadata service (IMDSv2: the launch
templates require session tokens): its id, for the services that act on their own instance; its
type and purchase option, for what a transcode costs."""

from __future__ import annotations

import os

import requests

from app.contracts.messages import PurchaseOption

IMDS_URL = "http://169.254.169.254/latest"


def ec2_instance_id(base_url: str = IMDS_URL, timeout_seconds: float = 1.0) -> str | None:
    """This instance's id, or None off EC2 (or with AWS_EC2_METADATA_DISABLED=true)."""
    return _metadata("instance-id", base_url, timeout_seconds)


def ec2_instance_type(base_url: str = IMDS_URL, timeout_seconds: float = 1.0) -> str | None:
    """This instance's type (``c7g.large``), or None off EC2."""
    return _metadata("instance-type", base_url, timeout_seconds)


def ec2_purchase_option(base_url: str = IMDS_URL, timeout_seconds: float = 1.0) -> PurchaseOption | None:
    """``spot`` or ``on-demand``, from the ``instance-life-cycle`` category; None off EC2 and for
    the purchase options priced otherwise (``scheduled``, capacity blocks)."""
    life_cycle = _metadata("instance-life-cycle", base_url, timeout_seconds)
    if life_cycle == "spot":
        return "spot"
    if life_cycle == "on-demand":
        return "on-demand"
    return None


def _metadata(category: str, base_url: str, timeout_seconds: float) -> str | None:
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
            f"{base_url}/meta-data/{category}",
            headers={"X-aws-ec2-metadata-token": token.text},
            timeout=timeout_seconds,
        )
        answer.raise_for_status()
    except requests.RequestException:
        return None
    return answer.text.strip() or None
