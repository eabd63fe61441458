"""Fixtures for the component tests: the synthesized dev and prod graphs (once per session)."""

from __future__ import annotations

import pytest

from pulumi_offline.graph import Graph
from pulumi_offline.synth import synthesize_stack


@pytest.fixture(scope="session")
def prod() -> Graph:
    return Graph.of(synthesize_stack("prod"))


@pytest.fixture(scope="session")
def dev() -> Graph:
    return Graph.of(synthesize_stack("dev"))
