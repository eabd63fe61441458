"""reelstack's components as one multi-language Pulumi package, ``reelstack``.

``PulumiPlugin.yaml`` (Python runtime) runs ``provider/__main__.py``, which hosts these
components with ``pulumi.provider.experimental.component_provider_host``. Pulumi infers the
package schema from the components' type annotations (each ``*Args`` dataclass, its field
docstrings, the ``pulumi.Output[...]`` attributes the component class declares), so a
TypeScript, Go, C#, Java or YAML program gets the same components after
``pulumi package add <path to this repository>``. ``schema.json`` next to this module is that
schema, checked in; ``python -m infra.package`` rewrites it.
"""

import dataclasses
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pulumi
from pulumi.provider import main
from pulumi.provider.experimental.analyzer import Analyzer, PropertyDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema
from pulumi.provider.provider import Provider

from infra.apigateway_account import ApiGatewayAccount
from infra.backend import BackendService
from infra.database import Database
from infra.distribution import SiteDistribution
from infra.edge_protection import EdgeProtection
from infra.gateway import Gateway
from infra.network import Network
from infra.progress import ProgressService
from infra.signing_key import SigningKey
from infra.storage import MediaStorage
from infra.transcoder import TranscoderFleet
from infra.users import UserService
from infra.web import WebApp

PACKAGE = "reelstack"
VERSION = version("reelstack")
SCHEMA_FILE = Path(__file__).with_name("schema.json")
COMPONENTS: list[type[pulumi.ComponentResource]] = [
    ApiGatewayAccount,
    BackendService,
    Database,
    EdgeProtection,
    Gateway,
    MediaStorage,
    Network,
    ProgressService,
    SigningKey,
    SiteDistribution,
    TranscoderFleet,
    UserService,
    WebApp,
]


class ArgsAnalyzer(Analyzer):
    """Pulumi's analyzer, reading a dataclass field with a default as an optional input.

    Pulumi's own analyzer makes an input optional only when its type is ``Optional`` (or
    ``NotRequired`` in a ``TypedDict``); every ``*Args`` field with a default would otherwise
    be a required input in TypeScript or YAML although a Python program may leave it out.
    """

    def analyze_type(
        self, typ: type, *, is_component_output: bool
    ) -> tuple[dict[str, PropertyDefinition], dict[str, str]]:
        properties, mapping = super().analyze_type(typ, is_component_output=is_component_output)
        if dataclasses.is_dataclass(typ):
            defaulted = {
                f.name
                for f in dataclasses.fields(typ)
                if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            }
            for schema_name, py_name in mapping.items():
                if py_name in defaulted:
                    properties[schema_name].optional = True
        return properties, mapping


class PackageProvider(ComponentProvider):
    """``ComponentProvider`` (which constructs the components from the engine's inputs), with
    the schema analyzed by ``ArgsAnalyzer``."""

    def __init__(self) -> None:
        self._name = PACKAGE
        self.analyzer = ArgsAnalyzer(PACKAGE)
        result = self.analyzer.analyze(COMPONENTS)
        self._components = {component.__name__: component for component in COMPONENTS}
        self._component_defs = result["component_definitions"]
        self._type_defs = result["type_definitions"]
        self._external_enum_types = result["external_enum_types"]
        self._dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
        package_schema = generate_schema(
            PACKAGE, VERSION, None, self._component_defs, self._type_defs, self._dependencies
        )
        Provider.__init__(self, VERSION, json.dumps(package_schema.to_json()))


def provider() -> PackageProvider:
    """The provider ``pulumi package add`` talks to: it analyzes the components into a schema."""
    return PackageProvider()


def schema() -> dict[str, Any]:
    """The package schema, as the provider serves it."""
    served = provider().schema
    if served is None:
        raise RuntimeError("the component provider served no schema")
    return dict(json.loads(served))


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def host() -> None:
    """Serve the components to the Pulumi engine (the plugin's entry point): what
    ``component_provider_host`` does, with ``PackageProvider``. The language host passes the
    plugin's directory, then the engine's address and flags."""
    main(provider(), sys.argv[1:])


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text())
