"""Candidate posters: a few frames of the source an owner can choose from, none black, none blurred.

A branch of the transcode's single decode samples frames evenly over the video
(``sample_rate``) and writes every sample; once ffmpeg ends, ``graph.build_stills`` drops those
``blackframe`` finds mostly black and those ``blurdetect`` finds
blurred (each filter tags a frame with its measure and ``metadata=mode=select`` keeps the frames
under the bound), and ``thumbnail`` keeps the most representative frame of each batch of
``batch`` survivors: up to ``count`` candidates, in the order they occur. A video that is black
or blurred throughout yields none, and keeps the poster taken at a fixed time. Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass

CANDIDATE_COUNT = 4
# Frames sampled per candidate; ``thumbnail`` picks one of each batch, so a few dropped frames
# still leave every batch something to choose from.
BATCH = 5
# A short video is not sampled faster than this: frames a quarter second apart are alike enough.
MAX_SAMPLES_PER_SECOND = 4.0
# blackframe: a pixel is black below this luma (ffmpeg's default, 32 of 255)...
BLACK_PIXEL_LUMA = 32
# ...and a frame with this percentage of black pixels or more is not a candidate.
BLACK_FRAME_PERCENT = 90
# blurdetect's blur measure (0 sharp, larger blurrier): a sharp test pattern measures about 5,
# a Gaussian blur of sigma 25 about 60; a frame at or above this is not a candidate.
MAX_BLUR = 10.0
CANDIDATE_PATTERN = "candidate-%d.jpg"
CANDIDATE_GLOB = "candidate-*.jpg"


@dataclass(frozen=True)
class CandidatePlan:
    sample_rate: float
    """Frames per second sampled for the black and blur checks."""
    batch: int = BATCH
    count: int = CANDIDATE_COUNT


def plan_candidates(duration: float) -> CandidatePlan:
    """``count * batch`` samples spread over the whole video, at most ``MAX_SAMPLES_PER_SECOND``."""
    samples = CANDIDATE_COUNT * BATCH
    return CandidatePlan(sample_rate=min(MAX_SAMPLES_PER_SECOND, samples / max(duration, 0.001)))


def candidate_number(name: str) -> int:
    """The 1-based number of a candidate file ffmpeg wrote (``candidate-3.jpg`` → 3), for ordering."""
    return int(name.removeprefix("candidate-").removesuffix(".jpg"))
