"""Anchoring stage: RFC 3161 time-stamps (``tsa``, ``devtsa``) and the EVM chain anchor."""

from __future__ import annotations

from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import (
    TimestampVerification,
    TSAConfig,
    request_timestamp,
    verify_timestamp,
    verify_timestamp_token,
)

__all__ = [
    "DevelopmentTSA",
    "TSAConfig",
    "TimestampVerification",
    "request_timestamp",
    "verify_timestamp",
    "verify_timestamp_token",
]
