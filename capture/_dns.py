"""Name resolution with a time limit (``getaddrinfo`` has none of its own)."""

from __future__ import annotations

import concurrent.futures
import socket
from typing import Any


def getaddrinfo_bounded(
    host: str, port: int | None, timeout_s: float, *, type: int = 0, proto: int = 0
) -> list[tuple[Any, ...]]:
    """``socket.getaddrinfo`` that gives up after ``timeout_s``.

    Raises :class:`OSError` when the name does not resolve or not in time (a
    stuck lookup is left to finish in its own thread).
    """
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(socket.getaddrinfo, host, port, 0, type, proto)
        return list(future.result(timeout=timeout_s))
    except concurrent.futures.TimeoutError:
        raise OSError(f"name not resolved within {timeout_s:g} s") from None
    except socket.gaierror as exc:
        raise OSError(f"name not resolved ({exc.strerror})") from None
    finally:
        pool.shutdown(wait=False)
