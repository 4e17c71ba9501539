// The workflows: each with its number of nodes and its last run; writers run one or make one.
import { useState } from "react";
import { Link } from "react-router";
import { useGet } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import type { Event, Execution } from "../../lib/types";
import { ago } from "../../lib/format";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import { graphOf } from "./graph";
import WorkflowRunDialog from "./WorkflowRunDialog";

export default function WorkflowList() {
  const { canWrite } = useSession();
  const list = useGet<Event[]>("/workflows");
  // a workflow's run is an execution of the workflow: one call gives every workflow's last
  const latest = useGet<Execution[]>("/executions/latest?limit=1000", 5_000);
  const lastRuns = new Map((latest.data ?? []).map((execution) => [execution.event_id, execution]));
  // Run asks for the input as the workflow's Run now does: the same word does the same thing
  // on both pages, and a click on the wrong row starts nothing (Enter runs it as it is)
  const [running, setRunning] = useState<Event | null>(null);

  return (
    <>
      <div className="spread">
        <h1>Workflows</h1>
        {canWrite ? (
          <Link className="button primary" to="/workflows/new">
            New workflow
          </Link>
        ) : null}
      </div>
      <p className="muted">Events run one after another as a graph: each edge says when the next one runs.</p>
      <ErrorBanner error={list.error} all />
      {list.data === undefined ? (
        <Loading />
      ) : list.data.length === 0 ? (
        <p>No workflows yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Nodes</th>
                <th>Status</th>
                <th>Last run</th>
                {canWrite ? <th aria-label="Actions" /> : null}
              </tr>
            </thead>
            <tbody>
              {list.data.map((workflow) => (
                <tr key={workflow.id}>
                  <td>
                    <Link to={`/workflows/${workflow.id}`}>{workflow.name}</Link>
                  </td>
                  <td>{graphOf(workflow.workflow).nodes.length}</td>
                  <td>
                    <StatusBadge status={workflow.status} />
                  </td>
                  <td>
                    <LastRun run={lastRuns.get(workflow.id)} loaded={latest.data !== undefined} />
                  </td>
                  {canWrite ? (
                    <td>
                      <button type="button" aria-label={`Run ${workflow.name}`} onClick={() => setRunning(workflow)}>
                        Run
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {running ? <WorkflowRunDialog workflow={running} onClose={() => setRunning(null)} /> : null}
    </>
  );
}

function LastRun({ run, loaded }: { run: Execution | undefined; loaded: boolean }) {
  if (!loaded) return <span className="muted">…</span>;
  if (!run) return <span className="muted">never run</span>;
  return (
    <Link to={`/workflows/runs/${run.id}`} className="row">
      <StatusBadge status={run.status} /> {ago(run.started_at ?? run.queued_at)}
    </Link>
  );
}
