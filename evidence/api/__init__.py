"""The agency service's HTTP API (FastAPI on uvicorn), under ``/api/v1``.

An interface like the CLI: it uses only the public facade (``from evidence
import ...``). Nothing in the toolkit imports it, so FastAPI is loaded only by
``evidence api``. See docs/service.md.
"""
