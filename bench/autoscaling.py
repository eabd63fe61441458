"""The transcoder fleet's scaling over a day of bursty uploads, simulated, against an oracle.

The fleet's numbers come from the prod stack as ``pulumi up`` would create it (the synthesized
graph): the group's bounds and warm-up, the tracking policy's target and its tasks-per-worker
expression (hence the workers per instance), the wake policy's exact capacity and cooldown.
What the graph cannot say is modelled and named here:

- CloudWatch sees one datapoint a minute. The alarms target tracking creates scale out after 3
  datapoints above the target and scale in after 15 below it, to the capacity the metric says
  (``ceil(load / (workers x target))``), scale-in conservatively as AWS documents
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html).
- A launched instance serves after the group's default instance warm-up.
- Scale-in picks unprotected instances; a worker protects its instance while it holds a task
  (``app/transcoder/protection.py``), and a group above its desired capacity ends an instance
  as soon as it goes idle. A task running on an ended instance is a task the scale-in killed.

The oracle knows every arrival and duration, may hold a task up to the policy's p95 wait, packs
it on the instance it costs least to extend, and pays only while an instance works (no boot,
no idle minute): a lower bound, so the ratio errs against the fleet.

    .venv/bin/python -m bench.autoscaling [--rounds 5] [--hours 24]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bench._report import Goal, Row, table
from infra.transcoder import tasks_per_worker_expression

STEP_SECONDS = 10
DATAPOINT_SECONDS = 60
SCALE_OUT_DATAPOINTS = 3
SCALE_IN_DATAPOINTS = 15
# Arrivals: a diurnal base rate plus bursts (a class uploading its homework, a creator's batch).
BASE_TASKS_PER_HOUR = 40.0
BURSTS_PER_DAY = 10
BURST_TASKS = (20, 80)
# A task: a 1080p ladder of a phone clip on one worker, lognormal around 4 minutes.
TASK_MEDIAN_SECONDS = 240.0
TASK_SIGMA = 0.6


@dataclass(frozen=True)
class FleetScaling:
    """The numbers the TranscoderFleet component configures, as read from the synthesized stack."""

    min_size: int
    max_size: int
    warmup_seconds: float
    target_tasks_per_worker: float
    workers_per_instance: int
    wake_capacity: int
    wake_cooldown_seconds: float


def _workers_in(expression: str) -> int:
    for workers in range(1, 257):
        if tasks_per_worker_expression(workers) == expression:
            return workers
    raise ValueError(f"the tracking metric {expression!r} is not the component's tasks-per-worker expression")


def fleet_scaling(stack: str = "prod") -> FleetScaling:
    from pulumi_offline.synth import synthesize  # the synthesis costs seconds: only when asked

    resources = synthesize(stack)

    def one(type_: str, name: str) -> dict[str, Any]:
        (inputs,) = [r.inputs for r in resources if r.type == type_ and r.name == name]
        return inputs

    group = one("aws:autoscaling/group:Group", "transcoder-asg")
    tracking = one("aws:autoscaling/policy:Policy", "transcoder-backlog")["targetTrackingConfiguration"]
    wake = one("aws:autoscaling/policy:Policy", "transcoder-wake")
    (load,) = [m for m in tracking["customizedMetricSpecification"]["metrics"] if m.get("returnData")]
    return FleetScaling(
        min_size=int(group["minSize"]),
        max_size=int(group["maxSize"]),
        warmup_seconds=float(group["defaultInstanceWarmup"]),
        target_tasks_per_worker=float(tracking["targetValue"]),
        workers_per_instance=_workers_in(load["expression"]),
        wake_capacity=int(wake["scalingAdjustment"]),
        wake_cooldown_seconds=float(wake["cooldown"]),
    )


@dataclass(frozen=True)
class Task:
    arrival: float
    duration: float


def day_of_arrivals(seed: int, hours: float) -> list[Task]:
    rng = random.Random(seed)
    end = hours * 3600
    tasks: list[Task] = []

    def duration() -> float:
        return TASK_MEDIAN_SECONDS * math.exp(rng.gauss(0, TASK_SIGMA))

    t = 0.0
    peak = BASE_TASKS_PER_HOUR * 2
    while True:  # thinning: a Poisson process whose rate follows the day, quiet at night
        t += rng.expovariate(peak / 3600)
        if t >= end:
            break
        rate = BASE_TASKS_PER_HOUR * (1 - math.cos(2 * math.pi * t / 86400))
        if rng.random() < rate / peak:
            tasks.append(Task(t, duration()))
    for _ in range(max(1, round(BURSTS_PER_DAY * hours / 24))):
        start = rng.uniform(0, end - 600)
        tasks += [Task(start + rng.uniform(0, 120), duration()) for _ in range(rng.randint(*BURST_TASKS))]
    return sorted(tasks, key=lambda task: task.arrival)


@dataclass
class _Instance:
    launched: float
    ready_at: float
    ends: list[float] = field(default_factory=list)
    """End times of the tasks it runs."""
    stopped: float | None = None


@dataclass(frozen=True)
class Outcome:
    instance_hours: float
    waits: list[float]
    killed: int
    """Running tasks on instances the scale-in ended."""

    @property
    def p95_wait(self) -> float:
        return _p95(self.waits)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values[0] if values else 0.0)


def simulate_policy(tasks: list[Task], scaling: FleetScaling, *, protected: bool = True) -> Outcome:
    """The fleet under its tracking and wake policies, in steps of ``STEP_SECONDS``."""
    workers, target = scaling.workers_per_instance, scaling.target_tasks_per_worker
    waiting: deque[Task] = deque()
    pending = deque(tasks)
    instances: list[_Instance] = []
    desired = scaling.min_size
    datapoints: list[float] = []
    wake_ready_at = 0.0
    waits: list[float] = []
    killed = 0
    end = (tasks[-1].arrival if tasks else 0) + 4 * 3600
    t = 0.0
    while t < end and (pending or waiting or any(i.ends for i in instances) or t < tasks[-1].arrival):
        while pending and pending[0].arrival <= t:
            waiting.append(pending.popleft())
        live = [i for i in instances if i.stopped is None]
        for instance in live:
            instance.ends = [e for e in instance.ends if e > t]
            while waiting and instance.ready_at <= t and len(instance.ends) < workers:
                task = waiting.popleft()
                waits.append(t - task.arrival)
                instance.ends.append(t + task.duration)
        if t % DATAPOINT_SECONDS == 0:
            in_service = sum(1 for i in live if i.ready_at <= t)
            load = len(waiting) + sum(len(i.ends) for i in live)
            datapoints.append(load / (in_service * workers) if in_service else float(load))
            needed = math.ceil(load / (workers * target)) if in_service else None
            recent = datapoints[-SCALE_OUT_DATAPOINTS:]
            if needed is not None and len(recent) == SCALE_OUT_DATAPOINTS and min(recent) > target:
                desired = max(desired, needed)
            quiet = datapoints[-SCALE_IN_DATAPOINTS:]
            if needed is not None and len(quiet) == SCALE_IN_DATAPOINTS and max(quiet) < target:
                desired = max(needed, scaling.min_size)
            if waiting and in_service < 1 and t >= wake_ready_at:  # the wake alarm: ExactCapacity
                desired, wake_ready_at = scaling.wake_capacity, t + scaling.wake_cooldown_seconds
            desired = min(max(desired, scaling.min_size), scaling.max_size)
        for _ in range(desired - len(live)):
            instances.append(_Instance(launched=t, ready_at=t + scaling.warmup_seconds))
        live = [i for i in instances if i.stopped is None]
        excess = len(live) - desired
        if excess > 0:
            # Idle (or still booting) instances first; a busy one only if protection is off.
            by_load = sorted(live, key=lambda i: (len(i.ends), -i.launched))
            for instance in by_load[:excess]:
                if instance.ends:
                    if protected:
                        continue
                    killed += len(instance.ends)
                instance.stopped = t
                instance.ends = []
        t += STEP_SECONDS
    hours = sum(((i.stopped if i.stopped is not None else t) - i.launched) for i in instances) / 3600
    return Outcome(hours, waits, killed)


def simulate_oracle(tasks: list[Task], workers: int, wait_budget: float) -> Outcome:
    """Each task, in arrival order, on the instance it costs least to extend, started within the budget."""
    instances: list[tuple[list[float], list[tuple[float, float]]]] = []  # worker free times, busy spans
    waits: list[float] = []
    for task in tasks:
        best: tuple[float, float, int] | None = None  # added cost, start, instance
        for index, (free, spans) in enumerate(instances):
            start = max(task.arrival, min(free))
            if start - task.arrival > wait_budget or spans[-1][1] < task.arrival:
                continue
            added = _uncovered(start, start + task.duration, spans)
            if best is None or (added, start) < best[:2]:
                best = (added, start, index)
        if best is None or best[0] >= task.duration:
            instances.append(([task.arrival + task.duration] + [task.arrival] * (workers - 1), []))
            best = (task.duration, task.arrival, len(instances) - 1)
        _, start, index = best
        free, spans = instances[index]
        slot = free.index(min(free))
        free[slot] = start + task.duration
        spans.append((start, start + task.duration))
        spans.sort()
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        spans[:] = merged
        waits.append(start - task.arrival)
    hours = sum(b - a for _, spans in instances for a, b in spans) / 3600
    return Outcome(hours, waits, 0)


def _uncovered(start: float, end: float, spans: list[tuple[float, float]]) -> float:
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)
    return end - start - covered


def measure(*, quick: bool, rounds: int | None = None, hours: float | None = None) -> list[Row]:
    rounds = rounds or (2 if quick else 5)
    hours = hours or (6.0 if quick else 24.0)
    scaling = fleet_scaling()
    ratios: list[float] = []
    killed: list[float] = []
    details: dict[str, Any] = {"scaling": scaling.__dict__, "hours": hours, "days": []}
    for seed in range(rounds):
        tasks = day_of_arrivals(seed, hours)
        fleet = simulate_policy(tasks, scaling)
        unprotected = simulate_policy(tasks, scaling, protected=False)
        oracle = simulate_oracle(tasks, scaling.workers_per_instance, fleet.p95_wait)
        ratios.append(fleet.instance_hours / oracle.instance_hours)
        killed.append(float(fleet.killed))
        details["days"].append(
            {
                "tasks": len(tasks),
                "fleet_instance_hours": round(fleet.instance_hours, 2),
                "oracle_instance_hours": round(oracle.instance_hours, 2),
                "fleet_p95_wait_s": round(fleet.p95_wait, 1),
                "oracle_p95_wait_s": round(oracle.p95_wait, 1),
                "killed_without_protection": unprotected.killed,
            }
        )
    waits = [d["fleet_p95_wait_s"] for d in details["days"]]
    return [
        Row(
            "6 autoscaling",
            "fleet / oracle instance-hours, p95 wait held equal",
            Goal("<=", 1.25),
            ratios,
            note=f"{hours:g} h of bursty arrivals per round; fleet p95 wait {min(waits):.0f}-{max(waits):.0f} s",
            details=details,
        ),
        Row(
            "6 autoscaling",
            "running tasks killed by scale-in",
            Goal("<=", 0),
            killed,
            unit=" tasks",
            note="without scale-in protection: "
            + ", ".join(str(d["killed_without_protection"]) for d in details["days"]),
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    print(table(measure(quick=False, rounds=args.rounds, hours=args.hours)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
