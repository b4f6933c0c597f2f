"""Who may use the agency service: users, their roles and agency, bearer tokens.

A user belongs to one agency (the ``agency`` table) and has one :class:`Role`. An
officer user may be linked to an officer record (enforcement ID), so what they
capture is attributed to that officer. Passwords are kept as Argon2id hashes;
bearer tokens (API tokens of case systems and login sessions) as the SHA-256 of a
random 256-bit secret, so the database never holds a usable credential.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from evidence.model import tables  # noqa: F401  (the agency and officer tables referenced here)
from evidence.model.errors import EvidenceError


def _aware() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=False)


def _aware_nullable() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=True)


class Role(enum.StrEnum):
    """What a user may do; every user has exactly one."""

    OFFICER = "officer"
    EXPERT = "expert"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    CASE_SYSTEM = "case_system"


class TokenKind(enum.StrEnum):
    """A named, long-lived API token, or the short-lived token of a login."""

    API = "api"
    SESSION = "session"


CAPTURE_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.CASE_SYSTEM})
"""Who may create cases and submit or cancel capture jobs."""
CASE_READER_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.ADMINISTRATOR, Role.CASE_SYSTEM})
"""Who may read their agency's cases, items and custody log (an expert may not)."""
VERIFIER_ROLES = frozenset(Role)
"""Who may upload a bundle to be verified: everyone signed in."""

TOKEN_PREFIX = "evd_"
"""Every bearer token starts so: a leaked one is recognisable in a scan."""


class ServiceUser(SQLModel, table=True):
    """A person or a case system that signs in to the service."""

    id: str = Field(primary_key=True)
    name: str = Field(unique=True, index=True)
    agency_id: str = Field(foreign_key="agency.id", index=True)
    role: Role
    password_hash: str = ""
    """Argon2id (PHC string); empty: this user cannot log in with a password."""
    officer_id: str | None = Field(default=None, foreign_key="officer.id", index=True)
    """The officer record an officer user captures as."""
    disabled: bool = False
    created_at: datetime = Field(sa_column=_aware())


class AccessToken(SQLModel, table=True):
    """A bearer token, by its digest: an API token or a login session."""

    id: str = Field(primary_key=True)
    user_id: str = Field(foreign_key="serviceuser.id", index=True)
    kind: TokenKind
    name: str = ""
    """An API token's name (the case system's own label); empty for a session."""
    token_sha256: str = Field(unique=True, index=True)
    created_at: datetime = Field(sa_column=_aware())
    expires_at: datetime = Field(sa_column=_aware())
    revoked_at: datetime | None = Field(default=None, sa_column=_aware_nullable())


class AuthenticationError(EvidenceError):
    """No credential, or a wrong, expired or revoked one (HTTP 401)."""


class AccessDeniedError(EvidenceError):
    """The authenticated user's role does not allow the action (HTTP 403)."""


class LoginRateLimitedError(EvidenceError):
    """Too many failed logins for one user from one address (HTTP 429)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnknownUserError(EvidenceError):
    """A user, agency or token named by an administrator does not exist."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as, resolved from its bearer token."""

    user_id: str
    user_name: str
    role: Role
    agency_id: str
    agency_name: str
    enforcement_id: str = ""
    """The linked officer's enforcement ID, for an officer user."""
    token_name: str = ""
    """The API token's name; empty for a login session."""
    token_kind: TokenKind = TokenKind.SESSION

    @property
    def actor(self) -> str:
        """The custody log's actor: the officer, or ``client:<token>``, or ``user:<name>``."""
        if self.enforcement_id:
            return self.enforcement_id
        if self.token_kind is TokenKind.API:
            return f"client:{self.token_name}"
        return f"user:{self.user_name}"


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    role: Role
    agency: str
    enforcement_id: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new bearer token: ``token`` is shown once and never stored."""

    id: str
    token: str = field(repr=False)
    kind: TokenKind
    name: str
    expires_at: datetime


def new_token() -> str:
    """A bearer token: the prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token (SHA-256 is enough for 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
