"""A CrossGuard (``pulumi-policy``) pack run offline over a synthesized graph: no CLI, no engine.

Each policy's own validate function is called with ``ResourceValidationArgs`` /
``StackValidationArgs`` built the way the engine's analyzer builds them: resource policies see
a resource's inputs, stack policies see every resource with its outputs, parent and property
dependencies. Levels and settings come from a ``--policy-pack-config`` document, the file
``pulumi preview --policy-pack-config`` takes, validated against each policy's schema.

A pack is either a sequence of policies or a pack directory: ``load_policy_pack`` runs its
``__main__.py`` with ``PolicyPack`` caught instead of served, so an unmodified pack runs here.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import runpy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import pulumi_policy
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from pulumi_offline.synth import STACK_TYPE, SynthResource, program_imports


class ConfigError(ValueError):
    """The policy config names an unknown policy or breaks a policy's schema."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    resource_type: str
    resource_name: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.level}] {self.policy}: {self.resource_type} {self.resource_name}: {self.message}"


@dataclass(frozen=True)
class PolicySetting:
    level: EnforcementLevel
    config: dict[str, Any]


@dataclass(frozen=True)
class PolicyPackSpec:
    """What a pack's ``PolicyPack(...)`` call declares: its policies, default level and initial config."""

    name: str
    policies: list[Policy]
    enforcement_level: EnforcementLevel = EnforcementLevel.ADVISORY
    initial_config: dict[str, Any] = field(default_factory=dict)


class _CaughtPack(Exception):
    """Raised by the stand-in ``PolicyPack`` to stop the pack program where the real one would serve."""

    def __init__(self, spec: PolicyPackSpec) -> None:
        super().__init__(spec.name)
        self.spec = spec


def _catch_pack(
    name: str,
    policies: list[Policy],
    enforcement_level: EnforcementLevel | None = None,
    initial_config: Mapping[str, Any] | None = None,
    **_metadata: Any,
) -> None:
    raise _CaughtPack(
        PolicyPackSpec(
            name, list(policies), enforcement_level or EnforcementLevel.ADVISORY, dict(initial_config or {})
        )
    )


def load_policy_pack(directory: Path | str) -> PolicyPackSpec:
    """The pack a policy pack directory declares, read by running its ``__main__.py`` offline.

    ``PolicyPack`` serves the pack to the engine forever; here a stand-in catches its arguments
    instead. The pack's own modules are imported from the directory, as the CLI does, and dropped
    afterwards so the next load runs them again.
    """
    path = Path(directory).resolve()
    main = path / "__main__.py"
    if not main.is_file():
        raise FileNotFoundError(f"{path} is not a policy pack: it has no __main__.py (see PulumiPolicy.yaml)")
    with program_imports(path), mock.patch.object(pulumi_policy, "PolicyPack", _catch_pack):
        try:
            runpy.run_path(str(main), run_name="__main__")
        except _CaughtPack as caught:
            return caught.spec
    raise ValueError(f"{main} ran to its end without creating a PolicyPack(...)")


def policy_settings(
    document: Mapping[str, Any],
    policies: Sequence[Policy],
    *,
    pack_level: EnforcementLevel = EnforcementLevel.ADVISORY,
    source: str = "policy config",
) -> dict[str, PolicySetting]:
    """Each policy's level and config from a ``--policy-pack-config`` document, validated against its schema.

    Levels resolve as the engine resolves them: the policy's own entry, then ``all``, then the
    policy's declared level, then the pack's.
    """
    by_name = {p.name: p for p in policies}
    unknown = sorted(set(document) - {*by_name, "all"})
    if unknown:
        raise ConfigError(f"{source}: unknown policies {', '.join(unknown)}; known: {', '.join(by_name)}")
    default_level = _level(document.get("all"), source, "all")
    result = {}
    for name, policy in by_name.items():
        entry = document.get(name)
        config = dict(entry) if isinstance(entry, Mapping) else {}
        level = _level(
            config.pop("enforcementLevel", None) if isinstance(entry, Mapping) else entry, source, name
        )
        if policy.config_schema is not None:
            # Stricter than the schema alone: a misspelt setting must not silently fall back to its default.
            schema = {
                "type": "object",
                "properties": policy.config_schema.properties,
                "additionalProperties": False,
            }
            if policy.config_schema.required:
                schema["required"] = policy.config_schema.required
            try:
                jsonschema.validate(config, schema)
            except jsonschema.ValidationError as exc:
                raise ConfigError(f"{source}: {name}: {exc.message}") from exc
        elif config:
            raise ConfigError(f"{source}: {name} takes no config, got {', '.join(config)}")
        resolved = level or default_level or policy.enforcement_level or pack_level
        result[name] = PolicySetting(resolved, config)
    return result


def read_policy_config(path: Path | str) -> dict[str, Any]:
    """A ``--policy-pack-config`` JSON file's document."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read policy config {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected an object of policy names")
    return document


def load_policy_config(
    path: Path, policies: Sequence[Policy], *, pack_level: EnforcementLevel = EnforcementLevel.ADVISORY
) -> dict[str, PolicySetting]:
    """``policy_settings`` of a ``--policy-pack-config`` JSON file."""
    return policy_settings(read_policy_config(path), policies, pack_level=pack_level, source=str(path))


def pack_settings(
    pack: PolicyPackSpec, document: Mapping[str, Any] | None = None
) -> dict[str, PolicySetting]:
    """The pack's settings under ``document``, whose entries replace the pack's initial config."""
    initial = {
        k: v.value if isinstance(v, EnforcementLevel) else dict(v) for k, v in pack.initial_config.items()
    }
    return policy_settings(
        {**initial, **(document or {})},
        pack.policies,
        pack_level=pack.enforcement_level,
        source=f"policy config of pack {pack.name}",
    )


def _level(value: Any, source: str, name: str) -> EnforcementLevel | None:
    if value is None:
        return None
    try:
        return EnforcementLevel(value)
    except ValueError:
        levels = ", ".join(level.value for level in EnforcementLevel)
        raise ConfigError(f"{source}: {name}: enforcement level {value!r} is not one of {levels}") from None


def _options(resource: SynthResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=list(resource.aliases),
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def stack_resources(resources: Sequence[SynthResource]) -> list[PolicyResource]:
    """The resources as ``StackValidationArgs`` carries them: outputs, parents and property dependencies.

    Outputs are the inputs updated with what the provider computed; property dependencies are
    the ones each registration sent, so a policy follows exactly the links the engine reports.
    """
    policy_resources = {
        r.urn: PolicyResource(
            r.type,
            unknown_checking_proxy({**r.inputs, **r.computed}),
            r.urn,
            r.name,
            _options(r),
            None,
            None,
            [],
            {},
        )
        for r in resources
    }
    for r in resources:
        resource = policy_resources[r.urn]
        resource.parent = policy_resources.get(r.parent) if r.parent else None
        for key, urns in r.property_dependencies.items():
            # The graph holds no provider or stack resources, which a dependency may also name.
            known_urns = [u for u in urns if u in policy_resources]
            if known_urns:
                resource.property_dependencies[key] = [policy_resources[u] for u in known_urns]
        resource.dependencies = sorted(
            {d.urn: d for ds in resource.property_dependencies.values() for d in ds}.values(),
            key=lambda d: d.urn,
        )
    return list(policy_resources.values())


@dataclass
class _Collector:
    """The ``report_violation`` callback the engine hands a policy, collecting into a list."""

    policy: Policy
    level: EnforcementLevel
    by_urn: Mapping[str, SynthResource]
    violations: list[Violation]
    default_urn: str = ""

    def __call__(self, message: str, urn: str | None = None) -> None:
        urn = urn or self.default_urn
        target = self.by_urn.get(urn)
        self.violations.append(
            Violation(
                policy=self.policy.name,
                level=self.level.value,
                resource_type=target.type if target else STACK_TYPE,
                resource_name=target.name if target else "(stack)",
                urn=urn,
                message=message or self.policy.description,
            )
        )


def _finish(result: object) -> None:
    """Run an async validate function to its end, as the analyzer does, on a loop of its own."""
    if inspect.isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def evaluate(
    resources: Sequence[SynthResource],
    settings: Mapping[str, PolicySetting],
    *,
    policies: Sequence[Policy],
) -> list[Violation]:
    """Run every enabled policy over the resources; return what they report.

    A policy without a setting runs at its declared level (advisory if none); ``remediate``
    reports as ``mandatory``, as the engine does when a remediation still leaves a violation.
    """
    by_urn = {r.urn: r for r in resources}
    violations: list[Violation] = []
    stack_view: list[PolicyResource] | None = None
    for policy in policies:
        setting = settings.get(policy.name) or PolicySetting(
            policy.enforcement_level or EnforcementLevel.ADVISORY, {}
        )
        if setting.level == EnforcementLevel.DISABLED:
            continue
        level = EnforcementLevel.MANDATORY if setting.level == EnforcementLevel.REMEDIATE else setting.level
        if isinstance(policy, ResourceValidationPolicy):
            if not policy.has_validation():  # a remediation-only policy reports nothing
                continue
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, _options(r), None, setting.config
                )
                _finish(policy.validate(args, _Collector(policy, level, by_urn, violations, r.urn)))
        elif isinstance(policy, StackValidationPolicy):
            if stack_view is None:
                stack_view = stack_resources(resources)
            _finish(
                policy.validate(
                    StackValidationArgs(stack_view, setting.config),
                    _Collector(policy, level, by_urn, violations),
                )
            )
    return violations


@dataclass(frozen=True)
class PolicyReport:
    """What a pack reported over a graph, split by level, with an assertion that lists every violation."""

    pack: str
    violations: list[Violation]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY.value]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.ADVISORY.value]

    def of(self, policy: str) -> list[Violation]:
        """The violations one policy reported."""
        return [v for v in self.violations if v.policy == policy]

    def __str__(self) -> str:
        lines = [f"{v}\n    {v.urn}" for v in self.violations]
        return "\n".join(
            [*lines, f"pack {self.pack}: {len(self.mandatory)} mandatory, {len(self.advisory)} advisory"]
        )

    def assert_passes(self) -> None:
        """Fail, listing every violation, when a mandatory policy reported one (as ``pulumi preview`` would)."""
        if self.mandatory:
            raise AssertionError(f"policy pack {self.pack} blocks this graph:\n{self}")


def run_pack(
    pack: PolicyPackSpec, resources: Sequence[SynthResource], config: Mapping[str, Any] | None = None
) -> PolicyReport:
    """The pack over the resources, under ``config`` (a ``--policy-pack-config`` document)."""
    settings = pack_settings(pack, config)
    return PolicyReport(pack.name, evaluate(resources, settings, policies=pack.policies))
