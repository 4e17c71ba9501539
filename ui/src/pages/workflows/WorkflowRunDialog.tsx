// Run a workflow now, with an input for its start nodes, then the run's page.
import RunDialog from "../../components/RunDialog";
import type { Event } from "../../lib/types";

export default function WorkflowRunDialog({ workflow, onClose }: { workflow: Pick<Event, "id" | "name">; onClose: () => void }) {
  return (
    <RunDialog
      title={`Run ${workflow.name} now`}
      about="The input is any JSON value, given to every start node (a node no edge leads to)."
      path={`/workflows/${workflow.id}/run`}
      pageOf={(id) => `/workflows/runs/${id}`}
      onClose={onClose}
    />
  );
}
