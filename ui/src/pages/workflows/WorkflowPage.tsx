// One workflow: its graph and recent runs, Run now (with an input) and Delete for writers, its edit tab, and its
// YAML export (shown, and downloaded as a file).
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { Link, NavLink, Route, Routes, useNavigate, useParams } from "react-router";
import { del, get, patch } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import type { Event, Execution } from "../../lib/types";
import { duration, when } from "../../lib/format";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import WorkflowGraph from "./WorkflowGraph";
import WorkflowBuilder from "./WorkflowBuilder";
import WorkflowRunDialog from "./WorkflowRunDialog";
import { graphOf } from "./graph";
import { eventNamer } from "./names";
import { tookSeconds } from "./runs";

const CodeEditor = lazy(() => import("../../components/CodeEditor"));

export default function WorkflowPage() {
  const { id } = useParams();
  const { canWrite } = useSession();
  const workflow = useGet<Event>(`/workflows/${id}`);
  const navigate = useNavigate();
  const { error, run } = useAction();
  const [running, setRunning] = useState(false);

  async function remove(name: string) {
    if (!window.confirm(`Delete the workflow ${name} and its runs? Its events are kept.`)) return;
    await run(async () => {
      await del(`/workflows/${id}`);
      navigate("/workflows");
    });
  }

  if (workflow.data === undefined) return workflow.error ? <ErrorBanner error={workflow.error} all /> : <Loading />;
  const current = workflow.data;
  const base = `/workflows/${current.id}`;
  return (
    <>
      <div className="spread">
        <h1>{current.name}</h1>
        {canWrite ? (
          <div className="row">
            <button type="button" className="primary" onClick={() => setRunning(true)}>
              Run now
            </button>
            <button type="button" className="danger" onClick={() => void remove(current.name)}>
              Delete
            </button>
          </div>
        ) : null}
      </div>
      <ErrorBanner error={error} all />
      <nav className="tabs" aria-label="Workflow">
        <NavLink to={base} end>
          Graph
        </NavLink>
        {canWrite ? <NavLink to={`${base}/edit`}>Edit</NavLink> : null}
        <NavLink to={`${base}/yaml`}>YAML</NavLink>
      </nav>
      <Routes>
        <Route index element={<Overview workflow={current} />} />
        {canWrite ? <Route path="edit" element={<Edit workflow={current} onSaved={workflow.reload} />} /> : null}
        <Route path="yaml" element={<Export workflow={current} />} />
      </Routes>
      {running ? <WorkflowRunDialog workflow={current} onClose={() => setRunning(false)} /> : null}
    </>
  );
}

function Overview({ workflow }: { workflow: Event }) {
  const events = useGet<Event[]>("/events");
  const runs = useGet<Execution[]>(`/workflows/${workflow.id}/runs?limit=20`, 5000);
  const graph = useMemo(() => graphOf(workflow.workflow), [workflow.workflow]);
  const eventOf = useMemo(() => eventNamer(events.data), [events.data]);
  const readable = useMemo(() => new Set((events.data ?? []).map((e) => e.id)), [events.data]);
  const eventIdOf = useMemo(() => new Map(graph.nodes.map((n) => [n.name, n.event_id])), [graph]);
  // a node opens its event when the caller can read that event
  const hrefOf = (node: string) => {
    const eventId = eventIdOf.get(node);
    return eventId !== undefined && readable.has(eventId) ? `/events/${eventId}` : null;
  };
  return (
    <>
      {workflow.description ? <p>{workflow.description}</p> : null}
      <WorkflowGraph graph={graph} label={`The graph of ${workflow.name}`} eventOf={eventOf} hrefOf={hrefOf} />
      <h2>Recent runs</h2>
      <ErrorBanner error={runs.error} all />
      {runs.data === undefined ? (
        <Loading />
      ) : runs.data.length === 0 ? (
        <p>No runs yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Run</th>
                <th>Status</th>
                <th>Trigger</th>
                <th>Started</th>
                <th>Took</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((execution) => (
                <tr key={execution.id}>
                  <td>
                    <Link to={`/workflows/runs/${execution.id}`}>Run {execution.id}</Link>
                  </td>
                  <td>
                    <StatusBadge status={execution.status} />
                  </td>
                  <td>{execution.trigger}</td>
                  <td>{when(execution.started_at ?? execution.queued_at)}</td>
                  <td>{duration(tookSeconds(execution))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function Edit({ workflow, onSaved }: { workflow: Event; onSaved: () => void }) {
  const navigate = useNavigate();
  const initial = useMemo(() => ({ name: workflow.name, workflow: graphOf(workflow.workflow) }), [workflow]);
  return (
    <WorkflowBuilder
      initial={initial}
      saveLabel="Save changes"
      onSave={async (draft) => {
        await patch<Event>(`/events/${workflow.id}`, draft);
        onSaved();
        navigate(`/workflows/${workflow.id}`);
      }}
    />
  );
}

function Export({ workflow }: { workflow: Event }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    get<string>(`/workflows/${workflow.id}/export`, { asText: true, signal: abort.signal })
      .then(setText)
      .catch((failure: unknown) => {
        if (!(failure instanceof DOMException && failure.name === "AbortError")) setError(failure);
      });
    return () => abort.abort();
  }, [workflow.id, workflow.version]);
  // the file downloaded is the text shown
  const href = useMemo(() => (text === null ? null : URL.createObjectURL(new Blob([text], { type: "application/yaml" }))), [text]);
  useEffect(() => () => void (href && URL.revokeObjectURL(href)), [href]);

  if (error) return <ErrorBanner error={error} all />;
  if (text === null || href === null) return <Loading />;
  return (
    <>
      <p className="muted">
        The workflow and every event its nodes run, as one document to keep in git and import again
        (on this server or another).
      </p>
      <p>
        <a className="button" href={href} download={`${workflow.name}.yaml`}>
          Download {workflow.name}.yaml
        </a>
      </p>
      <Suspense fallback={<Loading />}>
        <CodeEditor value={text} language="yaml" readOnly label="The workflow as YAML" minHeight="16rem" />
      </Suspense>
    </>
  );
}
