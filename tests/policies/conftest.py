"""Fixtures for the policy tests: the synthesized stacks (once per session) and a resource builder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from pulumi_offline.synth import SynthResource, synthesize


def resource(
    type_: str,
    logical_name: str,
    /,
    *,
    links: Mapping[str, Sequence[SynthResource]] | None = None,
    **inputs: Any,
) -> SynthResource:
    """A resource as synth records it: camelCase inputs, as the engine sends them.

    ``links`` names, per input, the resources whose outputs feed it (its property dependencies).
    """
    return SynthResource(
        type=type_,
        name=logical_name,
        urn=f"urn:pulumi:test::reelstack::{type_}::{logical_name}",
        parent=None,
        inputs=inputs,
        protect=False,
        custom=True,
        property_dependencies={k: [r.urn for r in rs] for k, rs in (links or {}).items()},
    )


@pytest.fixture(scope="session")
def prod_graph() -> list[SynthResource]:
    return synthesize("prod")


@pytest.fixture(scope="session")
def dev_graph() -> list[SynthResource]:
    return synthesize("dev")
