"""The one table from Cronium's error tree to HTTP statuses and error codes, for the REST and
the runtime API alike (no web framework here: the runtime API loads it without the REST app)."""

from __future__ import annotations

from cronium import errors

# The one mapping from the error tree to HTTP, for the REST and the runtime API alike.
STATUS = {
    errors.InvalidInputError: (422, "invalid_input"),
    errors.NotFoundError: (404, "not_found"),
    errors.ConflictError: (409, "conflict"),
    errors.PayloadTooLargeError: (413, "payload_too_large"),
    errors.AuthenticationError: (401, "unauthenticated"),
    errors.PermissionDeniedError: (403, "forbidden"),
    errors.RateLimitedError: (429, "rate_limited"),
    errors.NotAvailableError: (501, "not_implemented"),
    errors.InvalidTransitionError: (409, "invalid_transition"),
    errors.DeliveryFailedError: (502, "delivery_failed"),
    errors.StorageError: (503, "storage_unavailable"),
    errors.SandboxUnavailableError: (503, "sandbox_unavailable"),
}


def status_of(exc: errors.CroniumError) -> tuple[int, str]:
    """The HTTP status and error code an error of Cronium's tree answers with."""
    return next(
        (value for kind, value in STATUS.items() if isinstance(exc, kind)), (500, "internal")
    )
