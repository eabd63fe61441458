"""Entry point the Pulumi CLI runs for ``--policy-pack policies``: serves the pack to the engine.

The CLI runs this file with the pack's directory first on ``sys.path``; the policies import
each other as the ``policies`` package, so the repository root goes on the path too.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import DESCRIPTION, NAME, POLICIES

PolicyPack(
    name=NAME,
    description=DESCRIPTION,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
