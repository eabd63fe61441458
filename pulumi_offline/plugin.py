"""The pytest plugin: a Pulumi Python project's stacks, components and policy pack tested offline.

Installed, it loads itself (the ``pytest11`` entry point ``pulumi_offline.plugin``); elsewhere
``-p pulumi_offline.plugin`` loads it. Its fixtures are factories, session-scoped so a test
module can build a graph once in a fixture of its own:

- ``synth_program(program=None, *, stack=None, config=None)``: a project directory (its
  ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``) or a callable, run under Pulumi's mocks, as a
  ``Graph``.
- ``synth_component(component_type, name, *args, stack=None, config=None, **kwargs)``: one
  component constructed under the mocks, as a ``Construction`` (the graph and the component).
- ``policy_run(pack, graph, *, config=None)``: a CrossGuard pack (its directory, or its
  policies) over a graph, as a ``PolicyReport``.

Two ini options say what a test may leave out: ``pulumi_offline_project`` (the project
directory, relative to the rootdir; default the rootdir when it holds ``Pulumi.yaml``) and
``pulumi_offline_stack`` (default ``test``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi_policy import Policy

from pulumi_offline.graph import Graph
from pulumi_offline.policy import PolicyPackSpec, PolicyReport, load_policy_pack, read_policy_config, run_pack
from pulumi_offline.synth import (
    PulumiProject,
    Synthesis,
    SynthResource,
    namespaced,
    run_program,
    synthesize_project,
)

DEFAULT_STACK = "test"
DEFAULT_PROJECT_NAME = "project"
"""The project a callable program runs in when no ``Pulumi.yaml`` names one (it shows in URNs)."""

Program = Path | str | Callable[[], object]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "pulumi_offline_project",
        "the Pulumi project directory synth_program runs when a test names no program, relative to "
        "the rootdir (default: the rootdir, when it holds Pulumi.yaml)",
        default="",
    )
    parser.addini(
        "pulumi_offline_stack",
        "the stack synth_program and synth_component use when a test names none",
        default=DEFAULT_STACK,
    )


@dataclass(frozen=True)
class ProgramSynth:
    """``synth_program``: run a Pulumi program under the mocks and return its graph."""

    project_dir: Path | None
    stack: str

    @property
    def project_name(self) -> str:
        return PulumiProject.read(self.project_dir).name if self.project_dir else DEFAULT_PROJECT_NAME

    def __call__(
        self,
        program: Program | None = None,
        *,
        stack: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Graph:
        """Run ``program`` for ``stack`` under the mocks.

        ``program`` is a project directory (default: the ini's ``pulumi_offline_project``), whose
        ``Pulumi.<stack>.yaml`` gives the config, or a callable that creates resources. ``config``
        adds to or replaces that config: ``namespace:key``, or a bare key for the project's own;
        values that are not strings are passed as JSON, as ``pulumi config set --path`` stores them.
        """
        stack = stack or self.stack
        if program is None:
            if self.project_dir is None:
                raise pytest.UsageError(
                    "synth_program() was given no program and finds no Pulumi.yaml in the rootdir; "
                    "pass a project directory or a callable, or set pulumi_offline_project in the pytest ini"
                )
            program = self.project_dir
        if callable(program):
            name = self.project_name
            return Graph.of(
                run_program(program, project=name, stack=stack, config=namespaced(config or {}, name))
            )
        return Graph.of(synthesize_project(program, stack, overrides=config))


@dataclass(frozen=True)
class Construction:
    """One component constructed under the mocks: the whole graph, and the component in it."""

    graph: Graph
    component: SynthResource

    @property
    def children(self) -> list[SynthResource]:
        """The resources the component parented to itself directly."""
        return self.graph.children(self.component)

    @property
    def outputs(self) -> dict[str, Any]:
        """What the component passed to ``register_outputs``, resolved."""
        return self.graph.outputs_of(self.component)


@dataclass(frozen=True)
class ComponentSynth:
    """``synth_component``: construct one component under the mocks."""

    programs: ProgramSynth

    def __call__(
        self,
        component_type: Callable[..., pulumi.Resource],
        name: str,
        *args: Any,
        stack: str | None = None,
        config: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Construction:
        """``component_type(name, *args, **kwargs)`` in a program of its own, for ``stack`` under ``config``."""
        made: list[pulumi.Resource] = []
        graph = self.programs(
            lambda: made.append(component_type(name, *args, **kwargs)), stack=stack, config=config
        )
        component = made[0]
        return Construction(graph, graph.one(component.pulumi_resource_type, component.pulumi_resource_name))


Pack = Path | str | PolicyPackSpec | Sequence[Policy]
Resources = Graph | Synthesis | Sequence[SynthResource]


@dataclass(frozen=True)
class PolicyRun:
    """``policy_run``: a CrossGuard policy pack over a graph, offline, as ``pulumi preview --policy-pack`` would run it."""

    def __call__(
        self, pack: Pack, graph: Resources, *, config: Mapping[str, Any] | Path | str | None = None
    ) -> PolicyReport:
        """Run ``pack`` over ``graph``.

        ``pack`` is a pack directory (its ``__main__.py`` is run with ``PolicyPack`` caught, so
        the pack is the one the CLI would serve) or a sequence of policies (a pack at advisory
        level). ``config`` is a ``--policy-pack-config`` document, or the path of its JSON file.
        """
        if isinstance(pack, Path | str):
            spec = load_policy_pack(pack)
        elif isinstance(pack, PolicyPackSpec):
            spec = pack
        else:
            spec = PolicyPackSpec("policies", list(pack))
        resources = graph.resources if isinstance(graph, Graph | Synthesis) else list(graph)
        document = read_policy_config(config) if isinstance(config, Path | str) else config
        return run_pack(spec, resources, document)


def _project_dir(config: pytest.Config) -> Path | None:
    configured = str(config.getini("pulumi_offline_project"))
    directory = config.rootpath / configured if configured else config.rootpath
    if (directory / "Pulumi.yaml").is_file():
        return directory
    if configured:
        raise pytest.UsageError(f"pulumi_offline_project = {configured}: {directory} holds no Pulumi.yaml")
    return None


@pytest.fixture(scope="session")
def synth_program(pytestconfig: pytest.Config) -> ProgramSynth:
    """Run a Pulumi program (a project directory, or a callable) under Pulumi's mocks; get its ``Graph``."""
    return ProgramSynth(_project_dir(pytestconfig), str(pytestconfig.getini("pulumi_offline_stack")))


@pytest.fixture(scope="session")
def synth_component(synth_program: ProgramSynth) -> ComponentSynth:
    """Construct one component under Pulumi's mocks; get the graph and the component in it."""
    return ComponentSynth(synth_program)


@pytest.fixture(scope="session")
def policy_run() -> PolicyRun:
    """Run a CrossGuard policy pack over a graph without the Pulumi CLI; get its ``PolicyReport``."""
    return PolicyRun()
