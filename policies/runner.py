"""``reelstack policy --stack dev|prod [--json]``: the policy pack over a stack's synthesized graph, offline.

No Pulumi CLI is needed: the stack program runs under Pulumi's mocks (``pulumi_offline.synth``), and
``pulumi_offline.policy`` calls each policy's own validate function the way the CrossGuard engine
does. Levels and settings come from ``policies/config/<stack>.json``, the file ``pulumi preview
--policy-pack-config`` takes. Exit status: 0 clean (advisories allowed), 1 on any mandatory
violation, 2 on bad usage or config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from pulumi_policy import EnforcementLevel, Policy

from pulumi_offline import policy, synth
from pulumi_offline.policy import ConfigError, PolicySetting, Violation

from .pack import POLICIES

CONFIG_DIR = Path(__file__).resolve().parent / "config"


def load_policy_config(path: Path) -> dict[str, PolicySetting]:
    """Each of reelstack's policies' level and config from a ``--policy-pack-config`` file."""
    return policy.load_policy_config(path, POLICIES)


def evaluate(
    resources: Sequence[synth.SynthResource],
    settings: dict[str, PolicySetting],
    *,
    policies: Sequence[Policy] = POLICIES,
) -> list[Violation]:
    """reelstack's pack (or some of its policies) over the resources, offline."""
    return policy.evaluate(resources, settings, policies=policies)


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
