// Build a workflow's graph: events added as nodes, edges drawn from one node to another with a
// kind, both removable; the graph redraws at each change. A refusal of the server is shown on
// the graph (the nodes and edges it names marked) and in a banner beside it.
import { useMemo, useState, type FormEvent } from "react";
import { ApiError } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Event } from "../../lib/types";
import { ErrorBanner, FieldError, Loading } from "../../components/common";
import WorkflowGraph from "./WorkflowGraph";
import { edgeLabel, layoutGraph, type EdgeIn, type NodeIn } from "./layout";
import { isAboutGraph, problemsOf } from "./problems";
import { eventNamer, nodeNameFor } from "./names";
import type { Graph } from "./graph";

export interface WorkflowDraft {
  name: string;
  workflow: Graph;
}

const KINDS: { value: string; kind: EdgeIn["kind"]; condition: boolean }[] = [
  { value: "on_success", kind: "on_success", condition: true },
  { value: "always", kind: "always", condition: true },
  { value: "on_failure", kind: "on_failure", condition: true },
  { value: "if_true", kind: "on_condition", condition: true },
  { value: "if_false", kind: "on_condition", condition: false },
];

export default function WorkflowBuilder({
  initial,
  saveLabel,
  onSave,
}: {
  initial?: WorkflowDraft;
  saveLabel: string;
  /** Store the draft; throws the API's refusal. */
  onSave: (draft: WorkflowDraft) => Promise<void>;
}) {
  const events = useGet<Event[]>("/events");
  const runnable = useMemo(() => (events.data ?? []).filter((e) => e.kind !== "workflow"), [events.data]);
  const [name, setName] = useState(initial?.name ?? "");
  const [nodes, setNodes] = useState<NodeIn[]>(initial?.workflow.nodes ?? []);
  const [edges, setEdges] = useState<EdgeIn[]>(initial?.workflow.edges ?? []);
  const graph = useMemo(() => ({ nodes, edges }), [nodes, edges]);
  const eventOf = useMemo(() => eventNamer(events.data), [events.data]);
  const saving = useAction();
  const [saved, setSaved] = useState(graph);
  const refusal = saving.error instanceof ApiError && isAboutGraph(saving.error.message) ? saving.error : null;
  // the refusal names nodes and edges of the graph as it was sent
  const problems = useMemo(() => (refusal ? problemsOf(refusal.message, saved) : []), [refusal, saved]);
  // a name taken is the one conflict saving a workflow can meet: it is about the name field
  const nameTaken = saving.error instanceof ApiError && saving.error.status === 409 ? saving.error.message : null;
  const warnings = useMemo(() => layoutGraph(graph).problems, [graph]);

  async function save() {
    setSaved(graph);
    await saving.run(() => onSave({ name: name.trim(), workflow: graph }));
  }

  function removeNode(node: string) {
    setNodes((all) => all.filter((n) => n.name !== node));
    setEdges((all) => all.filter((e) => e.source !== node && e.target !== node));
  }

  if (events.data === undefined) return events.error ? <ErrorBanner error={events.error} all /> : <Loading what="Loading the events" />;
  return (
    <section aria-label="Workflow builder">
      <div className="field">
        <label htmlFor="wf-name">Name</label>
        <input id="wf-name" value={name} onChange={(e) => setName(e.target.value)} required />
        {nameTaken ? (
          <div className="field-error" role="alert" data-field="name">
            {nameTaken}
          </div>
        ) : (
          <FieldError error={saving.error} field="name" />
        )}
      </div>
      <div className="wf-columns">
        <NodeForm events={runnable} nodes={nodes} onAdd={(node) => setNodes((all) => [...all, node])} />
        <EdgeForm nodes={nodes} onAdd={(edge) => setEdges((all) => [...all, edge])} />
      </div>
      <h3>Graph</h3>
      {refusal ? (
        <div className="banner error" role="alert" data-testid="graph-refusal">
          {refusal.message}
        </div>
      ) : null}
      <WorkflowGraph graph={graph} label="The workflow being built" eventOf={eventOf} problems={problems} />
      {warnings.length > 0 ? (
        <div className="banner error" role="alert" data-testid="graph-warning">
          The server will refuse this graph: {warnings.join("; ")}.
        </div>
      ) : null}
      <div className="wf-columns">
        <div>
          <h3>Nodes</h3>
          {nodes.length === 0 ? <p className="muted">None yet: add an event above.</p> : null}
          <ul aria-label="Nodes">
            {nodes.map((node) => (
              <li key={node.name}>
                <span>
                  <strong>{node.name}</strong> <span className="muted">runs {eventOf(node)}</span>
                </span>
                <button type="button" className="danger" aria-label={`Remove node ${node.name}`} onClick={() => removeNode(node.name)}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h3>Edges</h3>
          {edges.length === 0 ? <p className="muted">None: every node starts at once.</p> : null}
          <ul aria-label="Edges">
            {edges.map((edge, index) => (
              <li key={index}>
                <span>
                  {edge.source} → {edge.target} <span className="muted">{edgeLabel(edge.kind, edge.value)}</span>
                </span>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove edge ${edge.source} to ${edge.target}`}
                  onClick={() => setEdges((all) => all.filter((_, i) => i !== index))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </div>
      </div>
      <ErrorBanner error={refusal || nameTaken ? null : saving.error} fields={["name"]} />
      <button type="button" className="primary" onClick={() => void save()}>
        {saveLabel}
      </button>
    </section>
  );
}

function NodeForm({ events, nodes, onAdd }: { events: Event[]; nodes: NodeIn[]; onAdd: (node: NodeIn) => void }) {
  const [eventId, setEventId] = useState("");
  const [name, setName] = useState("");
  const [taken, setTaken] = useState<string | null>(null);

  function add(form: FormEvent) {
    form.preventDefault();
    const event = events.find((e) => String(e.id) === eventId);
    if (!event) return;
    const node = name.trim() || nodeNameFor(event.name, nodes);
    if (nodes.some((n) => n.name === node)) {
      setTaken(`a node is already named ${node}: give another name`);
      return;
    }
    setTaken(null);
    onAdd({ name: node, event_id: event.id });
    setName("");
  }

  return (
    <form className="card" onSubmit={add} aria-label="Add a node">
      <div className="field">
        <label htmlFor="wf-node-event">Event</label>
        <select id="wf-node-event" value={eventId} onChange={(e) => setEventId(e.target.value)} required>
          <option value="">Choose an event…</option>
          {events.map((event) => (
            <option key={event.id} value={event.id}>
              {event.name}
            </option>
          ))}
        </select>
        {events.length === 0 ? <div className="hint">No script or HTTP events yet: create one first.</div> : null}
      </div>
      <div className="field">
        <label htmlFor="wf-node-name">Node name</label>
        <input id="wf-node-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="the event's name" aria-describedby="wf-node-name-hint" />
        <div className="hint" id="wf-node-name-hint">
          Letters, digits, _ . -; edges name nodes by it.
        </div>
        {taken ? (
          <div className="field-error" role="alert">
            {taken}
          </div>
        ) : null}
      </div>
      <button type="submit">Add node</button>
    </form>
  );
}

function EdgeForm({ nodes, onAdd }: { nodes: NodeIn[]; onAdd: (edge: EdgeIn) => void }) {
  const [source, setSource] = useState("");
  const [target, setTarget] = useState("");
  const [kind, setKind] = useState(KINDS[0].value);
  const names = nodes.map((n) => n.name);
  // a removed node is no longer a choice
  const from = names.includes(source) ? source : "";
  const to = names.includes(target) ? target : "";

  function add(form: FormEvent) {
    form.preventDefault();
    const chosen = KINDS.find((k) => k.value === kind) ?? KINDS[0];
    onAdd({ source: from, target: to, kind: chosen.kind, value: chosen.condition });
    // the next edge starts from the usual kind again, not from the last one chosen
    setKind(KINDS[0].value);
  }

  return (
    <form className="card" onSubmit={add} aria-label="Add an edge">
      <div className="form-grid">
        <NodeSelect id="wf-edge-from" label="From" names={names} value={from} onChange={setSource} />
        <NodeSelect id="wf-edge-to" label="To" names={names} value={to} onChange={setTarget} />
      </div>
      <div className="field">
        <label htmlFor="wf-edge-kind">Kind</label>
        <select id="wf-edge-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          {KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {edgeLabel(k.kind, k.condition)}
            </option>
          ))}
        </select>
        <div className="hint">“if true” and “if false” follow the condition the source sets (set_condition).</div>
      </div>
      <button type="submit" disabled={nodes.length === 0}>
        Add edge
      </button>
    </form>
  );
}

function NodeSelect(props: { id: string; label: string; names: string[]; value: string; onChange: (name: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)} required>
        <option value="">Choose a node…</option>
        {props.names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}
