// One execution: its live log, status, exit code or signal, timings, resources, input, output
// and condition, the retries it belongs to, and cancel while it has not ended.
import { useEffect } from "react";
import { Link, Navigate, useParams } from "react-router";
import { post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import { ENDED, type Event, type Execution } from "../../lib/types";
import { bytes, duration, json, when } from "../../lib/format";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import LogView from "./LogView";
import { useLogStream } from "./useLogStream";

export default function ExecutionPage() {
  const id = Number(useParams().id);
  const record = useGet<Execution>(Number.isInteger(id) ? `/executions/${id}` : null);
  const execution = record.data;
  const ended = execution ? ENDED.has(execution.status) : false;
  const log = useLogStream(id);
  const { reload } = record;

  // the record changes while it runs: follow it until it ends, and once more at the log's end
  useEffect(() => {
    if (ended) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [ended, reload]);
  useEffect(() => {
    if (log.end) reload();
  }, [log.end, reload]);

  if (!Number.isInteger(id)) return <p>There is no execution at this address.</p>;
  if (record.error && !execution) return <ErrorBanner error={record.error} all />;
  if (!execution) return <Loading />;
  return (
    <>
      <Header execution={execution} onChange={reload} />
      {execution.error ? (
        <div className="banner error" role="alert" data-testid="execution-error">
          {execution.error}
        </div>
      ) : null}
      <Facts execution={execution} />
      <LogView lines={log.lines} state={log.state} fileName={`execution-${execution.id}.log`} />
      <Data execution={execution} />
      <Retries execution={execution} />
    </>
  );
}

function Header({ execution, onChange }: { execution: Execution; onChange: () => void }) {
  const { canWrite } = useSession();
  const event = useGet<Event>(`/events/${execution.event_id}`);
  const { error, run } = useAction();
  const cancel = async () => {
    if (!window.confirm(`Cancel execution #${execution.id}? A running script is stopped at once.`)) return;
    await run(async () => {
      await post(`/executions/${execution.id}/cancel`);
      onChange();
    });
  };
  // a workflow's run has its own page, with the graph
  if (event.data?.kind === "workflow") return <Navigate to={`/workflows/runs/${execution.id}`} replace />;
  return (
    <>
      <div className="spread">
        <h1>
          Execution #{execution.id} <StatusBadge status={execution.status} />
        </h1>
        {canWrite && !ENDED.has(execution.status) ? (
          <button type="button" className="danger" onClick={() => void cancel()} disabled={!!execution.cancel_requested_at}>
            {execution.cancel_requested_at ? "Cancelling…" : "Cancel"}
          </button>
        ) : null}
      </div>
      <p className="muted">
        Of <Link to={`/events/${execution.event_id}`}>{event.data?.name ?? `event ${execution.event_id}`}</Link>
        {execution.event_version ? ` (version ${execution.event_version})` : ""}, {execution.trigger}
        , attempt {execution.attempt}
        {execution.node && execution.parent_id !== null ? (
          <>
            ; node {execution.node} of{" "}
            <Link to={`/workflows/runs/${execution.parent_id}`}>workflow run #{execution.parent_id}</Link>
          </>
        ) : null}
      </p>
      <ErrorBanner error={error} all />
    </>
  );
}

function ending(execution: Execution): string {
  if (execution.timed_out) return "timed out";
  if (execution.oom_killed) return "killed: out of memory";
  if (execution.signal !== null) return `killed by signal ${execution.signal}`;
  if (execution.exit_code !== null) return `exit code ${execution.exit_code}`;
  return "—";
}

function Facts({ execution }: { execution: Execution }) {
  const facts: [string, string][] = [
    ["Ended with", ending(execution)],
    ["Queued", when(execution.queued_at)],
    ["Started", when(execution.started_at)],
    ["Finished", when(execution.finished_at)],
    ["Waited in the queue", duration(execution.queue_wait_seconds)],
    ["Sandbox setup", duration(execution.setup_seconds)],
    ["Run", duration(execution.run_seconds)],
    ["Cleanup", duration(execution.cleanup_seconds)],
    ["Peak memory", bytes(execution.peak_memory_bytes)],
    ["CPU time", duration(execution.cpu_seconds)],
    ["Worker", execution.worker_id ?? "—"],
    ["Pool", execution.pool ?? "any"],
  ];
  return (
    <dl className="facts" aria-label="Facts">
      {facts.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd data-testid={`fact-${term.toLowerCase().replace(/ /g, "-")}`}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Data({ execution }: { execution: Execution }) {
  return (
    <div className="cards">
      <section className="card" aria-label="Input">
        <h2>Input</h2>
        <pre>{execution.input === null || execution.input === undefined ? "none" : json(execution.input)}</pre>
      </section>
      <section className="card" aria-label="Output">
        <h2>Output</h2>
        <pre data-testid="execution-output">
          {execution.output === null || execution.output === undefined ? "none" : json(execution.output)}
        </pre>
      </section>
      <section className="card" aria-label="Condition">
        <h2>Condition</h2>
        <p data-testid="execution-condition">{execution.condition === null ? "not set" : String(execution.condition)}</p>
      </section>
    </div>
  );
}

/** The attempts of the same run: the one this retries, and those that retried it. */
function Retries({ execution }: { execution: Execution }) {
  const siblings = useGet<Execution[]>(`/executions?event_id=${execution.event_id}&limit=200`);
  const retries = (siblings.data ?? []).filter((other) => other.retry_of === execution.id);
  if (execution.retry_of === null && retries.length === 0) return null;
  return (
    <section aria-label="Retries">
      <h2>Retries</h2>
      <ul>
        {execution.retry_of !== null ? (
          <li>
            Retry of <Link to={`/executions/${execution.retry_of}`}>execution #{execution.retry_of}</Link>
          </li>
        ) : null}
        {retries.map((retry) => (
          <li key={retry.id}>
            Retried as <Link to={`/executions/${retry.id}`}>execution #{retry.id}</Link> (attempt {retry.attempt}){" "}
            <StatusBadge status={retry.status} />
          </li>
        ))}
      </ul>
    </section>
  );
}
