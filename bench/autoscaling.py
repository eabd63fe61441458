"""The transcoder fleet's scaling over a day of bursty uploads, simulated, against an oracle.

The fleet's numbers come from the prod stack as ``pulumi up`` would create it (the synthesized
graph): the group's bounds and default instance warm-up, and its two step scaling policies
(``transcoder-grow``, ``transcoder-shrink``): their alarms' datapoints and threshold, the
workers per instance and tasks per worker their gap expression sizes for, their step
adjustments. The simulation steps every ``STEP_SECONDS`` and follows AWS's documented rules:

- CloudWatch sees one datapoint a minute: SQS pushes its queue metrics at one-minute intervals
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html),
  and the group metrics are enabled at ``1Minute`` granularity.
- A step scaling policy's alarm is ours: it goes to ALARM once its ``datapointsToAlarm``
  one-minute datapoints breach, and the policy moves the desired capacity by the adjustment of
  the step the breach falls in (ChangeInCapacity;
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html). Instances
  warming up count as capacity during a scale-out (default instance warm-up page below), so the
  move is from the desired capacity.
- An alarm with an Auto Scaling action invokes it again every minute it stays in ALARM, unlike
  other actions (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html,
  https://repost.aws/knowledge-center/autoscaling-policy-cloudwatch-alarm); the gap counts the
  desired capacity, so a repeated action moves the group only by what is still missing.
- Default instance warm-up: while an instance warms up after it is InService, dynamic scaling
  does not scale in, and during scale-out warming instances count as capacity
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html).
  The warm-up is a setting, not the boot: an instance is InService once EC2 runs it (no lifecycle
  hooks), while its workers poll only ``BOOT_SECONDS`` after the launch.
- A scale-in terminates unprotected instances; if every instance is protected, the desired
  capacity still drops and the group ends the instances as their protection is lifted
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-protection.html).
  A worker protects its instance while it holds a task (``app/transcoder/protection.py``). A
  task running on an ended instance is a task the scale-in killed; without protection the
  simulation ends the least busy instances first, so its count is a lower bound.
- Billing: Linux instances are billed per second with a 60-second minimum, from the time they
  run (after ``PENDING_SECONDS``) until they terminate
  (https://aws.amazon.com/about-aws/whats-new/2017/10/announcing-amazon-ec2-per-second-billing/).

The oracle knows every arrival and duration, may hold a task up to the fleet's p95 wait, and
packs it on the instance it costs least to extend. It plays by the same physics: the same
workers per instance, each launch billed from its run to its end (its boot included, at least
60 s), so an idle gap shorter than a boot costs the gap and a longer one a new boot; it launches
ahead of need, so boots never make it wait. It packs greedily in arrival order and holds every
task (not 95 %) within the fleet's p95, both of which make it dearer than the best possible
(the ratio errs in the fleet's favour); it may exceed the group's maximum, which can only make
it cheaper.

Target tracking, which the fleet used before (3 datapoints above its target to scale out, 15
below to scale in, alarms that may not be edited:
https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html,
https://github.com/aws/copilot-cli/issues/4233), is no longer simulated; the commits that
replaced it carry its measurements.

Not modelled: CloudWatch's delay in publishing a datapoint, SQS's approximate counts, Spot
interruptions, Availability Zone balancing, and the moment between a worker lifting its
instance's protection and taking the next task (here a waiting task is taken first).

    .venv/bin/python -m bench.autoscaling [--rounds 5] [--hours 24]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import re
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bench._report import Goal, Row, table

STEP_SECONDS = 10
DATAPOINT_SECONDS = 60
MIN_BILLED_SECONDS = 60
# An instance's life, assumed (AWS publishes no figure): EC2 runs it (billing starts, InService)
# this long after the launch, and its workers take tasks this long after the launch.
PENDING_SECONDS = 30
BOOT_SECONDS = 120
# Arrivals: a diurnal base rate plus bursts (a class uploading its homework, a creator's batch).
BASE_TASKS_PER_HOUR = 40.0
BURSTS_PER_DAY = 10
BURST_TASKS = (20, 80)
# A task: a 1080p ladder of a phone clip on one worker, lognormal around 4 minutes.
TASK_MEDIAN_SECONDS = 240.0
TASK_SIGMA = 0.6


@dataclass(frozen=True)
class StepRule:
    """A step scaling policy and its alarm over the instances the tasks need at ``tasks_per_worker``."""

    datapoints: int
    """Consecutive one-minute datapoints at or above the threshold that put the alarm in ALARM."""
    threshold: float
    steps: tuple[tuple[float, float | None, int], ...]
    """(lower, upper, adjustment): the intervals, as offsets from the threshold, and their moves."""
    tasks_per_worker: float

    def adjustment(self, value: float) -> int:
        breach = value - self.threshold
        (move,) = [
            n for lower, upper, n in self.steps if lower <= breach and (upper is None or breach < upper)
        ]
        return move


@dataclass(frozen=True)
class FleetScaling:
    """The numbers the TranscoderFleet component configures, as read from the synthesized stack."""

    min_size: int
    max_size: int
    warmup_seconds: float
    workers_per_instance: int
    grow: StepRule
    """The step policy that scales out to what the tasks need."""
    shrink: StepRule
    """The step policy that scales in to what the tasks need."""


_NEEDED = re.compile(r"CEIL\(\(m1 \+ m3\) / \((\d+) \* ([0-9.]+)\)\)")


def fleet_scaling(stack: str = "prod") -> FleetScaling:
    from pulumi_offline.synth import synthesize  # the synthesis costs seconds: only when asked

    resources = synthesize(stack)

    def one(type_: str, name: str) -> dict[str, Any]:
        (inputs,) = [r.inputs for r in resources if r.type == type_ and r.name == name]
        return inputs

    def step_rule(name: str) -> tuple[StepRule, int]:
        policy = one("aws:autoscaling/policy:Policy", name)
        alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", name)
        (returned,) = [q for q in alarm["metricQueries"] if q.get("returnData")]
        needed = _NEEDED.search(returned["expression"])
        if needed is None or alarm["comparisonOperator"] != "GreaterThanOrEqualToThreshold":
            raise ValueError(f"{name}: the alarm is not on the instances the tasks need: {returned}")
        steps = tuple(
            (
                float(s.get("metricIntervalLowerBound", "-inf")),
                float(s["metricIntervalUpperBound"]) if "metricIntervalUpperBound" in s else None,
                abs(int(s["scalingAdjustment"])),
            )
            for s in policy["stepAdjustments"]
        )
        rule = StepRule(int(alarm["datapointsToAlarm"]), float(alarm["threshold"]), steps, float(needed[2]))
        return rule, int(needed[1])

    group = one("aws:autoscaling/group:Group", "transcoder-asg")
    (grow, workers), (shrink, shrink_workers) = step_rule("transcoder-grow"), step_rule("transcoder-shrink")
    if shrink_workers != workers:
        raise ValueError(f"the scaling policies size for {workers} and {shrink_workers} workers per instance")
    return FleetScaling(
        min_size=int(group["minSize"]),
        max_size=int(group["maxSize"]),
        warmup_seconds=float(group["defaultInstanceWarmup"]),
        workers_per_instance=workers,
        grow=grow,
        shrink=shrink,
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
    ends: list[float] = field(default_factory=list)
    """End times of the tasks it runs."""
    stopped: float | None = None

    @property
    def running_at(self) -> float:
        """EC2 runs it (billing starts) and the group counts it InService."""
        return self.launched + PENDING_SECONDS

    @property
    def serving_at(self) -> float:
        return self.launched + BOOT_SECONDS

    def billed_seconds(self, now: float) -> float:
        end = self.stopped if self.stopped is not None else now
        if end <= self.running_at:
            return 0.0  # ended while pending: never ran
        return max(end - self.running_at, MIN_BILLED_SECONDS)


@dataclass(frozen=True)
class Outcome:
    instance_hours: float
    waits: list[float]
    killed: int
    """Running tasks on instances the scale-in ended."""
    launches: int = 0

    @property
    def p95_wait(self) -> float:
        return _p95(self.waits)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values[0] if values else 0.0)


def simulate_policy(tasks: list[Task], scaling: FleetScaling, *, protected: bool = True) -> Outcome:
    """The fleet under its scaling policies, in steps of ``STEP_SECONDS``."""
    workers = scaling.workers_per_instance
    waiting: deque[Task] = deque()
    pending = deque(tasks)
    instances: list[_Instance] = []
    desired = scaling.min_size
    growing: list[bool] = []
    shrinking: list[bool] = []
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
            while waiting and instance.serving_at <= t and len(instance.ends) < workers:
                task = waiting.popleft()
                waits.append(t - task.arrival)
                instance.ends.append(t + task.duration)
        if t % DATAPOINT_SECONDS == 0:
            warming = any(i.running_at <= t < i.running_at + scaling.warmup_seconds for i in live)
            load = len(waiting) + sum(len(i.ends) for i in live)
            grow, shrink = scaling.grow, scaling.shrink
            short = math.ceil(load / (workers * grow.tasks_per_worker)) - desired
            growing.append(short >= grow.threshold)
            if len(growing) >= grow.datapoints and all(growing[-grow.datapoints :]):
                desired += grow.adjustment(short)
            excess = desired - math.ceil(load / (workers * shrink.tasks_per_worker))
            shrinking.append(excess >= shrink.threshold)
            if len(shrinking) >= shrink.datapoints and all(shrinking[-shrink.datapoints :]) and not warming:
                desired -= shrink.adjustment(excess)
            desired = min(max(desired, scaling.min_size), scaling.max_size)
        for _ in range(desired - len(live)):
            instances.append(_Instance(launched=t))
        live = [i for i in instances if i.stopped is None]
        surplus = len(live) - desired
        if surplus > 0:
            # Idle (or still booting) instances first; a busy one only if protection is off.
            by_load = sorted(live, key=lambda i: (len(i.ends), -i.launched))
            for instance in by_load[:surplus]:
                if instance.ends:
                    if protected:
                        continue
                    killed += len(instance.ends)
                instance.stopped = t
                instance.ends = []
        t += STEP_SECONDS
    hours = sum(i.billed_seconds(t) for i in instances) / 3600
    return Outcome(hours, waits, killed, len(instances))


@dataclass
class _OracleInstance:
    free: list[float]
    """When each worker is next free."""
    last_end: float
    """End of the latest task so far (tasks start in arrival order, so later ones start after its start)."""


BILLED_BOOT_SECONDS = BOOT_SECONDS - PENDING_SECONDS


def _extension_cost(instance: _OracleInstance, start: float, end: float) -> float:
    """What running [start, end] on ``instance`` adds to its bill: the time it is not already
    running, and the idle gap before it, or a new boot when the gap is longer than one."""
    if start <= instance.last_end:
        return max(0.0, end - instance.last_end)
    return min(start - instance.last_end, BILLED_BOOT_SECONDS) + end - start


def simulate_oracle(tasks: list[Task], workers: int, wait_budget: float) -> Outcome:
    """Each task, in arrival order, on the instance it costs least to extend, started within the budget."""
    instances: list[_OracleInstance] = []
    waits: list[float] = []
    seconds = 0.0
    launches = 0
    new_cost = max(BILLED_BOOT_SECONDS + 0.0, MIN_BILLED_SECONDS)
    for task in tasks:
        best: tuple[float, float, _OracleInstance] | None = None  # added cost, start, instance
        for instance in instances:
            start = max(task.arrival, min(instance.free))
            if start - task.arrival > wait_budget:
                continue
            added = _extension_cost(instance, start, start + task.duration)
            if best is None or (added, start) < best[:2]:
                best = (added, start, instance)
        if best is None or best[0] >= new_cost + task.duration:
            instance = _OracleInstance([task.arrival] * workers, task.arrival)
            instances.append(instance)
            launches += 1
            best = (new_cost + task.duration, task.arrival, instance)
        added, start, instance = best
        slot = instance.free.index(min(instance.free))
        instance.free[slot] = start + task.duration
        instance.last_end = max(instance.last_end, start + task.duration)
        seconds += added
        waits.append(start - task.arrival)
    return Outcome(seconds / 3600, waits, 0, launches)


def measure(*, quick: bool, rounds: int | None = None, hours: float | None = None) -> list[Row]:
    rounds = rounds or (2 if quick else 5)
    hours = hours or (6.0 if quick else 24.0)
    scaling = fleet_scaling()
    ratios: list[float] = []
    killed: list[float] = []
    details: dict[str, Any] = {"scaling": dataclasses.asdict(scaling), "hours": hours, "days": []}
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
                "fleet_launches": fleet.launches,
                "oracle_launches": oracle.launches,
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
            note=(
                f"{hours:g} h of bursty arrivals per round; fleet p95 wait {min(waits):.0f}-{max(waits):.0f} s; "
                f"sized for {scaling.grow.tasks_per_worker:g} tasks per worker, "
                f"scale-in after {scaling.shrink.datapoints} quiet min"
            ),
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
