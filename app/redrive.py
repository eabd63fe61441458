"""``reelstack redrive --stack NAME``: list the transcoder's dead-letter queue, or send its tasks back.

A task reaches the DLQ after ``TASK_MAX_RECEIVES`` receives that all failed (transient errors, or a
worker killed every time); its video is reported ``failed``. Once the cause is fixed, an operator
sends the tasks back to the task queue. Each is checked, then moved (send, then delete):

- a task whose outputs are complete (its master playlist, written last, exists) is not
  transcoded again: it is deleted from the DLQ;
- any other task is sent back with its ``redrives`` message attribute one higher, so its events
  sort after every earlier run's and revive its ``failed`` video (``contracts.messages``);
- a message that is not a task is left where it is, for a person to read.

SQS's own redrive (StartMessageMoveTask) moves messages without looking at them, so neither the
check nor the attribute could be applied; and the local emulator does not implement it. Receive,
send and delete work the same against AWS and the emulator.

Transcoders that find a dead letter report it ``failed`` and hide it for ``DEAD_LETTER_HIDE_SECONDS``;
``--wait-seconds`` waits that long for hidden messages to come back.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError

from app.contracts.messages import REDRIVES_ATTRIBUTE, TaskMessageV1, parse_task, redrives_of
from app.contracts.names import DEAD_LETTER_HIDE_SECONDS, ResourceNames
from app.contracts.tickets import media_key_prefix

# Long enough for one pass to finish with each message; the ones left alone come back after it.
_SCAN_VISIBILITY_SECONDS = 120
MASTER_PLAYLIST = "master.m3u8"


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str
    redrives: int
    task: TaskMessageV1 | None


@dataclass(frozen=True)
class Queues:
    task_queue_url: str
    dlq_url: str
    media_bucket: str


def outputs_complete(s3: Any, bucket: str, task: TaskMessageV1) -> bool:
    """Whether the task's master playlist exists: the worker uploads it last, after every other output."""
    try:
        s3.head_object(Bucket=bucket, Key=media_key_prefix(task.video_id, task.task_id) + MASTER_PLAYLIST)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    try:
        task: TaskMessageV1 | None = parse_task(message["Body"])
    except ValidationError:
        task = None
    return DeadLetter(
        message["MessageId"],
        message["ReceiptHandle"],
        message["Body"],
        redrives_of(message),
        task,
    )


def receive_all(sqs: Any, dlq_url: str) -> list[DeadLetter]:
    """Every visible message of the DLQ, each once (hidden for the scan)."""
    letters: dict[str, DeadLetter] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,  # a long poll asks every server: short polls may miss messages
            VisibilityTimeout=_SCAN_VISIBILITY_SECONDS,
            MessageAttributeNames=[REDRIVES_ATTRIBUTE],
        ).get("Messages", [])
        if not batch:
            return list(letters.values())
        for message in batch:
            letters[message["MessageId"]] = _dead_letter(message)


def hidden_count(sqs: Any, dlq_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def describe(letter: DeadLetter) -> str:
    if letter.task is None:
        return f"{letter.message_id}  not a task message"
    task = letter.task
    return (
        f"{letter.message_id}  video {task.video_id}  task {task.task_id}  "
        f"created {task.created_at:%Y-%m-%d %H:%M:%S}  redriven {letter.redrives}x"
    )


def release(sqs: Any, dlq_url: str, letters: list[DeadLetter]) -> None:
    """Make scanned messages visible again at once (a listing leaves the DLQ as it was)."""
    for letter in letters:
        sqs.change_message_visibility(
            QueueUrl=dlq_url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
        )


def redrive(sqs: Any, s3: Any, queues: Queues, letters: list[DeadLetter], say: Callable[[str], None]) -> int:
    """Send each task back (or drop it when its outputs are complete); returns how many were sent."""
    sent = 0
    for letter in letters:
        if letter.task is None:
            say(f"left {describe(letter)}")
            continue
        if outputs_complete(s3, queues.media_bucket, letter.task):
            say(f"dropped (already transcoded) {describe(letter)}")
        else:
            sqs.send_message(
                QueueUrl=queues.task_queue_url,
                MessageBody=letter.body,
                MessageAttributes={
                    REDRIVES_ATTRIBUTE: {"DataType": "Number", "StringValue": str(letter.redrives + 1)}
                },
            )
            sent += 1
            say(f"sent back {describe(letter)}")
        # After the send: a failure in between leaves the letter in the DLQ, never loses it.
        sqs.delete_message(QueueUrl=queues.dlq_url, ReceiptHandle=letter.receipt_handle)
    return sent


def run(
    sqs: Any, s3: Any, queues: Queues, *, list_only: bool, wait_seconds: float, say: Callable[[str], None]
) -> int:
    """List or redrive the DLQ; with ``wait_seconds``, keep at it while messages are hidden."""
    deadline = time.monotonic() + wait_seconds
    total = 0
    while True:
        letters = receive_all(sqs, queues.dlq_url)
        if list_only:
            for letter in letters:
                say(describe(letter))
            release(sqs, queues.dlq_url, letters)
            total += len(letters)
        else:
            total += redrive(sqs, s3, queues, letters, say)
        hidden = hidden_count(sqs, queues.dlq_url)
        if hidden <= 0 or list_only or time.monotonic() >= deadline:
            break
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
    if hidden > 0:
        say(
            f"{hidden} more hidden: transcoders hide a dead letter for up to {DEAD_LETTER_HIDE_SECONDS} s"
            f" once they have reported it failed; run again later or with --wait-seconds {DEAD_LETTER_HIDE_SECONDS}"
        )
    return total


def _clients(args: argparse.Namespace) -> tuple[Any, Any]:
    if args.local_state_dir is None:
        return boto3.client("sqs"), boto3.client("s3")
    from app.local.platform import RESOURCES_FILE  # the local platform's launcher wrote its credentials
    from app.local.provision import client

    local = json.loads((Path(args.local_state_dir) / RESOURCES_FILE).read_text())
    return (
        client("sqs", local["endpoint_url"], local["credentials"]),
        client("s3", local["endpoint_url"], local["credentials"]),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="reelstack redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack whose DLQ to read, e.g. dev or prod")
    parser.add_argument("--list", action="store_true", help="only list the dead letters")
    parser.add_argument(
        "--wait-seconds",
        type=float,
        default=0.0,
        help=f"keep redriving while messages are hidden, up to this long (at most {DEAD_LETTER_HIDE_SECONDS})",
    )
    parser.add_argument(
        "--local-state-dir",
        type=Path,
        help="the state dir of a running `reelstack up` (its stack is dev): use its AWS emulation",
    )
    args = parser.parse_args(argv)
    from pulumi_offline.synth import PROJECT

    names = ResourceNames.for_stack(PROJECT, args.stack)
    sqs, s3 = _clients(args)
    try:
        queues = Queues(
            task_queue_url=sqs.get_queue_url(QueueName=names.task_queue)["QueueUrl"],
            dlq_url=sqs.get_queue_url(QueueName=names.task_dlq)["QueueUrl"],
            media_bucket=names.media_bucket,
        )
    except ClientError as exc:
        print(
            f"reelstack redrive: the queues of stack {args.stack!r} are not reachable: {exc}", file=sys.stderr
        )
        return 2
    count = run(sqs, s3, queues, list_only=args.list, wait_seconds=args.wait_seconds, say=print)
    print(f"{count} dead letters {'listed' if args.list else 'sent back'}")
    return 0
