"""One row per measured goal, and the table and JSON document ``python -m bench`` writes.

A row carries the median of its rounds with their range, the goal as a bound, and whether the
median meets it. A benchmark whose subject does not exist yet says so in a row with no value,
rather than leaving the goal out of the table.
"""

from __future__ import annotations

import json
import operator
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Bound = Literal["<=", ">="]
_COMPARE: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Goal:
    bound: Bound
    value: float

    def met_by(self, measured: float) -> bool:
        return _COMPARE[self.bound](measured, self.value)

    def __str__(self) -> str:
        return f"{self.bound} {self.value:g}"


@dataclass(frozen=True)
class Row:
    """One goal: ``rounds`` holds one measured value per round (empty: not measured, ``note`` says why)."""

    benchmark: str
    measure: str
    """What the value is, e.g. ``platform / ffmpeg alone, wall time``."""
    goal: Goal
    rounds: Sequence[float] = ()
    unit: str = "x"
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    """What stands beside the value (absolute times, per-rendition quality...), for the JSON."""

    @property
    def median(self) -> float | None:
        return statistics.median(self.rounds) if self.rounds else None

    @property
    def met(self) -> bool | None:
        median = self.median
        return None if median is None else self.goal.met_by(median)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rounds"] = list(self.rounds)
        data["goal"] = {"bound": self.goal.bound, "value": self.goal.value, "text": str(self.goal)}
        data.update(
            median=self.median,
            low=min(self.rounds) if self.rounds else None,
            high=max(self.rounds) if self.rounds else None,
            met=self.met,
        )
        return data


def row_of(data: dict[str, Any]) -> Row:
    """A row as ``Row.as_json`` wrote it."""
    goal = data["goal"]
    return Row(
        data["benchmark"],
        data["measure"],
        Goal(goal["bound"], goal["value"]),
        data["rounds"],
        unit=data["unit"],
        note=data["note"],
        details=data["details"],
    )


def _value(row: Row) -> str:
    if row.median is None:
        return "not measured"
    spread = f"{_number(min(row.rounds))}-{_number(max(row.rounds))}"
    return f"{_number(row.median)}{row.unit} ({spread}, {len(row.rounds)} rounds)"


def _number(value: float) -> str:
    """Three significant digits, without an exponent (1530, not 1.53e+03)."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _met(row: Row) -> str:
    met = row.met
    return "n/a" if met is None else "yes" if met else "no"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (what the README's performance section shows)."""
    header = ("benchmark", "measure", "value (range, rounds)", "goal", "met", "note")
    lines = [
        (r.benchmark, r.measure, _value(r), f"{r.goal}{r.unit}", _met(r), r.note.replace("|", "/"))
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    out = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        for cells in (header, *lines)
    ]
    out.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(out)


def document(
    rows: Sequence[tuple[str, Row]],
    *,
    quick: bool,
    started: str,
    seconds: float,
    kept: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """``rows`` of this run, each with the harness name of its benchmark; ``kept``: rows of an
    earlier run of the other benchmarks, as they were written."""
    return {
        "quick": quick,
        "started": started,
        "seconds": round(seconds, 1),
        "rows": [*kept, *({"run": name, **row.as_json()} for name, row in rows)],
    }


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
