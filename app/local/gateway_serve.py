"""``python -m app.local.gateway_serve``: the local gateway under gunicorn with one gevent worker.

A process entry point, as ``reelstack up`` starts it: gevent must patch the standard library
before gunicorn, boto3 and urllib3 import ``ssl`` and ``socket``, so this module patches on
import, and nothing else may import it.
"""

from gevent import monkey

monkey.patch_all()

# ruff: noqa: E402 - everything below must come after the patch
import argparse
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from app.local.gateway import WEB_DIR, build

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


class GatewayApplication(BaseApplication):
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": [self.args.bind],
            "workers": 1,  # the outbox lives in this one worker's memory
            "worker_class": "gevent",
            "worker_connections": 1000,
            "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "reelstack-gateway",
            "control_socket_disable": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return build(
            backend_url=self.args.backend,
            progress_urls=self.args.progress,
            s3_endpoint_url=self.args.s3_endpoint,
            media_bucket=self.args.media_bucket,
            ticket_secret_arn=self.args.ticket_secret_arn,
            web_dir=self.args.web_dir,
        )


def main(argv: list[str]) -> int:
    GatewayApplication(_parser().parse_args(argv)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
