"""The audit log (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from cronium.api.deps import MAX_ID, ServiceDep, UserDep
from cronium.api.schemas import AuditPublic, ErrorBody
from cronium.domain.audit import AuditAction

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


@router.get("")
async def audit_log(
    user: UserDep,
    service: ServiceDep,
    actor: Annotated[str | None, Query(alias="user", max_length=100)] = None,
    action: AuditAction | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Entries before id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Logins, token creation and use of the admin scope, reads and writes of secrets,
    sharing, user and role changes: newest first, filtered by user, action and time."""
    entries = await service.audit.entries(
        user,
        actor=actor,
        action=action and action.value,
        since=since,
        until=until,
        before_id=before,
        limit=limit,
    )
    return [AuditPublic.of(entry) for entry in entries]
