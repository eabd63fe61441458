"""``python -m app.local.gateway_serve``: the local gateway under gunicorn with one gevent worker.

A process entry point, as ``reelstack up`` starts it: gevent must patch the standard library
before gunicorn, boto3 and urllib3 import ``ssl`` and ``socket``, so this module patches on
import, and nothing else may import it.
"""

from gevent import monkey

monkey.patch_all()

# ruff: noqa: E402 - everything below must come after the patch
import argparse
import os
import sys
from pathlib import Path

from flask import Flask

from app.contracts import logs
from app.local.gateway import WEB_DIR, build
from app.local.s3_gate import signer_from_environment
from app.serving import Server

GRACEFUL_TIMEOUT_SECONDS = 5  # open SSE streams would otherwise hold a shutdown for the full default


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
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logs.configure("gateway")  # the master's lines; each worker configures again once the handler is built
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
        )

    Server(
        load,
        bind=[args.bind],
        workers=1,  # the outbox and the rate counts live in this one worker's memory
        worker_class="gevent",
        worker_connections=1000,
        graceful_timeout=GRACEFUL_TIMEOUT_SECONDS,
        proc_name="reelstack-gateway",
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
