"""The ``reelstack`` plugin's entry point (``PulumiPlugin.yaml``): host the components."""

from infra.package import host

host()
