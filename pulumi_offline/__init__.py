"""Tooling that runs Pulumi programs without the CLI or a cloud: ``synth`` (the stack program
under Pulumi's mocks, as a resource graph).

It lives apart from ``infra/`` so the component library imports no mocks, no test harness and
no emulator: ``reelstack synth``, ``reelstack policy``, the local platform and the tests use it.
"""
