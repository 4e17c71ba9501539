"""Status writes (storage/executions.py): only its guarded writes change an execution's or a
workflow node's status."""

import re
from pathlib import Path

STORAGE = Path(__file__).parents[2] / "src" / "cronium" / "storage"
UPDATE_WITH_STATUS = re.compile(
    r"update\((ExecutionRow|WorkflowNodeRow)\)(?:(?!update\().)*?\.values\([^)]*\bstatus=", re.S
)
ASSIGNED_STATUS = re.compile(r"^\s*(?P<target>[\w.]+)\.status(?:, [\w.]+)* = ", re.M)


def test_no_other_storage_module_writes_an_execution_or_node_status() -> None:
    for module in STORAGE.glob("*.py"):
        if module.name == "executions.py":
            continue
        text = module.read_text()
        assert not UPDATE_WITH_STATUS.search(text), f"{module.name} updates a status itself"
        for found in ASSIGNED_STATUS.finditer(text):
            # an event's own status (draft, active, paused...) is not a run's
            assert "event" in found["target"] or module.name == "events.py", (
                f"{module.name} sets {found['target']}.status"
            )
