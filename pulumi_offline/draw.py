"""The synthesized resource graph as a picture: Graphviz DOT (and SVG through ``dot``) or Mermaid.

Components are drawn as clusters holding their children, so the parent tree reads as nesting;
an arrow from A to B says that an input of B is fed by an output of A (the dependencies the
registration reported), which is the order ``pulumi up`` creates them in.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

from pulumi_offline.synth import STACK_TYPE, SynthResource

FORMATS = ("dot", "mermaid", "svg")


def _short_type(type_: str) -> str:
    """``aws:s3/bucketV2:BucketV2`` → ``s3.BucketV2``; a component's own type stays whole."""
    package, _, rest = type_.partition(":")
    module, _, kind = rest.partition(":")
    if not kind:
        return type_
    namespace = module.split("/")[0]
    return f"{package if namespace == 'index' else namespace}.{kind}"


def _ids(resources: list[SynthResource]) -> dict[str, str]:
    return {r.urn: f"n{index}" for index, r in enumerate(resources)}


def _children(resources: list[SynthResource]) -> dict[str | None, list[SynthResource]]:
    children: dict[str | None, list[SynthResource]] = {}
    urns = {r.urn for r in resources}
    for resource in resources:
        if resource.type == STACK_TYPE:
            continue
        parent = resource.parent if resource.parent in urns else None
        if parent is not None and next(r for r in resources if r.urn == parent).type == STACK_TYPE:
            parent = None
        children.setdefault(parent, []).append(resource)
    return children


def dependency_edges(resources: list[SynthResource]) -> list[tuple[str, str]]:
    """(from URN, to URN) for every input fed by another resource's output, without repeats."""
    urns = {r.urn for r in resources}
    edges = {
        (source, r.urn)
        for r in resources
        for sources in r.property_dependencies.values()
        for source in sources
        if source in urns and source != r.urn
    }
    return sorted(edges)


def _dot_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(resources: list[SynthResource], title: str = "") -> str:
    """DOT: each component a ``cluster`` subgraph, each custom resource a box inside its parent."""
    ids = _ids(resources)
    children = _children(resources)
    lines = [
        "digraph stack {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica", fontsize=10];',
        '  edge [color="#888888", arrowsize=0.6];',
    ]
    if title:
        lines.append(f'  label="{_dot_label(title)}"; labelloc=t; fontname="Helvetica";')

    def walk(parent: str | None, depth: int) -> Iterator[str]:
        pad = "  " * depth
        for r in children.get(parent, []):
            label = _dot_label(f"{r.name}\n{_short_type(r.type)}")
            if r.custom:
                protected = ', color="#b00020", penwidth=2' if r.protect else ""
                yield f'{pad}{ids[r.urn]} [label="{label}"{protected}];'
            else:
                yield f"{pad}subgraph cluster_{ids[r.urn]} {{"
                yield f'{pad}  label="{label}"; style="rounded,dashed"; fontname="Helvetica"; fontsize=11;'
                # An invisible point lets edges that name the component land on its cluster.
                yield f"{pad}  {ids[r.urn]} [shape=point, style=invis, width=0];"
                yield from walk(r.urn, depth + 1)
                yield f"{pad}}}"

    lines.extend(walk(None, 1))
    lines.extend(f"  {ids[a]} -> {ids[b]};" for a, b in dependency_edges(resources))
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_UNSAFE = re.compile(r'["<>]')


def to_mermaid(resources: list[SynthResource]) -> str:
    """Mermaid ``flowchart``: components as subgraphs, dependencies as arrows."""
    ids = _ids(resources)
    children = _children(resources)
    lines = ["flowchart LR"]

    def label(r: SynthResource) -> str:
        return f"{_MERMAID_UNSAFE.sub('', r.name)}<br/>{_MERMAID_UNSAFE.sub('', _short_type(r.type))}"

    def walk(parent: str | None, depth: int) -> Iterator[str]:
        pad = "  " * depth
        for r in children.get(parent, []):
            if r.custom:
                yield f'{pad}{ids[r.urn]}["{label(r)}"]'
            else:
                yield f'{pad}subgraph {ids[r.urn]}["{label(r)}"]'
                yield from walk(r.urn, depth + 1)
                yield f"{pad}end"

    lines.extend(walk(None, 1))
    lines.extend(f"  {ids[a]} --> {ids[b]}" for a, b in dependency_edges(resources))
    return "\n".join(lines) + "\n"


def to_svg(resources: list[SynthResource], title: str = "") -> str:
    """The DOT drawing laid out by Graphviz's ``dot``."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "drawing SVG needs Graphviz's `dot`: `apt-get install graphviz` (make test installs it)"
        )
    return subprocess.run(
        [dot, "-Tsvg"], input=to_dot(resources, title), capture_output=True, text=True, check=True
    ).stdout


def draw(resources: list[SynthResource], fmt: str, title: str = "") -> str:
    if fmt == "dot":
        return to_dot(resources, title)
    if fmt == "mermaid":
        return to_mermaid(resources)
    if fmt == "svg":
        return to_svg(resources, title)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
