"""``python -m app.local.gateway_serve``: the local gateway under gunicorn with one gevent worker.

A process entry point, as ``reelstack up`` starts it: gevent must patch the standard library
before gunicorn, boto3 and urllib3 import ``ssl`` and ``socket``, so this module patches on
import, and nothing else may import it.
"""

from gevent import monkey

monkey.patch_all()

# ruff: noqa: E402 - everything below must come after the patch
import argparse
import logging
import os
import sys
from pathlib import Path

from flask import Flask

from app.contracts import logs
from app.local.gateway import WEB_DIR, build
from app.local.rate_limit import add_rate_limit_arguments, rate_limits_of
from app.local.s3_gate import signer_from_environment
from app.serving import FileDescriptorLimit, Server, ensure_file_descriptors, file_descriptors_needed

GRACEFUL_TIMEOUT_SECONDS = 5  # open SSE streams would otherwise hold a shutdown for the full default
# Clients at once, streams and API calls together: a fan-out benchmark through the gateway
# meets this before the progress service's own limit.
WORKER_CONNECTIONS = 1000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.local.gateway_serve", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--bind", default="127.0.0.1:8080", help="HOST:PORT")
    parser.add_argument("--backend", required=True, help="backend base URL")
    parser.add_argument(
        "--progress", action="append", required=True, help="a progress instance's base URL (repeat)"
    )
    parser.add_argument("--s3-endpoint", required=True, help="the emulated S3 endpoint")
    parser.add_argument("--media-bucket", required=True)
    parser.add_argument("--ticket-secret-arn", required=True)
    parser.add_argument("--web-dir", type=Path, default=WEB_DIR)
    add_rate_limit_arguments(parser)
    return parser


def allow_open_files() -> None:
    """Raise the soft open-file limit (often 1,024 in a shell) to what the gateway's connections
    need: each proxied request holds a connection upstream as well as its client's. Below it, a
    warning: the local platform still runs, with fewer connections at once."""
    try:
        ensure_file_descriptors(file_descriptors_needed(2 * WORKER_CONNECTIONS))
    except FileDescriptorLimit as exc:
        logging.getLogger(__name__).warning("the gateway may run out of connections: %s", exc)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logs.configure("gateway")  # the master's lines; each worker configures again once the handler is built
    allow_open_files()
    signer = signer_from_environment(os.environ)

    def load() -> Flask:
        return build(
            backend_url=args.backend,
            progress_urls=args.progress,
            s3_endpoint_url=args.s3_endpoint,
            media_bucket=args.media_bucket,
            ticket_secret_arn=args.ticket_secret_arn,
            web_dir=args.web_dir,
            s3_signers=[signer] if signer else [],
            rate_limits=rate_limits_of(args),
        )

    Server(
        load,
        bind=[args.bind],
        workers=1,  # the outbox and the rate counts live in this one worker's memory
        worker_class="gevent",
        worker_connections=WORKER_CONNECTIONS,
        graceful_timeout=GRACEFUL_TIMEOUT_SECONDS,
        proc_name="reelstack-gateway",
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
