"""``reelstack``: one entry point for the local platform, the infra tools and the service roles.

Each command lives in its own module and parses its own arguments; this file only
dispatches, importing the module on demand so that ``reelstack transcoder`` never
pays for importing Pulumi, nor ``reelstack synth`` for Flask.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("app.local.platform", "run the whole platform locally at http://127.0.0.1:8080"),
    "synth": ("pulumi_offline.synth", "print a stack's resource graph, built under Pulumi's mocks"),
    "policy": ("policies.runner", "evaluate the policy pack over a stack's synthesized graph"),
    "backend": ("app.backend.serve", "serve the backend API (gunicorn)"),
    "status-consumer": ("app.backend.status_consumer", "record progress events in the database"),
    "admin": ("app.admin_cli", "give a user a role (the first admin), or take it away, at the user pool"),
    "migrate": ("app.backend.migrate", "upgrade the database schema to the latest revision"),
    "transcoder": ("app.transcoder.worker", "run a transcoder worker"),
    "redrive": ("app.redrive", "list the transcoder's dead-letter queue or send its tasks back"),
    "retranscode": ("app.retranscode", "transcode videos again from their kept sources (keepSources)"),
    "progress": ("app.progress.serve", "serve the progress SSE service (gunicorn, gevent)"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: reelstack COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"reelstack: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
