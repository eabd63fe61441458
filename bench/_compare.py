"""Interleaved rounds of two variants and the median ratio of their costs, with its spread.

Absolute times on a shared 2-core machine mean little; a ratio of two variants measured
back to back, alternating which goes first, cancels most of the drift between rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping

Costs = Mapping[str, float]
"""One measurement of one variant: cost name (e.g. "wall", "cpu") to seconds."""


def interleave(
    first: Callable[[], Costs], second: Callable[[], Costs], rounds: int
) -> list[tuple[Costs, Costs]]:
    """``rounds`` pairs of measurements, ABBAAB...: the order flips each round so warm-up and drift even out."""
    pairs = []
    for index in range(rounds):
        if index % 2 == 0:
            a = first()
            b = second()
        else:
            b = second()
            a = first()
        pairs.append((a, b))
    return pairs


def ratios(pairs: list[tuple[Costs, Costs]], cost: str) -> list[float]:
    """Per round, the second variant's cost over the first's."""
    return [b[cost] / a[cost] for a, b in pairs]


def summary(values: list[float]) -> str:
    """Median with the range of the rounds, e.g. ``3.10x (2.95-3.40 over 5 rounds)``."""
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f} over {len(values)} rounds)"
