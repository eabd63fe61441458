"""Aliases for resources that moved from one component to another.

A resource's URN names its parent component; a resource whose component changed would be
replaced by ``pulumi up`` unless it names its former URN in ``aliases``. A replaced CloudFront
distribution gets a new domain, a replaced queue loses its messages, a replaced secret cannot
keep its name (Secrets Manager holds a deleted secret's name for its recovery window), so a
component that took resources over from another declares where they were.
"""

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class FormerParent:
    """The top-level component a resource was created under before it moved."""

    type: str
    """The component's type token, e.g. ``reelstack:index:MediaStorage``."""
    name: str
    """The component's name in the stack program, e.g. ``media``."""

    def alias(self, former_name: str) -> pulumi.Alias:
        """The alias of a child this component created as ``former_name``."""
        return pulumi.Alias(name=former_name, parent=pulumi.create_urn(self.name, self.type))


def moved_child(
    parent: pulumi.Resource, former_parent: FormerParent | None, former_name: str
) -> pulumi.ResourceOptions:
    """Options of a child of ``parent`` that ``former_parent`` created as ``former_name`` (no alias
    when there is no former parent: a program that never had one)."""
    aliases: list[pulumi.Input[str | pulumi.Alias]] = (
        [former_parent.alias(former_name)] if former_parent else []
    )
    return pulumi.ResourceOptions(parent=parent, aliases=aliases)
