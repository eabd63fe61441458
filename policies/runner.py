"""``reelstack policy --stack dev|prod [--json]``: the policy pack over a stack's synthesized graph, offline.

No Pulumi CLI is needed: the stack program runs under Pulumi's mocks (``pulumi_offline.synth``), and each
policy's own validate function is called with ``ResourceValidationArgs`` / ``StackValidationArgs``
built the way the CrossGuard engine builds them: resource policies see a resource's inputs,
stack policies see every resource with its outputs, parent and property dependencies. Levels
and settings come from ``policies/config/<stack>.json``, the file ``pulumi preview
--policy-pack-config`` takes. Exit status: 0 clean (advisories allowed), 1 on any mandatory
violation, 2 on bad usage or config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jsonschema
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

from pulumi_offline import synth

from .pack import POLICIES

CONFIG_DIR = Path(__file__).resolve().parent / "config"


class ConfigError(ValueError):
    """The policy config file names an unknown policy or breaks a policy's schema."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    resource_type: str
    resource_name: str
    urn: str
    message: str


@dataclass(frozen=True)
class PolicySetting:
    level: EnforcementLevel
    config: dict[str, Any]


def load_policy_config(path: Path, policies: Sequence[Policy] = POLICIES) -> dict[str, PolicySetting]:
    """Each policy's level and config from a ``--policy-pack-config`` file, validated against its schema."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read policy config {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected an object of policy names")
    by_name = {p.name: p for p in policies}
    unknown = sorted(set(document) - {*by_name, "all"})
    if unknown:
        raise ConfigError(f"{path}: unknown policies {', '.join(unknown)}; known: {', '.join(by_name)}")
    default_level = _level(document.get("all"), path, "all")
    result = {}
    for name, policy in by_name.items():
        entry = document.get(name)
        config = dict(entry) if isinstance(entry, dict) else {}
        level = _level(config.pop("enforcementLevel", None) if isinstance(entry, dict) else entry, path, name)
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
                raise ConfigError(f"{path}: {name}: {exc.message}") from exc
        elif config:
            raise ConfigError(f"{path}: {name} takes no config, got {', '.join(config)}")
        resolved = level or default_level or policy.enforcement_level or EnforcementLevel.ADVISORY
        result[name] = PolicySetting(resolved, config)
    return result


def _level(value: Any, path: Path, name: str) -> EnforcementLevel | None:
    if value is None:
        return None
    try:
        return EnforcementLevel(value)
    except ValueError:
        levels = ", ".join(level.value for level in EnforcementLevel)
        raise ConfigError(f"{path}: {name}: enforcement level {value!r} is not one of {levels}") from None


def _options(resource: synth.SynthResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def stack_resources(resources: Sequence[synth.SynthResource]) -> list[PolicyResource]:
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
    by_urn: Mapping[str, synth.SynthResource]
    violations: list[Violation]
    default_urn: str = ""

    def __call__(self, message: str, urn: str | None = None) -> None:
        urn = urn or self.default_urn
        target = self.by_urn.get(urn)
        self.violations.append(
            Violation(
                policy=self.policy.name,
                level=self.level.value,
                resource_type=target.type if target else synth.STACK_TYPE,
                resource_name=target.name if target else "(stack)",
                urn=urn,
                message=message or self.policy.description,
            )
        )


def evaluate(
    resources: Sequence[synth.SynthResource],
    settings: Mapping[str, PolicySetting],
    *,
    policies: Sequence[Policy] = POLICIES,
) -> list[Violation]:
    """Run every enabled policy over the resources; return what they report."""
    by_urn = {r.urn: r for r in resources}
    violations: list[Violation] = []
    stack_view: list[PolicyResource] | None = None
    for policy in policies:
        setting = settings.get(policy.name) or PolicySetting(
            policy.enforcement_level or EnforcementLevel.ADVISORY, {}
        )
        if setting.level == EnforcementLevel.DISABLED:
            continue
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, _options(r), None, setting.config
                )
                policy.validate(args, _Collector(policy, setting.level, by_urn, violations, r.urn))
        elif isinstance(policy, StackValidationPolicy):
            if stack_view is None:
                stack_view = stack_resources(resources)
            policy.validate(
                StackValidationArgs(stack_view, setting.config),
                _Collector(policy, setting.level, by_urn, violations),
            )
    return violations


def _load_graph(path: Path) -> list[synth.SynthResource]:
    return [synth.SynthResource(**item) for item in json.loads(path.read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="reelstack policy", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--stack", required=True, choices=["dev", "prod"], help="which stack to check")
    parser.add_argument("--json", action="store_true", help="print violations and summary as JSON")
    parser.add_argument(
        "--config", type=Path, help="policy config file (default: policies/config/<stack>.json)"
    )
    parser.add_argument(
        "--graph",
        type=Path,
        help="check this `reelstack synth --json` output instead of synthesizing the stack",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_policy_config(args.config or CONFIG_DIR / f"{args.stack}.json")
    except ConfigError as exc:
        print(f"reelstack policy: {exc}", file=sys.stderr)
        return 2
    resources = _load_graph(args.graph) if args.graph else synth.synthesize(args.stack)
    violations = evaluate(resources, settings)
    mandatory = [v for v in violations if v.level == EnforcementLevel.MANDATORY.value]
    enabled = [name for name, s in settings.items() if s.level != EnforcementLevel.DISABLED]
    summary = {
        "stack": args.stack,
        "resources": len(resources),
        "policies": len(enabled),
        "disabled": sorted(set(settings) - set(enabled)),
        "mandatory": len(mandatory),
        "advisory": len(violations) - len(mandatory),
    }
    if args.json:
        json.dump({"summary": summary, "violations": [asdict(v) for v in violations]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for v in violations:
            print(f"[{v.level}] {v.policy}: {v.resource_type} {v.resource_name}: {v.message}\n    {v.urn}")
        disabled = f" ({len(summary['disabled'])} disabled)" if summary["disabled"] else ""
        print(
            f"stack {args.stack}: {summary['resources']} resources, {summary['policies']} policies{disabled}: "
            f"{summary['mandatory']} mandatory, {summary['advisory']} advisory violation(s)"
        )
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
