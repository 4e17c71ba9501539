"""One error tree for everything Cronium raises on purpose.

::

    CroniumError
     +-- ConfigurationError        settings are missing or contradict each other
     +-- InvalidInputError         a request or command carried bad data (HTTP 422)
     +-- NotFoundError             the named object does not exist (HTTP 404)
     +-- ConflictError             the change collides with existing state (HTTP 409)
     |    +-- LeaseLostError        a worker no longer holds the execution it writes for
     +-- PayloadTooLargeError      a request body over its limit (HTTP 413)
     +-- AuthenticationError       no, unknown, expired or revoked credentials (HTTP 401)
     +-- PermissionDeniedError     credentials are fine but not for this (HTTP 403)
     +-- RateLimitedError          too many calls in a window (HTTP 429)
     +-- NotAvailableError         a feature this server does not offer (HTTP 501)
     +-- InvalidTransitionError    an execution state change that the state machine refuses
     +-- SandboxError              a sandbox backend failed (not the script: its exit is a result)
     |    +-- SandboxStartError     the sandbox could not be set up: the script did not start
     |         +-- SandboxUnavailableError   the backend cannot run on this machine, and why
     +-- StorageError              the database failed or is unreachable

Modules add their own leaves (the CLI's ``ClientError``, the HTTP runner's refusals). A script
that exits non-zero is not an error of ours: it is a recorded result. Edges translate this tree
into status codes and messages, the REST and the runtime API by one table
(``api/errors.py``); nothing below them knows about HTTP.
"""

from __future__ import annotations


class CroniumError(Exception):
    """Base of every error Cronium raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(CroniumError):
    """Settings are missing, unreadable or contradict each other."""


class InvalidInputError(CroniumError):
    """A request or command carried data that cannot be accepted as is."""


class NotFoundError(CroniumError):
    """The named object does not exist, or is not visible to the caller."""


class PayloadTooLargeError(CroniumError):
    """A request body is larger than the limit it names (HTTP 413)."""


class ConflictError(CroniumError):
    """The requested change collides with existing state (a duplicate name, say)."""


class LeaseLostError(ConflictError):
    """The execution ended or went to another worker: this worker's writes for it are refused."""

    def __init__(self, message: str, execution_id: int) -> None:
        super().__init__(message)
        self.execution_id = execution_id


class AuthenticationError(CroniumError):
    """The caller's credentials are missing, unknown, expired or revoked."""


class PermissionDeniedError(CroniumError):
    """The caller is known but not allowed to do this."""


class RateLimitedError(CroniumError):
    """The caller made more calls than its limit allows in the current window; it may try
    again after ``retry_after`` seconds when that is known."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotAvailableError(CroniumError):
    """A feature this server does not offer (yet): the message says which."""


class DeliveryFailedError(CroniumError):
    """A message could not be delivered through a tool (after its retries)."""


class InvalidTransitionError(CroniumError):
    """An execution state change that the state machine does not allow."""


class SandboxError(CroniumError):
    """A sandbox backend failed to prepare, run or clean up a sandbox."""


class SandboxStartError(SandboxError):
    """The sandbox could not be set up: the script did not start (the run can go elsewhere)."""


class SandboxUnavailableError(SandboxStartError):
    """The chosen sandbox backend cannot run here; the message says why and what fixes it."""


class StorageError(CroniumError):
    """The database failed or could not be reached."""
