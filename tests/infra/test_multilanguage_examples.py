"""The YAML and TypeScript examples name only what the package schema has.

Without the Pulumi CLI here, these read the programs: every reelstack resource's type is in
the schema, its properties are inputs of that type and include the required ones, and what the
program reads back is an output. Pulumi YAML's resource syntax (``type``, ``properties``,
``${resource.output}``): https://www.pulumi.com/docs/iac/languages-sdks/yaml/yaml-language-reference/
"""

import re
from pathlib import Path
from typing import Any

import yaml

from infra.package import PACKAGE, schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _check(token: str, properties: set[str], reads: set[str]) -> None:
    resources = schema()["resources"]
    assert token in resources, f"{token} is not a component of the package"
    resource = resources[token]
    assert properties <= set(resource["inputProperties"]), properties - set(resource["inputProperties"])
    assert set(resource.get("requiredInputs", [])) <= properties, "every required input is given"
    assert reads and reads <= set(resource["properties"]), reads - set(resource["properties"])


def test_yaml_example_uses_the_fleet_as_the_schema_defines_it() -> None:
    program: dict[str, Any] = yaml.safe_load((EXAMPLES / "transcoder_fleet_yaml" / "Pulumi.yaml").read_text())
    components = {n: r for n, r in program["resources"].items() if r["type"].startswith(f"{PACKAGE}:")}
    assert list(components) == ["lab-transcoder"]
    text = yaml.safe_dump(program)
    for name, resource in components.items():
        reads = set(re.findall(rf"\$\{{{re.escape(name)}\.(\w+)\}}", text))
        _check(resource["type"], set(resource["properties"]), reads)
        _check_nested(resource["type"], resource["properties"])


def _check_nested(token: str, properties: dict[str, Any]) -> None:
    """Nested inputs (``names``, ``image``) name only fields of their schema type."""
    package_schema = schema()
    inputs = package_schema["resources"][token]["inputProperties"]
    for name, value in properties.items():
        if "$ref" in inputs[name] and isinstance(value, dict):
            nested = package_schema["types"][inputs[name]["$ref"].removeprefix("#/types/")]
            assert set(value) <= set(nested["properties"]), (
                f"{name}: {set(value) - set(nested['properties'])}"
            )
            assert set(nested.get("required", [])) <= set(value), name


def _object_entries(source: str, start: int) -> dict[str, int]:
    """The top-level keys of the object literal opening at ``source[start]``, each with where
    its value begins."""
    depth, i = 0, start
    entries: dict[str, int] = {}
    while True:
        char = source[i]
        depth += (char in "{[(") - (char in "}])")
        if depth == 0:
            return entries
        if depth == 1 and char in "{," and (match := re.match(r"\s*(\w+)\s*([:,}])\s*", source[i + 1 :])):
            entries[match.group(1)] = i + 1 + match.end()
        i += 1


def test_typescript_example_uses_the_fleet_as_the_schema_defines_it() -> None:
    source = (EXAMPLES / "transcoder_fleet_ts" / "index.ts").read_text()
    constructions = list(re.finditer(r"const (\w+) = new reelstack\.(\w+)\(\"[\w-]+\", \{", source))
    assert [m.group(2) for m in constructions] == ["TranscoderFleet"]
    for match in constructions:
        reads = set(re.findall(rf"\b{match.group(1)}\.(\w+)", source))
        token = f"{PACKAGE}:index:{match.group(2)}"
        entries = _object_entries(source, match.end() - 1)
        _check(token, set(entries), reads)
        nested = {key: _object_entries(source, at) for key, at in entries.items() if source[at] == "{"}
        assert {"placement", "uploadsBucket", "scaling"} <= set(nested)
        _check_nested(token, {key: dict.fromkeys(keys) for key, keys in nested.items()})
