"""Status writes: only storage/executions.py's guarded writes change an execution's or a
workflow node's status."""

import re
from pathlib import Path

import pytest

from cronium.domain.execution import ExecutionStatus
from cronium.domain.workflow import NodeStatus, check_node_transition
from cronium.errors import InvalidTransitionError

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


@pytest.mark.parametrize(
    ("current", "target"),
    [(NodeStatus.SUCCEEDED, NodeStatus.FAILED), (NodeStatus.RUNNING, NodeStatus.SKIPPED),
     (NodeStatus.SKIPPED, NodeStatus.RUNNING)],
)  # fmt: skip
def test_an_ended_or_running_node_cannot_go_back(current: NodeStatus, target: NodeStatus) -> None:
    with pytest.raises(InvalidTransitionError):
        check_node_transition(current, target)


def test_node_statuses_mirror_the_ends_of_executions() -> None:
    for status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED):
        check_node_transition(NodeStatus.RUNNING, NodeStatus(status.value))
