"""stacks/config.py: a value a platform team sets is the value the stack uses, zero included."""

from __future__ import annotations

from pulumi_offline.synth import synthesize_stack
from tests.infra.graph import Graph


def test_an_explicit_zero_is_kept_rather_than_replaced_by_the_default() -> None:
    graph = Graph.of(
        synthesize_stack(
            "dev",
            overrides={"reelstack:backendMinSize": "0", "reelstack:progressMinSize": "0"},
        )
    )
    assert graph.one("aws:autoscaling/group:Group", "backend-asg").inputs["minSize"] == 0
    assert graph.one("aws:autoscaling/group:Group", "progress-asg").inputs["minSize"] == 0
