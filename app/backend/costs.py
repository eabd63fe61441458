"""What transcoding costs: a video's, for its owner, and the stack's per minute transcoded, for
the operators; priced from each transcode's recorded usage (``TranscodeUsage``) and the stack's
prices (``BackendSettings.price_*``), so a price change reprices what is already recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.backend.models import Video
from app.contracts.messages import VideoState
from app.contracts.settings import BackendSettings

GB = 1_000_000_000


@dataclass(frozen=True)
class Prices:
    cpu_hour_on_demand: float
    cpu_hour_spot: float
    gb_month_stored: float

    @classmethod
    def from_settings(cls, settings: BackendSettings) -> Prices:
        return cls(
            cpu_hour_on_demand=settings.price_cpu_hour_on_demand,
            cpu_hour_spot=settings.price_cpu_hour_spot,
            gb_month_stored=settings.price_gb_month_stored,
        )

    def processing_usd(self, cpu_seconds: float, purchase_option: str | None) -> float:
        """Compute: spot at the spot price, anything else (on demand, off EC2) at on-demand's."""
        per_hour = self.cpu_hour_spot if purchase_option == "spot" else self.cpu_hour_on_demand
        return cpu_seconds / 3600 * per_hour

    def storage_usd_per_month(self, stored_bytes: int) -> float:
        return stored_bytes / GB * self.gb_month_stored


@dataclass(frozen=True)
class VideoCost:
    cpu_seconds: float
    instance_type: str | None
    purchase_option: str | None
    bytes_written: int
    bytes_stored: int
    processing_usd: float
    storage_usd_per_month: float


def video_cost(video: Video, prices: Prices) -> VideoCost | None:
    """The cost of the transcode that made ``video``'s outputs; None if none was recorded (not
    ready yet, or transcoded before cost accounting)."""
    if video.transcode_cpu_seconds is None or video.transcode_bytes_stored is None:
        return None
    return VideoCost(
        cpu_seconds=video.transcode_cpu_seconds,
        instance_type=video.transcode_instance_type,
        purchase_option=video.transcode_purchase_option,
        bytes_written=video.transcode_bytes_written or 0,
        bytes_stored=video.transcode_bytes_stored,
        processing_usd=prices.processing_usd(video.transcode_cpu_seconds, video.transcode_purchase_option),
        storage_usd_per_month=prices.storage_usd_per_month(video.transcode_bytes_stored),
    )


@dataclass(frozen=True)
class FleetCost:
    """Ready videos transcoded on one instance type and purchase option (None: off EC2)."""

    instance_type: str | None
    purchase_option: str | None
    videos: int
    minutes_transcoded: float
    cpu_seconds: float
    bytes_stored: int
    processing_usd: float
    storage_usd_per_month: float

    @property
    def processing_usd_per_minute(self) -> float | None:
        return self.processing_usd / self.minutes_transcoded if self.minutes_transcoded else None


def stack_costs(session: Session, prices: Prices) -> list[FleetCost]:
    """Per instance type and purchase option, what the ready videos with a recorded usage cost."""
    # Sums of nullable columns type as nullable; the coalesces make them numbers.
    rows: Sequence[Any] = session.execute(
        select(
            Video.transcode_instance_type,
            Video.transcode_purchase_option,
            func.count(),
            func.coalesce(func.sum(Video.duration_seconds), 0.0),
            func.coalesce(func.sum(Video.transcode_cpu_seconds), 0.0),
            func.coalesce(func.sum(Video.transcode_bytes_stored), 0),
        )
        .where(Video.status == VideoState.READY, Video.transcode_cpu_seconds.is_not(None))
        .group_by(Video.transcode_instance_type, Video.transcode_purchase_option)
        .order_by(Video.transcode_instance_type, Video.transcode_purchase_option)
    ).all()
    return [
        FleetCost(
            instance_type=instance_type,
            purchase_option=purchase_option,
            videos=videos,
            minutes_transcoded=float(seconds) / 60,
            cpu_seconds=float(cpu),
            bytes_stored=int(stored),
            processing_usd=prices.processing_usd(float(cpu), purchase_option),
            storage_usd_per_month=prices.storage_usd_per_month(int(stored)),
        )
        for instance_type, purchase_option, videos, seconds, cpu, stored in rows
    ]
