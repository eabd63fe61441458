"""`reelstack synth --format dot|mermaid|svg`: the graph drawn, components as clusters."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pulumi_offline import draw, regenerate_docs, synth
from pulumi_offline.synth import STACK_TYPE, SynthResource

STACK = "urn:pulumi:prod::reelstack::pulumi:pulumi:Stack::reelstack-prod"


def _resource(
    name: str, type_: str, parent: str | None = STACK, *, deps: tuple[str, ...] = ()
) -> SynthResource:
    custom = not type_.startswith("reelstack:")
    return SynthResource(
        type=type_,
        name=name,
        urn=f"urn:pulumi:prod::reelstack::{type_}::{name}",
        parent=parent,
        inputs={},
        protect=name == "db",
        custom=custom,
        property_dependencies={"input": list(deps)} if deps else {},
    )


STACK_RESOURCE = SynthResource(STACK_TYPE, "reelstack-prod", STACK, None, {}, False, False)
FLEET = _resource("fleet", "reelstack:index:TranscoderFleet")
QUEUE = _resource("fleet-tasks", "aws:sqs/queue:Queue", FLEET.urn)
ROLE = _resource("fleet-role", "aws:iam/role:Role", FLEET.urn)
POLICY = _resource("fleet-policy", "aws:iam/rolePolicy:RolePolicy", FLEET.urn, deps=(ROLE.urn, QUEUE.urn))
DB = _resource("db", "aws:rds/instance:Instance")
GRAPH = [STACK_RESOURCE, FLEET, QUEUE, ROLE, POLICY, DB]


def test_dot_draws_components_as_clusters_holding_their_children() -> None:
    dot = draw.to_dot(GRAPH, title="reelstack prod")
    cluster = re.search(r"subgraph cluster_(n\d+) \{(.*?)\n  \}", dot, re.DOTALL)
    assert cluster is not None
    inside = cluster.group(2)
    for child in ("fleet-tasks", "fleet-role", "fleet-policy"):
        assert f'"{child}\\n' in inside
    assert "db\\n" not in inside and 'label="db\\nrds.Instance", color="#b00020"' in dot  # protected
    assert "reelstack-prod" not in dot.replace('label="reelstack prod"', "")  # the stack is the canvas


def test_arrows_follow_the_inputs_fed_by_other_resources() -> None:
    assert draw.dependency_edges(GRAPH) == sorted([(ROLE.urn, POLICY.urn), (QUEUE.urn, POLICY.urn)])
    assert len(re.findall(r"n\d+ -> n\d+;", draw.to_dot(GRAPH))) == 2
    assert len(re.findall(r"n\d+ --> n\d+", draw.to_mermaid(GRAPH))) == 2


def test_mermaid_has_one_subgraph_per_component_and_a_node_per_resource() -> None:
    mermaid = draw.to_mermaid(GRAPH)
    assert mermaid.startswith("flowchart LR\n")
    assert mermaid.count("subgraph ") == 1 and mermaid.count("\n  end") == 1
    assert 'fleet-tasks<br/>sqs.Queue"]' in mermaid and 'db<br/>rds.Instance"]' in mermaid


def test_synth_writes_the_prod_stack_as_an_svg_picture(tmp_path: Path) -> None:
    picture = tmp_path / "prod.svg"
    assert synth.main(["--stack", "prod", "--format", "svg", "--output", str(picture)]) == 0
    root = ET.parse(picture).getroot()  # noqa: S314 - the file this test just wrote
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert {"cluster_" in (t or "") for t in titles} == {True, False}  # clusters and nodes


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        draw.draw(GRAPH, "png")


def test_the_drawing_in_the_docs_is_the_current_prod_stack() -> None:
    embedded = regenerate_docs.embedded_block(regenerate_docs.DOC.read_text())
    assert embedded == regenerate_docs.drawn_block(), "run: python -m pulumi_offline.regenerate_docs"
