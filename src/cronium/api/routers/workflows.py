"""Workflows: DAGs of events. A workflow is an event of kind ``workflow``, so its schedule,
webhook, pause and resume, versions and PATCH are those of /events; here are its runs, its
nodes, and export and import as one YAML document."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from cronium.api.deps import Id, ServiceDep, UserDep
from cronium.api.documents import (
    ImportPreview,
    ImportReport,
    WorkflowImported,
    export_document,
    parse_document,
)
from cronium.api.log_schemas import (
    KEEPALIVE,
    SSE_HEADERS,
    SSE_MEDIA_TYPE,
    NodeMessage,
    end_message,
    line_message,
    sse,
)
from cronium.api.schemas import (
    ErrorBody,
    EventCreate,
    EventPublic,
    ExecutionPublic,
    RunAccepted,
    RunRequest,
    WorkflowRunPublic,
)
from cronium.domain.event import EventKind
from cronium.errors import InvalidInputError, PayloadTooLargeError
from cronium.follow import Idle, LogEnd, NodeChange, RunMessage, cursor_text, run_cursor

DOCUMENT_MAX = 4 * 1024 * 1024
YAML = "application/yaml"
router = APIRouter(
    prefix="/workflows",
    tags=["workflows"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.post("", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorBody}})
async def create_workflow(body: EventCreate, user: UserDep, service: ServiceDep) -> EventPublic:
    """Create a workflow: ``name`` and ``workflow`` (nodes and edges), and any schedule or
    policy an event takes."""
    if body.kind is not EventKind.WORKFLOW:
        raise InvalidInputError("workflow: give the workflow's nodes and edges")
    return EventPublic.of(await service.create_event(user, body.to_fields()))


@router.get("")
async def list_workflows(user: UserDep, service: ServiceDep) -> list[EventPublic]:
    return [EventPublic.of(event) for event in await service.list_workflows(user)]


@router.get("/{workflow_id}")
async def get_workflow(workflow_id: Id, user: UserDep, service: ServiceDep) -> EventPublic:
    return EventPublic.of(await service.get_workflow(user, workflow_id))


@router.delete(
    "/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT, responses={409: {"model": ErrorBody}}
)
async def delete_workflow(workflow_id: Id, user: UserDep, service: ServiceDep) -> None:
    """Delete a workflow with its runs; the events its nodes run are kept (409 while a run of
    it is going on)."""
    await service.delete_workflow(user, workflow_id)


@router.post("/{workflow_id}/run", status_code=status.HTTP_202_ACCEPTED)
async def run_workflow(
    workflow_id: Id,
    user: UserDep,
    service: ServiceDep,
    body: Annotated[RunRequest | None, Body()] = None,
) -> RunAccepted:
    """Start a run now; the optional ``input`` goes to the start nodes."""
    await service.get_workflow(user, workflow_id)
    run = await service.run_event(user, workflow_id, None if body is None else body.input)
    return RunAccepted(execution_id=run.id, status=run.status)


@router.get("/{workflow_id}/runs")
async def list_runs(
    workflow_id: Id,
    user: UserDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[ExecutionPublic]:
    """The workflow's runs, newest first."""
    runs = await service.list_workflow_runs(user, workflow_id, limit)
    return [ExecutionPublic.of(run) for run in runs]


@router.get("/runs/{run_id}")
async def get_run(run_id: Id, user: UserDep, service: ServiceDep) -> WorkflowRunPublic:
    """A run with each node's status, timings, input, output and execution."""
    return WorkflowRunPublic.of(*await service.get_workflow_run(user, run_id))


@router.get(
    "/runs/{run_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "Server-Sent Events."}},
)
async def stream_run(
    run_id: Id,
    user: UserDep,
    service: ServiceDep,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    """Follow a run live (Server-Sent Events): each node's status changes (``event: node``),
    the lines of its executions (``event: line``, with ``node`` and ``execution_id``), then
    ``event: end`` with the run's outcome. Every event's id is the stream's position: a
    client that reconnects with ``Last-Event-ID`` gets each node's status again and only the
    lines it has not had."""
    cursor = run_cursor(last_event_id)
    messages = await service.follow_run(user, run_id, after=cursor)
    return StreamingResponse(
        _run_events(messages, cursor), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS
    )


async def _run_events(
    messages: AsyncGenerator[RunMessage], cursor: dict[int, int]
) -> AsyncIterator[bytes]:
    async with aclosing(messages):  # a client gone: its tasks end now
        async for message in messages:
            if isinstance(message, Idle):
                yield KEEPALIVE
            elif isinstance(message, LogEnd):
                yield sse(end_message(message))
            elif isinstance(message, NodeChange):
                node, status, execution_id = message.node, message.status, message.execution_id
                change = NodeMessage(node=node, status=status, execution_id=execution_id)
                yield sse(change, cursor_text(cursor) or None)
            else:
                cursor[message.execution_id] = message.line.seq
                line = line_message(message.line, message.node, message.execution_id)
                yield sse(line, cursor_text(cursor))


@router.post("/runs/{run_id}/cancel", responses={409: {"model": ErrorBody}})
async def cancel_run(run_id: Id, user: UserDep, service: ServiceDep) -> WorkflowRunPublic:
    """Cancel a run: nodes not started never start, running ones are stopped."""
    return WorkflowRunPublic.of(*await service.cancel_workflow_run(user, run_id))


@router.get(
    "/{workflow_id}/export", response_class=Response, responses={200: {"content": {YAML: {}}}}
)
async def export_workflow(workflow_id: Id, user: UserDep, service: ServiceDep) -> Response:
    """The workflow and its events as one YAML document."""
    workflow = await service.get_workflow(user, workflow_id)
    assert workflow.workflow is not None
    events = {i: await service.get_event(user, i) for i in workflow.workflow.event_ids()}
    return Response(export_document(workflow, events), media_type=YAML)


@router.post("/import", responses={409: {"model": ErrorBody}})
async def import_workflow(
    request: Request,
    user: UserDep,
    service: ServiceDep,
    dry_run: Annotated[
        bool, Query(description="Only say what the import would do; write nothing.")
    ] = False,
) -> WorkflowImported | ImportPreview:
    """Create, change or leave alone a workflow and its events from a YAML document (as
    exported): the workflow as the import left it, with ``report`` saying what was created,
    changed (old and new version) or left unchanged. With ``dry_run``, only the report."""
    raw = await request.body()
    if len(raw) > DOCUMENT_MAX:
        raise PayloadTooLargeError(f"the document exceeds {DOCUMENT_MAX} bytes")
    events, workflow, nodes = parse_document(raw.decode("utf-8", errors="replace"))
    result = await service.import_workflow(user, events, workflow, nodes, dry_run=dry_run)
    report = ImportReport.of(result)
    if result.stored is None:
        return ImportPreview(report=report)
    return WorkflowImported(**EventPublic.of(result.stored).model_dump(), report=report)
