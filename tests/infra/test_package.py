"""The components as a multi-language Pulumi package (``PulumiPlugin.yaml``, ``infra/package.py``).

Pulumi's component provider host infers the package schema from the components' type
annotations (``pulumi.provider.experimental.analyzer``), and constructs a component for a
TypeScript or YAML program through ``ComponentProvider.construct`` with the program's inputs
under their schema names: https://www.pulumi.com/docs/iac/using-pulumi/extending-pulumi/build-a-component/
and https://pulumi.com/docs/reference/pulumiplugin-yaml/ (the manifest's ``runtime``, ``main``).
"""

import dataclasses
import importlib
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer

import infra
from infra.package import COMPONENTS, PACKAGE, SCHEMA_FILE, provider, schema, schema_text
from pulumi_offline.graph import Graph
from pulumi_offline.synth import run_program

ROOT = Path(__file__).resolve().parents[2]
EXPORTED = [
    value
    for value in vars(infra).values()
    if isinstance(value, type) and issubclass(value, pulumi.ComponentResource)
]


@pytest.mark.parametrize("component", EXPORTED, ids=lambda c: c.__name__)
def test_pulumis_analyzer_reads_every_component(component: type[pulumi.ComponentResource]) -> None:
    """Pulumi's own analyzer, unchanged, infers inputs and outputs for each component."""
    definition = Analyzer(PACKAGE).analyze([component])["component_definitions"][component.__name__]
    assert definition.inputs and definition.outputs
    assert all(p.description for p in definition.inputs.values()), "every input is documented"


def test_the_package_hosts_every_exported_component() -> None:
    assert sorted(c.__name__ for c in COMPONENTS) == sorted(c.__name__ for c in EXPORTED)


def test_every_component_the_library_defines_is_exported_and_in_the_package() -> None:
    """infra/ is the component library: a component kept out of the package (the stack's
    Operations was, its inputs being other components' Python values) belongs to the stack."""
    defined = {
        value
        for module in ROOT.joinpath("infra").glob("*.py")
        for value in vars(importlib.import_module(f"infra.{module.stem}")).values()
        if isinstance(value, type)
        and issubclass(value, pulumi.ComponentResource)
        and value.__module__ == f"infra.{module.stem}"
    }
    assert {c.__name__ for c in defined} == {c.__name__ for c in COMPONENTS}


def test_checked_in_schema_is_what_the_code_generates() -> None:
    """``infra/schema.json`` is generated (``python -m infra.package``), never edited by hand."""
    assert SCHEMA_FILE.read_text() == schema_text(), "run: python -m infra.package"


def test_inputs_with_a_python_default_are_optional_in_the_schema() -> None:
    """A TypeScript or YAML program may leave out what a Python program may leave out."""
    fleet = schema()["resources"][f"{PACKAGE}:index:TranscoderFleet"]
    assert "scaling" in fleet["inputProperties"] and "scaling" not in fleet["requiredInputs"]
    assert {"placement", "uploadsBucket", "names"} <= set(fleet["requiredInputs"])
    for component in COMPONENTS:
        resource = schema()["resources"][f"{PACKAGE}:index:{component.__name__}"]
        args = dataclasses.fields(_args_type(component))
        required = {
            f.name
            for f in args
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        assert len(resource.get("requiredInputs", [])) == len(required), component.__name__


def test_every_declared_output_is_in_the_schema_and_registered() -> None:
    for component in COMPONENTS:
        resource = schema()["resources"][f"{PACKAGE}:index:{component.__name__}"]
        declared = [n for n in component.__annotations__ if not n.startswith("_")]
        assert len(resource["properties"]) == len(declared), component.__name__


def test_plugin_manifest_runs_the_provider_host_with_the_python_runtime() -> None:
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    entry = ROOT / manifest["main"] / "__main__.py"
    assert "host()" in entry.read_text()


def _args_type(component: type[pulumi.ComponentResource]) -> type:
    args: type = component.__init__.__annotations__["args"]
    return args


def _placeholder(name: str, prop: dict[str, Any], types: dict[str, Any]) -> Any:
    """A value of the schema type of input ``name``, as a YAML program would write it."""
    if "$ref" in prop:
        nested = types[prop["$ref"].removeprefix("#/types/")]
        if nested["properties"].keys() == {"prefix"}:
            return {"prefix": "lab-provider"}
        return {
            k: _placeholder(k, v, types)
            for k, v in nested["properties"].items()
            if k in nested.get("required", [])
        }
    if prop.get("type") == "array":
        return [f"{name}-a", f"{name}-b"]
    if name.endswith("Arn"):
        return f"arn:aws:sqs:eu-west-1:123456789012:{name}"
    if name == "vpcCidr":
        return "10.1.0.0/16"
    return f"{name}-value"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_provider_constructs_each_component_from_schema_inputs(
    component: type[pulumi.ComponentResource],
) -> None:
    """The path ``pulumi package add`` uses: the provider maps a program's camelCase inputs to
    the ``*Args``, builds the component and answers its outputs under their schema names."""
    package_schema = schema()
    token = f"{PACKAGE}:index:{component.__name__}"
    resource = package_schema["resources"][token]
    inputs = {
        name: _placeholder(name, resource["inputProperties"][name], package_schema.get("types", {}))
        for name in resource.get("requiredInputs", [])
    }
    states: list[dict[str, Any]] = []

    def program() -> None:
        result = provider().construct("lab", token, inputs, None)
        states.append(dict(result.state))

    graph = Graph.of(run_program(program))
    built = graph.one(token, "lab")
    assert graph.children(built), "the component made its resources"
    assert set(states[0]) <= set(resource["properties"]) and states[0]


@pytest.mark.parametrize(
    ("component", "children"),
    [
        (
            "TranscoderFleet",
            {"queue": "sqs/queue:Queue", "dlq": "sqs/queue:Queue", "group": "autoscaling/group:Group"},
        ),
        ("TranscoderFleet", {"role": "iam/role:Role", "securityGroup": "ec2/securityGroup:SecurityGroup"}),
        ("BackendService", {"role": "iam/role:Role", "loadBalancer": "lb/loadBalancer:LoadBalancer"}),
        ("ProgressService", {"topic": "sns/topic:Topic", "securityGroup": "ec2/securityGroup:SecurityGroup"}),
        ("MediaStorage", {"uploads": "s3/bucket:Bucket", "media": "s3/bucket:Bucket"}),
        (
            "SiteDistribution",
            {
                "distribution": "cloudfront/distribution:Distribution",
                "grantStore": "cloudfront/keyValueStore:KeyValueStore",
            },
        ),
        (
            "Database",
            {"instance": "rds/instance:Instance", "securityGroup": "ec2/securityGroup:SecurityGroup"},
        ),
        ("UserService", {"userPool": "cognito/userPool:UserPool", "function": "lambda/function:Function"}),
        ("Network", {"vpc": "ec2/vpc:Vpc"}),
    ],
)
def test_main_children_are_outputs_a_program_can_customise(component: str, children: dict[str, str]) -> None:
    """As pulumi-awsx does: the component hands out its main resources, typed by the aws schema."""
    package_schema = schema()
    outputs = package_schema["resources"][f"{PACKAGE}:index:{component}"]["properties"]
    aws = next(d for d in package_schema["dependencies"] if d["name"] == "aws")
    for output, token in children.items():
        ref = f"/aws/v{aws['version']}/schema.json#/resources/aws:{token.replace('/', '%2F')}"
        assert outputs[output]["$ref"] == ref, output


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_no_component_is_handed_another_resource_to_build_under(
    component: type[pulumi.ComponentResource],
) -> None:
    """Components take values (ids, ARNs, URLs), never a resource to create children under:
    the stack wires access between them (``Database.allow_from`` for the backend)."""
    args = _args_type(component)
    module = vars(sys.modules[args.__module__])
    for f in dataclasses.fields(args):
        hint = module.get(f.type) if isinstance(f.type, str) else f.type
        assert not (isinstance(hint, type) and issubclass(hint, pulumi.Resource)), f.name
