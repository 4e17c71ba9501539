"""``cronium executions prune``: ended executions pruned by the retention settings, on the
database directly (no server needed), like ``cronium users ...``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cronium.cli.common import answer, answer_table, err, executions_app
from cronium.cli.users import on_the_database
from cronium.settings import load_settings

if TYPE_CHECKING:
    from cronium.retention import DueOfEvent, Pruned
    from cronium.service import Service

COLUMNS = ["event_id", "executions", "oldest", "newest"]


@executions_app.command("prune")
def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would go, by event; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete the ended executions (with their logs) older than CRONIUM_RETENTION_DAYS or
    beyond the newest CRONIUM_RETENTION_PER_EVENT of their event, in short batches: what the
    scheduler does every minute, all at once. Running and queued ones are never touched."""
    from cronium.retention import Pruner, RetentionPolicy

    policy = RetentionPolicy.from_settings(load_settings())
    now = datetime.now(UTC)
    if dry_run:

        async def plan(service: Service) -> list[DueOfEvent]:
            return await Pruner(service.store, policy).due(now)

        due = on_the_database(plan)
        rows = [_row_of(item) for item in due]
        if not as_json and not rows:
            err.print("Nothing is due to be pruned.")
            return
        answer_table(rows, COLUMNS, as_json)
        if not as_json:
            total = sum(item.executions for item in due)
            err.print(f"{total} execution(s) of {len(rows)} event(s) would be pruned.")
        return

    async def run(service: Service) -> Pruned:
        return await Pruner(service.store, policy).run_all(now)

    pruned = on_the_database(run)
    answer(
        {"executions": pruned.executions, "log_lines": pruned.log_lines},
        as_json,
        f"Pruned {pruned.executions} execution(s) and {pruned.log_lines} log line(s)"
        f" in {pruned.batches} batch(es).",
    )


def _row_of(item: DueOfEvent) -> dict[str, Any]:
    return {
        "event_id": item.event_id,
        "executions": item.executions,
        "oldest": item.oldest.isoformat(),
        "newest": item.newest.isoformat(),
    }
