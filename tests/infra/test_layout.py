"""``infra/`` is the component library and nothing else: importing it loads no tooling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# pulumi itself loads its mocks module and yaml, so those cannot tell; our tooling and the emulator can.
TOOLING_MODULES = ("pulumi_offline", "moto", "policies", "app.local")


def test_importing_the_component_library_loads_no_tooling() -> None:
    probe = f"import sys, infra; print(','.join(m for m in {TOOLING_MODULES!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"importing infra loaded tooling modules: {loaded}"


def test_infra_holds_only_component_modules() -> None:
    tooling = [p.name for p in (ROOT / "infra").glob("*.py") if "set_mocks" in p.read_text()]
    assert tooling == []
