"""``cronium executions prune`` on the database directly: the dry run says what would go and
writes nothing; without it, everything due goes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cronium.domain.execution import ExecutionStatus
from cronium.storage import Store
from cronium.storage.database import create_engine, migrate
from tests.factories import stored_event
from tests.integration.test_retention import existing, history


def cronium(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRONIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "cronium", *args],
        env={
            **env,
            "CRONIUM_DATA_DIR": str(data_dir),
            "CRONIUM_RETENTION_DAYS": "30",
            "CRONIUM_RETENTION_PER_EVENT": "3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_dry_run_lists_what_is_due_and_the_prune_deletes_it(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'cronium.db'}")
    await migrate(engine)
    store = Store(engine)
    now = datetime.now(UTC)
    old_event, busy_event = await stored_event(store), await stored_event(store)
    old = await history(store, old_event, 2, ended=now - timedelta(days=40))
    kept = await history(store, old_event, 1, ended=now - timedelta(days=1))
    busy = await history(store, busy_event, 5, ended=now - timedelta(hours=1))
    running = await history(
        store, busy_event, 1, ended=now - timedelta(days=90), status=ExecutionStatus.RUNNING
    )
    everything = old + kept + busy + running
    try:
        planned = cronium(tmp_path, "executions", "prune", "--dry-run", "--json")
        assert planned.returncode == 0, planned.stderr
        rows = json.loads(planned.stdout)
        assert [(row["event_id"], row["executions"]) for row in rows] == [
            (old_event, 2),
            (busy_event, 2),
        ]
        assert rows[0]["oldest"] <= rows[0]["newest"]
        assert await existing(store, everything) == sorted(everything)

        shown = cronium(tmp_path, "executions", "prune", "--dry-run")
        assert shown.returncode == 0, shown.stderr
        assert "4 execution(s) of 2 event(s) would be pruned" in shown.stderr

        pruned = cronium(tmp_path, "executions", "prune", "--json")
        assert pruned.returncode == 0, pruned.stderr
        assert json.loads(pruned.stdout) == {"executions": 4, "log_lines": 12}
        assert await existing(store, everything) == sorted(kept + busy[2:] + running)

        again = cronium(tmp_path, "executions", "prune", "--dry-run")
        assert "Nothing is due to be pruned." in again.stderr
    finally:
        await engine.dispose()
