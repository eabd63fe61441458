"""The progress service: live transcoding progress over SSE (``GET /events/videos/<id>?ticket=...``).

- ``serve``: the process (gunicorn, one gevent worker) and its start/stop hooks;
- ``service``: one instance's parts, wired at start-up;
- ``instance_queue``: the instance's own SQS queue on the progress topic;
- ``poller``: reads that queue into the ``hub``;
- ``hub``: per-video replay buffers and the open streams;
- ``stream``: what each stream sends; ``web``: the Flask app and its HTTP edge.
"""
