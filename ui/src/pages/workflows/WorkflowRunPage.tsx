// One run of a workflow: its graph with each node coloured by its status, live (the run's
// stream, or polling every 2 s if the stream fails); a node opens its execution, a failed one
// says why; writers cancel a run that has not ended.
import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import type { Event, EventVersion, Execution, NodeRun, WorkflowRun } from "../../lib/types";
import { ENDED } from "../../lib/types";
import { when } from "../../lib/format";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import WorkflowGraph from "./WorkflowGraph";
import { graphOf } from "./graph";
import { eventNamer } from "./names";
import { useRunStream } from "./runStream";
import { FAILED_NODE, failureReason } from "./runs";

const POLL_MS = 2000;

export default function WorkflowRunPage() {
  const { runId = "" } = useParams();
  const { canWrite } = useSession();
  const [polling, setPolling] = useState(false);
  const run = useGet<WorkflowRun>(`/workflows/runs/${runId}`, polling ? POLL_MS : undefined);
  const status = run.data?.run.status;
  const isEnded = status !== undefined && (ENDED.has(status) || status === "skipped");
  // a cancelled run ends before its running nodes are stopped (within about a second): its
  // stream has ended by then, so the page polls until every node has
  const settled = isEnded && (run.data?.nodes ?? []).every((n) => n.status !== "running" && n.status !== "pending");
  useEffect(() => {
    if (isEnded) setPolling(!settled);
  }, [isEnded, settled]);
  const changes = useRunStream(runId, run.data !== undefined && !isEnded && !polling, run.reload, () => setPolling(true));
  const cancel = useAction();

  if (run.data === undefined) return run.error ? <ErrorBanner error={run.error} all /> : <Loading />;
  const { run: execution, nodes } = run.data;
  const statuses: Record<string, string> = {};
  const executions: Record<string, number> = {};
  // the stream is newer than the run as loaded while it runs; once it has ended, what is loaded
  // (polled until every node has stopped) is
  const live = isEnded ? {} : changes;
  for (const node of nodes) {
    statuses[node.node] = live[node.node]?.status ?? node.status;
    const id = live[node.node]?.execution_id ?? node.execution_id;
    if (id) executions[node.node] = id;
  }

  return (
    <>
      <div className="spread">
        <h1>Workflow run {execution.id}</h1>
        {canWrite && !isEnded ? (
          <button
            type="button"
            className="danger"
            onClick={() => void cancel.run(async () => {
              await post(`/workflows/runs/${execution.id}/cancel`);
              run.reload();
            })}
          >
            Cancel run
          </button>
        ) : null}
      </div>
      <ErrorBanner error={cancel.error ?? run.error} all />
      <dl className="wf-times">
        <dt>Status</dt>
        <dd data-testid="run-status">
          <StatusBadge status={execution.status} />{" "}
          <span className="muted">{isEnded ? null : polling ? `checked every ${POLL_MS / 1000} s` : "following live"}</span>
        </dd>
        <dt>Workflow</dt>
        <dd>
          <WorkflowName id={execution.event_id} />
        </dd>
        <dt>Trigger</dt>
        <dd>{execution.trigger}</dd>
        <dt>Started</dt>
        <dd>{when(execution.started_at)}</dd>
        <dt>Ended</dt>
        <dd>{when(execution.finished_at)}</dd>
      </dl>
      {execution.error ? <div className="banner error">{execution.error}</div> : null}
      <RunGraph eventId={execution.event_id} version={execution.event_version} statuses={statuses} executions={executions} />
      <h2>Nodes</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Node</th>
              <th>Status</th>
              <th>Started</th>
              <th>Ended</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((node) => (
              <tr key={node.node}>
                <td>{executions[node.node] ? <Link to={`/executions/${executions[node.node]}`}>{node.node}</Link> : node.node}</td>
                <td>
                  <StatusBadge status={statuses[node.node]} />
                </td>
                <td>{when(node.started_at)}</td>
                <td>{when(node.finished_at)}</td>
                <td>
                  <NodeError node={node} status={statuses[node.node]} executionId={executions[node.node]} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Why a node failed: its own error, else its execution's (a script that exited with a code has
 * no error text on the node, only on its execution). */
function NodeError({ node, status, executionId }: { node: NodeRun; status: string; executionId: number | undefined }) {
  const failed = FAILED_NODE.has(status) && !node.error && executionId !== undefined;
  // a failed execution does not change again: loaded once, never polled
  const execution = useGet<Execution>(failed ? `/executions/${executionId}` : null);
  if (node.error) return <>{node.error}</>;
  if (!failed) return null;
  if (execution.error) return <ErrorBanner error={execution.error} all />;
  if (execution.data === undefined) return <span className="muted">…</span>;
  return <>{failureReason(execution.data) ?? status.replace("_", " ")}</>;
}

function WorkflowName({ id }: { id: number }) {
  const workflow = useGet<Event>(`/workflows/${id}`);
  return <Link to={`/workflows/${id}`}>{workflow.data?.name ?? `workflow ${id}`}</Link>;
}

/** The graph of the version the run started with (a later edit does not change a run). */
function RunGraph(props: { eventId: number; version: number | null; statuses: Record<string, string>; executions: Record<string, number> }) {
  const path = props.version === null ? `/workflows/${props.eventId}` : `/events/${props.eventId}/versions/${props.version}`;
  const source = useGet<Event | EventVersion>(path);
  const events = useGet<Event[]>("/events");
  const eventOf = useMemo(() => eventNamer(events.data), [events.data]);
  const graph = useMemo(() => {
    const data = source.data;
    return graphOf(data === undefined ? null : "settings" in data ? (data.settings.workflow as Event["workflow"]) : data.workflow);
  }, [source.data]);
  const { executions } = props;
  if (source.data === undefined) return source.error ? <ErrorBanner error={source.error} all /> : <Loading what="Loading the graph" />;
  return (
    <WorkflowGraph
      graph={graph}
      label="The run's graph: each node by its status"
      eventOf={eventOf}
      statuses={props.statuses}
      hrefOf={(node) => (executions[node] ? `/executions/${executions[node]}` : null)}
    />
  );
}
