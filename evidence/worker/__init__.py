"""The workers: a Celery application running the facade's jobs (``evidence worker``).

An interface, like the CLI: it uses only the public facade (``import evidence``).
Start a worker with ``celery -A evidence.worker.app worker`` (what ``evidence worker``
runs) and one scheduler with ``celery -A evidence.worker.app beat``; see docs/workers.md.
"""
