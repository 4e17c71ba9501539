"""The REST shapes of variables: what a write carries, and what a read answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cronium.domain.variable import (
    MAX_DESCRIPTION,
    MAX_EXPIRY_SECONDS,
    UNCHANGED,
    Unchanged,
    Variable,
    VariableChange,
    check_schema,
)
from cronium.errors import InvalidInputError


class VariableWrite(BaseModel):
    """A variable's new value and, optionally, its metadata. A field left out keeps what is
    stored (``"schema": null`` removes a schema, ``"expires_at": null`` an expiry)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    value: Any = Field(description="Any JSON value; checked against the variable's schema.")
    description: str | None = Field(
        default=None, max_length=MAX_DESCRIPTION, description="What the variable is for."
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        alias="schema",
        description="A JSON Schema (Draft 2020-12) every later write must satisfy; at most 64 KiB.",
    )
    secret: bool | None = Field(
        default=None,
        description="Store the value encrypted; it is never listed, only read by the owner's "
        "scripts or revealed to the owner.",
    )
    expires_in: int | None = Field(
        default=None,
        ge=1,
        le=MAX_EXPIRY_SECONDS,
        description="Seconds from now after which the variable reads as missing.",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the variable starts to read as missing."
    )

    def change(self, now: datetime) -> VariableChange:
        """The write as the storage takes it; InvalidInputError for a bad schema or expiry."""
        given = self.model_fields_set
        if "expires_in" in given and "expires_at" in given:
            raise InvalidInputError('give "expires_in" or "expires_at", not both')
        expires_at: datetime | Unchanged | None = UNCHANGED
        if self.expires_in is not None:
            expires_at = now + timedelta(seconds=self.expires_in)
        elif "expires_at" in given:
            expires_at = self.expires_at
        return VariableChange(
            value=self.value,
            description=(self.description or "") if "description" in given else UNCHANGED,
            schema=_schema(self.json_schema) if "json_schema" in given else UNCHANGED,
            secret=bool(self.secret) if "secret" in given else UNCHANGED,
            expires_at=expires_at,
        )


class VariablePublic(BaseModel):
    """A variable; a secret's ``value`` is null (reveal it with ``POST .../reveal``)."""

    key: str
    value: Any
    description: str
    secret: bool
    json_schema: dict[str, Any] | None = Field(serialization_alias="schema")
    expires_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, variable: Variable) -> VariablePublic:
        return cls(
            key=variable.key,
            value=variable.value if variable.revealed or not variable.secret else None,
            description=variable.description,
            secret=variable.secret,
            json_schema=variable.schema,
            expires_at=variable.expires_at,
            updated_at=variable.updated_at,
        )


def _schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if schema is None else check_schema(schema)
