"""A reader over a synthesized resource graph, for assertions: look resources up by type, name,
parent and component, read their policy documents and registered outputs.

A lookup that finds nothing, or more than one, fails with what the graph does hold, so a failing
test says what to fix rather than ``StopIteration``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pulumi_offline.synth import Synthesis, SynthInvoke, SynthResource


@dataclass(frozen=True)
class Graph:
    """The resources of one synthesized program, with small lookups for assertions."""

    resources: list[SynthResource]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    invokes: list[SynthInvoke] = field(default_factory=list)

    @classmethod
    def of(cls, synthesis: Synthesis) -> Graph:
        return cls(synthesis.resources, synthesis.outputs, synthesis.invokes)

    def invoked(self, token: str) -> list[dict[str, Any]]:
        """The arguments of every call of the data source ``token``, in call order."""
        return [i.args for i in self.invokes if i.token == token]

    @property
    def exports(self) -> dict[str, Any]:
        return Synthesis(self.resources, self.outputs).exports

    def outputs_of(self, component: SynthResource) -> dict[str, Any]:
        return self.outputs.get(component.urn, {})

    def of_type(self, type_: str) -> list[SynthResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> SynthResource:
        """The resource of this type and logical name; fails naming what the graph holds instead."""
        matches = [r for r in self.resources if r.type == type_ and r.name == name]
        if len(matches) != 1:
            same_type = sorted(r.name for r in self.of_type(type_))
            held = f"the {type_} resources are: {', '.join(same_type)}" if same_type else _types_held(self)
            raise AssertionError(f"expected one {type_} named {name!r}, found {len(matches)}; {held}")
        return matches[0]

    def by_urn(self, urn: str) -> SynthResource:
        found = next((r for r in self.resources if r.urn == urn), None)
        if found is None:
            raise AssertionError(f"no resource has URN {urn}; {_types_held(self)}")
        return found

    def component_of(self, resource: SynthResource) -> SynthResource | None:
        return self.by_urn(resource.parent) if resource.parent else None

    def children(self, component: SynthResource) -> list[SynthResource]:
        return [r for r in self.resources if r.parent == component.urn]

    def in_component(self, component_type: str) -> list[SynthResource]:
        components = {r.urn for r in self.of_type(component_type)}
        return [r for r in self.resources if r.parent in components]

    def policy(self, type_: str, name: str, key: str = "policy") -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.one(type_, name).inputs[key])
        return document

    def role_policy(self, name: str) -> dict[str, Any]:
        return self.policy("aws:iam/rolePolicy:RolePolicy", name)


def _types_held(graph: Graph) -> str:
    types = sorted({r.type for r in graph.resources})
    return f"the graph holds {len(graph.resources)} resources of types: {', '.join(types) or 'none'}"


def statements_allowing(document: dict[str, Any]) -> list[dict[str, Any]]:
    """An IAM-style document's ``Allow`` statements."""
    return [s for s in document["Statement"] if s.get("Effect") == "Allow"]


def as_list(value: Any) -> list[Any]:
    """A field IAM lets be one value or a list of them (``Action``, ``Resource``), as a list."""
    return list(value) if isinstance(value, list) else [value]
