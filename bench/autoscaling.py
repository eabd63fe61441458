"""The transcoder fleet's scaling over a day of bursty uploads, simulated, against an oracle.

The fleet's numbers come from the prod stack as ``pulumi up`` would create it (the synthesized
graph): the group's bounds and default instance warm-up, and whichever scaling policies it has:
target tracking (its target and tasks-per-worker expression, hence the workers per instance),
the wake policy's exact capacity and cooldown, the step policies' alarms (datapoints, threshold,
the tasks per worker their gap expression sizes for) and step adjustments. The simulation steps
every ``STEP_SECONDS`` and follows AWS's documented rules:

- CloudWatch sees one datapoint a minute: SQS pushes its queue metrics at one-minute intervals
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html),
  and the group metrics are enabled at ``1Minute`` granularity.
- Target tracking's own alarms, which may not be edited, go to ALARM after 3 one-minute
  datapoints above the target (scale out) and 15 below it (scale in)
  (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html:
  "do not edit the alarms", "scales out proportionally ... as fast as it can, but scales in more
  gradually"; the 3 and 15 datapoints are what those alarms are created with, as users report at
  https://github.com/aws-samples/amazon-aurora-labs-for-mysql/issues/3 and
  https://github.com/aws/copilot-cli/issues/4233). Both go to the capacity the metric says,
  ``ceil(load / (workers x target))``; a real scale-in may be more gradual, which only flatters
  the fleet.
- A step scaling policy's alarm is ours: it goes to ALARM once its ``datapointsToAlarm``
  one-minute datapoints breach, and the policy moves the desired capacity by the adjustment of
  the step the breach falls in (ChangeInCapacity;
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html). Instances
  warming up count as capacity during a scale-out (default instance warm-up page below), so the
  move is from the desired capacity.
- An alarm with an Auto Scaling action invokes it again every minute it stays in ALARM, unlike
  other actions (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html,
  https://repost.aws/knowledge-center/autoscaling-policy-cloudwatch-alarm); a simple scaling
  policy (the wake) ignores it during its cooldown
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html).
- Default instance warm-up: while an instance warms up after it is InService, dynamic scaling
  does not scale in, and during scale-out warming instances count as capacity
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html).
  The warm-up is a setting, not the boot: an instance is InService once EC2 runs it (no lifecycle
  hooks), and counts in ``GroupInServiceInstances`` from then on, while its workers poll only
  ``BOOT_SECONDS`` after the launch.
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
ahead of need, so boots never make it wait. Holding every task (not 95 %) within the fleet's
p95 and ignoring the group's maximum make it dearer than the best possible, so the ratio errs in
the fleet's favour.

Not modelled: CloudWatch's delay in publishing a datapoint, SQS's approximate counts, Spot
interruptions, and Availability Zone balancing.

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
from infra.transcoder import tasks_per_worker_expression

STEP_SECONDS = 10
DATAPOINT_SECONDS = 60
TRACKING_SCALE_OUT_DATAPOINTS = 3
TRACKING_SCALE_IN_DATAPOINTS = 15
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
    tracking_target: float | None
    """Target tracking's tasks per worker (None: no tracking policy)."""
    tracking_scales_in: bool
    wake_capacity: int | None
    wake_cooldown_seconds: float
    grow: StepRule | None
    """The step policy that scales out to what the tasks need."""
    shrink: StepRule | None
    """The step policy that scales in to what the tasks need."""


_NEEDED = re.compile(r"CEIL\(\(m1 \+ m3\) / \((\d+) \* ([0-9.]+)\)\)")


def _workers_in(expression: str) -> int:
    for workers in range(1, 257):
        if tasks_per_worker_expression(workers) == expression:
            return workers
    raise ValueError(f"the tracking metric {expression!r} is not the component's tasks-per-worker expression")


def fleet_scaling(stack: str = "prod") -> FleetScaling:
    from pulumi_offline.synth import synthesize  # the synthesis costs seconds: only when asked

    resources = synthesize(stack)

    def one(type_: str, name: str) -> dict[str, Any] | None:
        found = [r.inputs for r in resources if r.type == type_ and r.name == name]
        return found[0] if found else None

    def step_rule(name: str) -> tuple[StepRule, int] | None:
        policy = one("aws:autoscaling/policy:Policy", name)
        alarm = one("aws:cloudwatch/metricAlarm:MetricAlarm", name)
        if policy is None or alarm is None:
            return None
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
    assert group is not None
    policy = one("aws:autoscaling/policy:Policy", "transcoder-backlog")
    tracking = policy["targetTrackingConfiguration"] if policy else None
    wake = one("aws:autoscaling/policy:Policy", "transcoder-wake")
    grow, shrink = step_rule("transcoder-grow"), step_rule("transcoder-shrink")
    if tracking is not None:
        (load,) = [m for m in tracking["customizedMetricSpecification"]["metrics"] if m.get("returnData")]
        workers = _workers_in(load["expression"])
    elif grow is not None:
        workers = grow[1]
    else:
        raise ValueError("the transcoder group has neither a tracking nor a step policy scaling out")
    return FleetScaling(
        min_size=int(group["minSize"]),
        max_size=int(group["maxSize"]),
        warmup_seconds=float(group["defaultInstanceWarmup"]),
        workers_per_instance=workers,
        tracking_target=float(tracking["targetValue"]) if tracking else None,
        tracking_scales_in=tracking is not None and not tracking.get("disableScaleIn", False),
        wake_capacity=int(wake["scalingAdjustment"]) if wake else None,
        wake_cooldown_seconds=float(wake["cooldown"]) if wake else 0.0,
        grow=grow[0] if grow else None,
        shrink=shrink[0] if shrink else None,
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
    per_worker: list[float] = []
    growing: list[bool] = []
    shrinking: list[bool] = []
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
            while waiting and instance.serving_at <= t and len(instance.ends) < workers:
                task = waiting.popleft()
                waits.append(t - task.arrival)
                instance.ends.append(t + task.duration)
        if t % DATAPOINT_SECONDS == 0:
            in_service = sum(1 for i in live if i.running_at <= t)
            warming = any(i.running_at <= t < i.running_at + scaling.warmup_seconds for i in live)
            load = len(waiting) + sum(len(i.ends) for i in live)
            target = scaling.tracking_target
            if target is not None:
                per_worker.append(load / (in_service * workers) if in_service else float(load))
                # Target tracking's capacity is proportional to the in-service count: none, no action.
                needed = math.ceil(load / (workers * target)) if in_service else None
                recent = per_worker[-TRACKING_SCALE_OUT_DATAPOINTS:]
                if (
                    needed is not None
                    and len(recent) == TRACKING_SCALE_OUT_DATAPOINTS
                    and min(recent) > target
                ):
                    desired = max(desired, needed)
                quiet = per_worker[-TRACKING_SCALE_IN_DATAPOINTS:]
                if (
                    scaling.tracking_scales_in
                    and needed is not None
                    and not warming
                    and len(quiet) == TRACKING_SCALE_IN_DATAPOINTS
                    and max(quiet) < target
                ):
                    desired = min(desired, max(needed, scaling.min_size))
            if (rule := scaling.grow) is not None:
                short = math.ceil(load / (workers * rule.tasks_per_worker)) - desired
                growing.append(short >= rule.threshold)
                if len(growing) >= rule.datapoints and all(growing[-rule.datapoints :]):
                    desired += rule.adjustment(short)
            if (rule := scaling.shrink) is not None:
                excess = desired - math.ceil(load / (workers * rule.tasks_per_worker))
                shrinking.append(excess >= rule.threshold)
                if len(shrinking) >= rule.datapoints and all(shrinking[-rule.datapoints :]) and not warming:
                    desired -= rule.adjustment(excess)
            if scaling.wake_capacity is not None and waiting and in_service < 1 and t >= wake_ready_at:
                desired, wake_ready_at = scaling.wake_capacity, t + scaling.wake_cooldown_seconds
            desired = min(max(desired, scaling.min_size), scaling.max_size)
        for _ in range(desired - len(live)):
            instances.append(_Instance(launched=t))
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
