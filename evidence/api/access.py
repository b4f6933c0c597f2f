"""Who a request acts as, and what the agency scoping allows them to see."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import Depends, Request

from evidence import (
    AccessDeniedError,
    AuthenticationError,
    CaseInfo,
    ItemInfo,
    NotFoundError,
    Principal,
    Role,
    Toolkit,
)


def toolkit(request: Request) -> Toolkit:
    kit: Toolkit = request.app.state.kit
    return kit


def principal(request: Request) -> Principal:
    """The principal of the request's ``Authorization: Bearer`` token; 401 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("a bearer token is required")
    return toolkit(request).identity.resolve(token.strip())


Kit = Annotated[Toolkit, Depends(toolkit)]
Caller = Annotated[Principal, Depends(principal)]


def require(caller: Principal, roles: Collection[Role]) -> None:
    if caller.role not in roles:
        raise AccessDeniedError(f"the {caller.role.value} role may not do this")


def agency_case(kit: Toolkit, caller: Principal, number: str) -> CaseInfo:
    """Case ``number`` if it is the caller's agency's; otherwise the same 404 as a missing one."""
    try:
        case = kit.get_case(number)
    except NotFoundError:
        case = None
    if case is None or case.agency != caller.agency_name:
        raise NotFoundError(f"no case {number}")
    return case


def agency_item(kit: Toolkit, caller: Principal, item_id: str) -> ItemInfo:
    """Item ``item_id`` (given in full) of one of the caller's agency's cases; 404 otherwise."""
    try:
        item = kit.get_item(item_id)
    except NotFoundError:
        item = None
    if item is None or item.id != item_id:
        raise NotFoundError(f"no evidence item {item_id}")
    try:
        agency_case(kit, caller, item.case_number)
    except NotFoundError:
        raise NotFoundError(f"no evidence item {item_id}") from None
    return item
