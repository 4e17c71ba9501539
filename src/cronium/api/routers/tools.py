"""The caller's tools (credentials for Slack, Discord, Teams, email, webhooks: never shown
back) and the deliveries made through them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from cronium.api.deps import Id, ServiceDep, UserDep
from cronium.api.schemas import ErrorBody
from cronium.domain.delivery import TOOL_DESCRIPTION_MAX, Delivery, Tool
from cronium.domain.tool import ToolKind

router = APIRouter(
    tags=["tools"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


class ToolCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="Unique among your tools: letters, digits, _ . -")
    kind: ToolKind = Field(description=", ".join(ToolKind))
    credentials: dict[str, Any] = Field(
        description="slack/discord/teams: webhook_url; email: host, port, username, password, "
        "sender, tls (starttls, tls, none); webhook: url, method, headers."
    )
    description: str = Field(default="", max_length=TOOL_DESCRIPTION_MAX)


class ToolReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credentials: dict[str, Any] = Field(description="The new credentials (the kind stays).")


class ToolTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(
        default=None, max_length=320, description="email: the recipient (default: the sender)."
    )


class ToolPublic(BaseModel):
    """A tool as anyone may see it: its credentials never, only what is not secret of them."""

    name: str
    kind: str
    description: str
    summary: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tool: Tool) -> ToolPublic:
        return cls(
            name=tool.name,
            kind=tool.kind,
            description=tool.description,
            summary=tool.summary,
            created_at=tool.created_at,
            updated_at=tool.updated_at,
        )


class DeliveryPublic(BaseModel):
    id: int
    execution_id: int | None
    tool: str
    kind: str | None
    action: str
    source: str
    status: str
    target: str
    attempts: int
    code: int | None
    reply: str | None
    error: str | None
    created_at: datetime
    due_at: datetime | None
    first_attempt_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate(delivery.to_json())


@router.get("/tools")
async def list_tools(user: UserDep, service: ServiceDep) -> list[ToolPublic]:
    return [ToolPublic.of(tool) for tool in await service.tools.owned(user)]


@router.post("/tools", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorBody}})
async def add_tool(body: ToolCreate, user: UserDep, service: ServiceDep) -> ToolPublic:
    """Keep credentials for a service (encrypted); 409 if the name is taken."""
    tool = await service.tools.add(user, body.name, body.kind, body.credentials, body.description)
    return ToolPublic.of(tool)


ToolName = Annotated[str, Path(max_length=64, description="The tool's name.")]


@router.get("/tools/{name}")
async def get_tool(name: ToolName, user: UserDep, service: ServiceDep) -> ToolPublic:
    return ToolPublic.of(await service.tools.get(user, name))


@router.put("/tools/{name}")
async def replace_tool(
    name: ToolName, body: ToolReplace, user: UserDep, service: ServiceDep
) -> ToolPublic:
    return ToolPublic.of(await service.tools.replace(user, name, body.credentials))


@router.delete("/tools/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tool(name: ToolName, user: UserDep, service: ServiceDep) -> None:
    await service.tools.delete(user, name)


@router.post("/tools/{name}/test")
async def send_test_message(
    name: ToolName, user: UserDep, service: ServiceDep, body: ToolTest | None = None
) -> DeliveryPublic:
    """Send a test message through the tool now; the delivery, sent or failed (with the
    service's answer or the reason)."""
    to = None if body is None else body.to
    return DeliveryPublic.of(await service.tools.test(user, name, to))


@router.get("/deliveries")
async def list_deliveries(
    user: UserDep, service: ServiceDep, limit: int = Query(default=100, ge=1, le=1000)
) -> list[DeliveryPublic]:
    """The caller's latest deliveries, newest first."""
    return [DeliveryPublic.of(d) for d in await service.tools.deliveries(user, limit)]


@router.get("/executions/{execution_id}/deliveries")
async def execution_deliveries(
    execution_id: Id, user: UserDep, service: ServiceDep
) -> list[DeliveryPublic]:
    """The messages an execution sent or asked for (its script's, its tool event's, its
    conditional actions'), oldest first."""
    execution = await service.get_execution(user, execution_id)
    return [DeliveryPublic.of(d) for d in await service.tools.of_execution(execution)]
