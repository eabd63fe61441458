"""The names of the metrics the services emit and the stack's alarms and dashboard read.

The services write them in CloudWatch's embedded metric format (one namespace, a ``service``
dimension naming the emitter); the stack's transcode failure alarm and its dashboard query
them by these names, so an emitter and its reader cannot drift apart.
"""

NAMESPACE = "reelstack"
SERVICE_DIMENSION = "service"
"""Every metric carries it: ``backend``, ``users``, ``transcoder``, ``progress``."""

TASKS_SUCCEEDED = "TasksSucceeded"
"""Transcoder: a task whose outputs are complete (Count, dimension ``service`` only)."""
TASKS_FAILED = "TasksFailed"
"""Transcoder: a task reported failed (Count), by ``FAILURE_REASON_DIMENSION``."""
FAILURE_REASON_DIMENSION = "reason"
"""The class of a failure (``not_a_video``, ``gave_up``, ``dead_letter`` ...): a bounded set."""
OPEN_STREAMS = "OpenStreams"
"""Progress: the SSE streams one instance holds open, at each poll (Count, dimension ``service``)."""
