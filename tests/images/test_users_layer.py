"""The user-service layer script installs exactly the third-party packages the handler imports.

Both sides are read: the imports of the files the function's code archive holds (the handler and
the ``app`` modules it pulls in), the packages from the script's ``packages=(...)`` line.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions

from infra.users import ARCHITECTURE, RUNTIME, handler_sources
from tests.images.conftest import IMAGES

ROOT = IMAGES.parent
# Provided by the Lambda Python runtime itself.
RUNTIME_PROVIDED = {"boto3", "botocore"}


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _third_party_imports(module: str) -> set[str]:
    """Top-level names of non-``app``, non-stdlib modules imported by the files the function's
    archive holds for ``module`` (``infra.users.handler_sources``)."""
    found: set[str] = set()
    for path in handler_sources(module):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            found |= {n.split(".")[0] for n in names} - {"app", "__future__"} - sys.stdlib_module_names
    return found


def test_layer_packages_are_the_handlers_third_party_imports() -> None:
    distributions = packages_distributions()
    needed = {
        _normalized(dist) for top in _third_party_imports("app.users.handler") for dist in distributions[top]
    } - RUNTIME_PROVIDED
    script = (IMAGES / "users-layer.sh").read_text()
    listed = re.search(r"^packages=\(([^)]*)\)$", script, re.MULTILINE)
    assert listed, "images/users-layer.sh has no packages=(...) line"
    assert {_normalized(p) for p in listed.group(1).split()} == needed


def test_layer_is_built_for_the_functions_runtime_and_architecture() -> None:
    script = (IMAGES / "users-layer.sh").read_text()
    version = RUNTIME.removeprefix("python")
    assert f"--python-version {version}" in script
    assert f"--platform manylinux2014_{'aarch64' if ARCHITECTURE == 'arm64' else 'x86_64'}" in script
    assert "-c constraints.txt" in script and (ROOT / "constraints.txt").is_file()
