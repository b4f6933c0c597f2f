"""Identity and access of the agency service: agencies, users, passwords, bearer tokens.

``authenticate`` turns a name and password into a short-lived session token,
``issue_token`` gives a case system a named, expiring API token; both are shown
once and stored as their SHA-256 only. ``resolve`` turns a bearer token back into
the :class:`Principal` a request acts as, and ``record`` writes a custody event
whose actor is that principal. Argon2 is imported when a password is hashed.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from evidence.model import custody as custody_log
from evidence.model.db import as_utc
from evidence.model.errors import EvidenceError
from evidence.model.identity import (
    AccessToken,
    AuthenticationError,
    IssuedToken,
    LoginRateLimitedError,
    Principal,
    Role,
    ServiceUser,
    TokenKind,
    UnknownUserError,
    UserInfo,
    new_token,
    token_digest,
)
from evidence.model.records import CustodyAction
from evidence.model.tables import Agency, Officer
from evidence.services._context import ServiceContext

if TYPE_CHECKING:
    from argon2 import PasswordHasher

logger = logging.getLogger(__name__)

SESSION_TTL = timedelta(hours=8)
API_TOKEN_TTL = timedelta(days=90)
MIN_PASSWORD_LENGTH = 10
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW = timedelta(minutes=1)


class LoginLimiter:
    """Failed logins per (user name, client address) in a sliding window, in memory."""

    def __init__(self, allowed: int = LOGIN_FAILURES_ALLOWED, window: timedelta = LOGIN_WINDOW):
        self.allowed = allowed
        self.window = window
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str], now: datetime) -> None:
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) >= self.allowed:
                wait = failures[0] + self.window - now
                raise LoginRateLimitedError(
                    "too many failed logins; try again later",
                    retry_after_s=max(1, int(wait.total_seconds()) + 1),
                )

    def failed(self, key: tuple[str, str], now: datetime) -> None:
        with self._lock:
            self._recent(key, now).append(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        return failures


class IdentityService:
    """Agencies, users and tokens; resolves bearer tokens to principals."""

    def __init__(self, context: ServiceContext, *, limiter: LoginLimiter | None = None) -> None:
        self._ctx = context
        self.limiter = limiter or LoginLimiter()
        self._hasher: PasswordHasher | None = None

    # -- agencies and users ------------------------------------------------------

    def create_agency(self, name: str, *, code: str = "") -> str:
        """The agency's id; an agency of that name is created when missing."""
        name = name.strip()
        if not name:
            raise EvidenceError("an agency needs a name")
        with self._ctx.session() as session:
            found = session.exec(select(Agency).where(Agency.name == name)).first()
            if found is not None:
                return found.id
            agency = Agency(
                id=self._ctx.new_id(), name=name, code=code, created_at=self._ctx.clock()
            )
            session.add(agency)
            session.commit()
            return agency.id

    def add_user(
        self,
        name: str,
        role: Role | str,
        agency: str,
        *,
        password: str | None = None,
        enforcement_id: str = "",
        actor: str = "",
    ) -> UserInfo:
        """Add user ``name`` of ``agency`` (created if new); an officer may be linked to
        the officer record ``enforcement_id``, whose captures are then theirs."""
        role = _role(role)
        name = _checked_name(name)
        password_hash = self._hash(password) if password is not None else ""
        agency_id = self.create_agency(agency)
        with self._ctx.session() as session:
            if session.exec(select(ServiceUser).where(ServiceUser.name == name)).first():
                raise EvidenceError(f"user {name} already exists")
            officer_id = _officer_id(session, enforcement_id) if enforcement_id else None
            if officer_id is not None and role is not Role.OFFICER:
                raise EvidenceError("only an officer user is linked to an officer record")
            user = ServiceUser(
                id=self._ctx.new_id(), name=name, agency_id=agency_id, role=role,
                password_hash=password_hash, officer_id=officer_id, created_at=self._ctx.clock(),
            )  # fmt: skip
            session.add(user)
            self._custody(
                session,
                actor,
                CustodyAction.USER_CHANGE,
                {"change": "add", "user": name, "role": role.value},
            )
            session.commit()
            return _user_info(session, user)

    def list_users(self, *, agency: str | None = None) -> list[UserInfo]:
        with self._ctx.session() as session:
            query = select(ServiceUser).order_by(col(ServiceUser.name))
            users = session.exec(query).all()
            found = [_user_info(session, user) for user in users]
        return [u for u in found if agency is None or u.agency == agency]

    def set_password(self, name: str, password: str, *, actor: str = "") -> None:
        """Replace ``name``'s password; their open sessions are revoked."""
        password_hash = self._hash(password)
        now = self._ctx.clock()
        with self._ctx.session() as session:
            user = _user_row(session, name)
            user.password_hash = password_hash
            session.add(user)
            for token in _live_tokens(session, user.id, TokenKind.SESSION, now):
                token.revoked_at = now
                session.add(token)
            self._custody(
                session, actor, CustodyAction.USER_CHANGE, {"change": "password", "user": name}
            )
            session.commit()

    # -- credentials ---------------------------------------------------------------

    def authenticate(self, name: str, password: str, *, client: str = "") -> IssuedToken:
        """A session token for ``name`` if ``password`` is theirs.

        Every failure is the same :class:`AuthenticationError` (unknown user, wrong
        password, no password, disabled); after too many failures for this name and
        client address within a minute, :class:`LoginRateLimitedError`, even for the
        right password.
        """
        now = self._ctx.clock()
        key = (name, client)
        self.limiter.check(key, now)
        with self._ctx.session() as session:
            user = session.exec(select(ServiceUser).where(ServiceUser.name == name)).first()
            if not self._password_matches(user, password):
                self.limiter.failed(key, now)
                logger.info("failed login for %r from %s", name, client or "-")
                raise AuthenticationError("wrong user name or password")
            assert user is not None
            self.limiter.succeeded(key)
            issued = self._issue(session, user, TokenKind.SESSION, "", now + SESSION_TTL)
            actor = _principal(session, user, TokenKind.SESSION, "").actor
            self._custody(session, actor, CustodyAction.AUTH_LOGIN, {"client": client})
            session.commit()
            return issued

    def issue_token(
        self, user_name: str, token_name: str, *, ttl: timedelta = API_TOKEN_TTL, actor: str = ""
    ) -> IssuedToken:
        """A named API token for ``user_name`` (shown once; stored as its SHA-256)."""
        token_name = _checked_name(token_name)
        if ttl <= timedelta(0):
            raise EvidenceError("a token must expire in the future")
        now = self._ctx.clock()
        with self._ctx.session() as session:
            user = _user_row(session, user_name)
            issued = self._issue(session, user, TokenKind.API, token_name, now + ttl)
            details = {"change": "issue", "user": user_name, "token": token_name}
            self._custody(session, actor, CustodyAction.AUTH_TOKEN, details)
            session.commit()
            return issued

    def revoke_token(self, token_id: str, *, actor: str = "") -> None:
        """Revoke the token with id ``token_id`` (as ``issue_token`` returned it)."""
        now = self._ctx.clock()
        with self._ctx.session() as session:
            token = session.get(AccessToken, token_id)
            if token is None:
                raise UnknownUserError(f"no token {token_id}")
            if token.revoked_at is None:
                token.revoked_at = now
                session.add(token)
            details = {"change": "revoke", "token": token.name or token.id}
            self._custody(session, actor, CustodyAction.AUTH_TOKEN, details)
            session.commit()

    def logout(self, bearer: str) -> None:
        """Revoke the session or token ``bearer`` itself."""
        with self._ctx.session() as session:
            token = _token_row(session, bearer)
            if token is not None and token.revoked_at is None:
                token.revoked_at = self._ctx.clock()
                session.add(token)
                session.commit()

    def resolve(self, bearer: str) -> Principal:
        """Who ``bearer`` acts as; AuthenticationError if it is unknown, expired or revoked."""
        now = self._ctx.clock()
        with self._ctx.session() as session:
            token = _token_row(session, bearer)
            if token is None:
                raise AuthenticationError("unknown token")
            if token.revoked_at is not None:
                raise AuthenticationError("the token was revoked")
            if as_utc(token.expires_at) <= now:
                raise AuthenticationError("the token has expired")
            user = session.get(ServiceUser, token.user_id)
            if user is None or user.disabled:
                raise AuthenticationError("the token's user is disabled")
            return _principal(session, user, token.kind, token.name)

    # -- custody ---------------------------------------------------------------

    def record(
        self,
        principal: Principal,
        action: CustodyAction,
        *,
        item_id: str | None = None,
        case_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """A custody event done by ``principal`` (its actor) through the service."""
        with self._ctx.session() as session:
            custody_log.append(
                session, at=self._ctx.clock(), new_id=self._ctx.new_id, actor=principal.actor,
                action=action, item_id=item_id, case_id=case_id, details=dict(details or {}),
            )  # fmt: skip
            session.commit()

    # -- the plumbing ------------------------------------------------------------

    def _custody(
        self, session: Session, actor: str, action: CustodyAction, details: dict[str, Any]
    ) -> None:
        custody_log.append(
            session, at=self._ctx.clock(), new_id=self._ctx.new_id,
            actor=actor or self._ctx.actor, action=action, details=details,
        )  # fmt: skip

    def _issue(
        self, session: Session, user: ServiceUser, kind: TokenKind, name: str, expires: datetime
    ) -> IssuedToken:
        token = new_token()
        row = AccessToken(
            id=self._ctx.new_id(), user_id=user.id, kind=kind, name=name,
            token_sha256=token_digest(token), created_at=self._ctx.clock(), expires_at=expires,
        )  # fmt: skip
        session.add(row)
        return IssuedToken(id=row.id, token=token, kind=kind, name=name, expires_at=expires)

    def _password_hasher(self) -> PasswordHasher:
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher()
        return self._hasher

    def _hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise EvidenceError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        return self._password_hasher().hash(password)

    def _password_matches(self, user: ServiceUser | None, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = self._password_hasher()
        if user is None or not user.password_hash or user.disabled:
            hasher.hash(password)  # the same work as for a real user: no timing oracle
            return False
        try:
            return hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise EvidenceError(f"unknown role {role!r}; one of {known}") from None


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() or c in ":/" for c in name):
        raise EvidenceError(f"{name!r} is not a usable name (no spaces, ':' or '/')")
    return name


def _officer_id(session: Session, enforcement_id: str) -> str:
    officer = session.exec(select(Officer).where(Officer.enforcement_id == enforcement_id)).first()
    if officer is None:
        raise UnknownUserError(f"no officer {enforcement_id}")
    return officer.id


def _user_row(session: Session, name: str) -> ServiceUser:
    user = session.exec(select(ServiceUser).where(ServiceUser.name == name)).first()
    if user is None:
        raise UnknownUserError(f"no user {name}")
    return user


def _token_row(session: Session, bearer: str) -> AccessToken | None:
    digest = token_digest(bearer)
    return session.exec(select(AccessToken).where(AccessToken.token_sha256 == digest)).first()


def _live_tokens(
    session: Session, user_id: str, kind: TokenKind, now: datetime
) -> list[AccessToken]:
    rows = session.exec(
        select(AccessToken).where(AccessToken.user_id == user_id, AccessToken.kind == kind)
    ).all()
    return [t for t in rows if t.revoked_at is None and as_utc(t.expires_at) > now]


def _enforcement_id(session: Session, officer_id: str | None) -> str:
    officer = session.get(Officer, officer_id) if officer_id else None
    return officer.enforcement_id if officer is not None else ""


def _agency_name(session: Session, agency_id: str) -> str:
    agency = session.get(Agency, agency_id)
    return agency.name if agency is not None else ""


def _principal(session: Session, user: ServiceUser, kind: TokenKind, name: str) -> Principal:
    return Principal(
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        agency_id=user.agency_id,
        agency_name=_agency_name(session, user.agency_id),
        enforcement_id=_enforcement_id(session, user.officer_id),
        token_name=name,
        token_kind=kind,
    )


def _user_info(session: Session, user: ServiceUser) -> UserInfo:
    return UserInfo(
        name=user.name,
        role=user.role,
        agency=_agency_name(session, user.agency_id),
        enforcement_id=_enforcement_id(session, user.officer_id),
        disabled=user.disabled,
        created_at=as_utc(user.created_at),
    )
