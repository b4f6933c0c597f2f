"""Run the service on uvicorn: loopback only, unless a reverse proxy terminates TLS."""

from __future__ import annotations

import ipaddress
import os

from evidence import ConfigurationError, Settings, Toolkit

MAX_UPLOAD_ENV = "EVIDENCE_API_MAX_UPLOAD_BYTES"
"""The largest bundle ``POST /verify`` accepts (default 512 MiB)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str, *, behind_proxy: bool) -> None:
    """Refuse a non-loopback address unless TLS is terminated by a reverse proxy."""
    if not is_loopback(host) and not behind_proxy:
        raise ConfigurationError(
            f"refusing to serve on {host}: the service speaks plain HTTP; put it behind a "
            "reverse proxy that terminates TLS and pass --behind-proxy (docs/service.md)"
        )


def serve(
    settings: Settings, *, host: str, port: int, behind_proxy: bool, log_level: str = "info"
) -> None:
    """Serve until interrupted."""
    check_host(host, behind_proxy=behind_proxy)
    import uvicorn

    from evidence.api.app import DEFAULT_MAX_UPLOAD_BYTES, create_app

    raw = os.environ.get(MAX_UPLOAD_ENV, "")
    if raw and not raw.isdigit():
        raise ConfigurationError(f"{MAX_UPLOAD_ENV} must be a number of bytes, not {raw!r}")
    with Toolkit(settings) as kit:
        app = create_app(kit, max_upload_bytes=int(raw) if raw else DEFAULT_MAX_UPLOAD_BYTES)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            proxy_headers=behind_proxy,
            forwarded_allow_ips="127.0.0.1" if behind_proxy else None,
            server_header=False,
        )
