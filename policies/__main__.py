"""Entry point the Pulumi CLI runs for ``--policy-pack policies``: serves the pack to the engine.

The CLI runs this file (``python -m pulumi.policy <engine> <pack dir>``) with the pack's
directory, not its parent, on ``sys.path``; the policies are a package with relative imports,
so the parent goes on the path and the package is imported under the directory's own name.
"""

import importlib
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
pack = importlib.import_module(f"{HERE.name}.pack")

PolicyPack(
    name=pack.NAME,
    description=pack.DESCRIPTION,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=pack.POLICIES,
)
