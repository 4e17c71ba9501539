"""Events: create, read, update (with versions), delete, run, schedules and webhooks."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, status

from cronium.api.deps import Id, ServiceDep, UserDep, VersionNumber
from cronium.api.schemas import (
    ErrorBody,
    EventCreate,
    EventPublic,
    EventUpdate,
    EventVersionPublic,
    NextFires,
    NextFiresRequest,
    RunAccepted,
    RunRequest,
    UpcomingFire,
    WebhookIssued,
)
from cronium.domain.event import EventStatus
from cronium.errors import InvalidInputError, PayloadTooLargeError

WEBHOOK_MAX_BODY = 1024 * 1024
hooks = APIRouter(prefix="/hooks", tags=["webhooks"], responses={404: {"model": ErrorBody}})
schedules = APIRouter(
    prefix="/schedules",
    tags=["events"],
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
router = APIRouter(
    prefix="/events",
    tags=["events"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.post("", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorBody}})
async def create_event(body: EventCreate, user: UserDep, service: ServiceDep) -> EventPublic:
    return EventPublic.of(await service.create_event(user, body.to_fields()))


@router.get("")
async def list_events(
    user: UserDep,
    service: ServiceDep,
    tag: Annotated[
        list[str] | None, Query(max_length=20, description="Only events with every tag given.")
    ] = None,
) -> list[EventPublic]:
    events = await service.list_events(user, tags=tuple(tag or ()))
    return [EventPublic.of(event) for event in events]


@router.get("/{event_id}")
async def get_event(event_id: Id, user: UserDep, service: ServiceDep) -> EventPublic:
    """The event, with what the caller may do with it (``may``)."""
    return EventPublic.of(*await service.event_and_rights(user, event_id))


@router.patch("/{event_id}", responses={409: {"model": ErrorBody}})
async def update_event(
    event_id: Id, body: EventUpdate, user: UserDep, service: ServiceDep
) -> EventPublic:
    return EventPublic.of(await service.update_event(user, event_id, body.to_changes()))


@router.get("/{event_id}/versions")
async def list_versions(
    event_id: Id, user: UserDep, service: ServiceDep
) -> list[EventVersionPublic]:
    """Every version of the event's script and settings, newest first."""
    return [EventVersionPublic.of(v) for v in await service.list_event_versions(user, event_id)]


@router.get("/{event_id}/versions/{version}")
async def get_version(
    event_id: Id, version: VersionNumber, user: UserDep, service: ServiceDep
) -> EventVersionPublic:
    return EventVersionPublic.of(await service.get_event_version(user, event_id, version))


@router.post("/{event_id}/versions/{version}/restore", responses={409: {"model": ErrorBody}})
async def restore_version(
    event_id: Id, version: VersionNumber, user: UserDep, service: ServiceDep
) -> EventPublic:
    """Bring back the script and settings of a version; this makes a new version."""
    return EventPublic.of(await service.restore_event_version(user, event_id, version))


@router.delete(
    "/{event_id}", status_code=status.HTTP_204_NO_CONTENT, responses={409: {"model": ErrorBody}}
)
async def delete_event(event_id: Id, user: UserDep, service: ServiceDep) -> None:
    await service.delete_event(user, event_id)


@router.post("/{event_id}/pause")
async def pause_event(event_id: Id, user: UserDep, service: ServiceDep) -> EventPublic:
    """Stop firing on the schedule (it can still be run by hand)."""
    return EventPublic.of(await service.set_event_status(user, event_id, EventStatus.PAUSED))


@router.post("/{event_id}/resume")
async def resume_event(event_id: Id, user: UserDep, service: ServiceDep) -> EventPublic:
    """Fire on the schedule again, from now on; the execution count starts again."""
    return EventPublic.of(await service.set_event_status(user, event_id, EventStatus.ACTIVE))


@router.get("/{event_id}/next")
async def next_fires(
    event_id: Id,
    user: UserDep,
    service: ServiceDep,
    count: Annotated[int, Query(ge=1, le=100)] = 5,
) -> NextFires:
    """The next fire times of the event's schedule, in UTC."""
    return NextFires(fires=await service.next_fires(user, event_id, count))


@schedules.get("/upcoming")
async def upcoming_fires(
    user: UserDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[UpcomingFire]:
    """The next fires of all the active scheduled events the caller can see, soonest first."""
    fires = await service.upcoming_fires(user, limit)
    return [UpcomingFire(event_id=event.id, event_name=event.name, at=at) for event, at in fires]


@schedules.post("/next")
async def preview_schedule(body: NextFiresRequest, user: UserDep, service: ServiceDep) -> NextFires:
    """The next fire times of a schedule, to check it before saving it."""
    return NextFires(fires=service.preview_fires(body.schedule.to_domain(), body.count))


@router.post("/{event_id}/webhook", status_code=status.HTTP_201_CREATED)
async def enable_webhook(
    event_id: Id, request: Request, user: UserDep, service: ServiceDep
) -> WebhookIssued:
    """Give the event a webhook, or a new key for it (the old one stops working)."""
    key = await service.enable_webhook(user, event_id)
    return WebhookIssued(key=key, url=str(request.url_for("trigger_webhook", key=key)))


@router.delete("/{event_id}/webhook", status_code=status.HTTP_204_NO_CONTENT)
async def disable_webhook(event_id: Id, user: UserDep, service: ServiceDep) -> None:
    await service.disable_webhook(user, event_id)


@hooks.post("/{key}", status_code=status.HTTP_202_ACCEPTED, name="trigger_webhook")
async def trigger_webhook(key: str, request: Request, service: ServiceDep) -> RunAccepted:
    """Run the event of this webhook key. No API token: the key is the secret. A JSON body
    becomes the run's input as JSON; any other body, as text."""
    body = await _webhook_body(request)
    execution = await service.trigger_webhook(key, body)
    return RunAccepted(execution_id=execution.id, status=execution.status)


async def _webhook_body(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > WEBHOOK_MAX_BODY:
        raise PayloadTooLargeError(f"the webhook body exceeds {WEBHOOK_MAX_BODY} bytes")
    raw = await request.body()
    if len(raw) > WEBHOOK_MAX_BODY:
        raise PayloadTooLargeError(f"the webhook body exceeds {WEBHOOK_MAX_BODY} bytes")
    if not raw:
        return None
    if "json" in request.headers.get("content-type", ""):
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise InvalidInputError(f"the request body is not valid JSON: {exc}") from exc
    return raw.decode("utf-8", errors="replace")


@router.post("/{event_id}/run", status_code=status.HTTP_202_ACCEPTED)
async def run_event(
    event_id: Id,
    user: UserDep,
    service: ServiceDep,
    body: Annotated[RunRequest | None, Body()] = None,
) -> RunAccepted:
    """Queue a run now. The optional body's ``input`` is handed to the script."""
    execution = await service.run_event(user, event_id, None if body is None else body.input)
    return RunAccepted(execution_id=execution.id, status=execution.status)
