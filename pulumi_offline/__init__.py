"""Tooling that runs Pulumi programs without the CLI or a cloud, and the pytest plugin built on it.

- ``synth``: a program (a project directory, or a callable) under Pulumi's mocks, as a resource graph.
- ``policy``: a CrossGuard pack's own validate functions over that graph, offline.
- ``graph``: lookups over the graph for assertions.
- ``plugin``: the pytest fixtures ``synth_program``, ``synth_component`` and ``policy_run``
  (docs/test-kit.md).

It lives apart from ``infra/`` so the component library imports no mocks, no test harness and
no emulator, and imports nothing of reelstack, so any Pulumi Python project can use it:
``reelstack synth``, ``reelstack policy``, the local platform and the tests use it too.
"""
