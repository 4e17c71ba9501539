"""What a test reads back of a run: its execution and its log, stdout and stderr apart."""

from __future__ import annotations

from dataclasses import dataclass

from cronium.domain.execution import Execution
from cronium.storage import Store


@dataclass
class Done:
    execution: Execution
    stdout: list[str]
    stderr: list[str]


async def done(store: Store, execution_id: int) -> Done:
    """The execution as stored, with its log lines by stream."""
    logs = await store.logs.read(execution_id)
    return Done(
        await store.executions.get(execution_id),
        [line.line for line in logs if line.stream == "stdout"],
        [line.line for line in logs if line.stream == "stderr"],
    )
