// A workflow drawn as SVG: nodes as boxes (coloured by status on a run), edges as arrows
// labelled with their kind, the nodes and edges a refusal names marked. A node with a page to
// open is a link (focusable, Enter opens it). Narrower than the drawing, its box shrinks it to
// fit, down to MIN_SCALE (text still readable), then scrolls sideways.
import { useId, useMemo, type MouseEvent } from "react";
import { useNavigate } from "react-router";
import { LABEL_HEIGHT, labelWidth, layoutGraph, pathOf, type NodeIn, type PlacedEdge, type PlacedNode, type WorkflowGraphIn } from "./layout";
import { edgeKey, type Problem } from "./problems";
import "./workflows.css";

export interface WorkflowGraphProps {
  graph: WorkflowGraphIn;
  /** The accessible name of the drawing. */
  label: string;
  /** The event a node runs, as its box says it. */
  eventOf?: (node: NodeIn) => string;
  /** Each node's status, on a run. */
  statuses?: Record<string, string>;
  /** The page a node opens, if any. */
  hrefOf?: (node: string) => string | null;
  problems?: Problem[];
}

const KINDS = ["always", "on_success", "on_failure", "if_true", "if_false"] as const;

function kindClass(edge: PlacedEdge): string {
  if (edge.kind === "on_condition") return edge.value ? "if_true" : "if_false";
  return edge.kind;
}

const MIN_SCALE = 0.7;

/** What a node is called to a screen reader (and in its tooltip): which node, the event it
 * runs (its name, or "event N" when the caller cannot read it), its status on a run. */
export function nodeName(node: Pick<PlacedNode, "name" | "label">, status?: string): string {
  return `node ${node.name}: runs ${node.label}${status ? `, ${status.replace("_", " ")}` : ""}`;
}

function fit(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

export default function WorkflowGraph({ graph, label, eventOf, statuses, hrefOf, problems = [] }: WorkflowGraphProps) {
  const layout = useMemo(() => layoutGraph(graph, eventOf), [graph, eventOf]);
  const marker = `wf${useId().replace(/[^A-Za-z0-9_-]/g, "")}`; // usable in url(#...)
  const marked = useMemo(
    () => ({ nodes: new Set(problems.flatMap((p) => p.nodes)), edges: new Set(problems.flatMap((p) => p.edges)) }),
    [problems],
  );
  if (layout.nodes.length === 0) return <p className="muted">No nodes yet.</p>;
  return (
    <div className="wf-graph">
      <svg
        width={layout.width}
        height={layout.height}
        style={{ minWidth: Math.round(layout.width * MIN_SCALE) }}
        viewBox={`0 0 ${layout.width} ${layout.height}`} role="group" aria-label={label}>
        <defs>
          {KINDS.map((kind) => (
            <marker key={kind} id={`${marker}-${kind}`} className={`wf-arrow wf-kind-${kind}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" />
            </marker>
          ))}
        </defs>
        {layout.edges.map((edge, index) => (
          <Edge key={index} edge={edge} marker={`${marker}-${kindClass(edge)}`} problem={marked.edges.has(edgeKey(edge.source, edge.target))} />
        ))}
        {layout.nodes.map((node) => (
          <Node key={node.name} node={node} status={statuses?.[node.name]} href={hrefOf?.(node.name) ?? null} problem={marked.nodes.has(node.name)} />
        ))}
      </svg>
    </div>
  );
}

function Edge({ edge, marker, problem }: { edge: PlacedEdge; marker: string; problem: boolean }) {
  const width = labelWidth(edge.label);
  return (
    <g
      className={`wf-edge wf-kind-${kindClass(edge)}${problem ? " wf-problem" : ""}`}
      data-edge={edgeKey(edge.source, edge.target)}
      data-kind={edge.label}
      data-problem={problem || undefined}
    >
      <path d={pathOf(edge.points)} markerEnd={`url(#${marker})`} />
      <rect x={edge.labelAt.x - width / 2} y={edge.labelAt.y - LABEL_HEIGHT / 2} width={width} height={LABEL_HEIGHT} rx={4} />
      <text x={edge.labelAt.x} y={edge.labelAt.y} dominantBaseline="central" textAnchor="middle">
        {edge.label}
      </text>
    </g>
  );
}

function Node({ node, status, href, problem }: { node: PlacedNode; status?: string; href: string | null; problem: boolean }) {
  const navigate = useNavigate();
  const second = status ? `${fit(node.label, 14)} · ${status.replace("_", " ")}` : fit(node.label, 22);
  const name = nodeName(node, status);
  const box = (
    <>
      <title>{name}</title>
      <rect x={node.x} y={node.y} width={node.width} height={node.height} rx={8} />
      <text x={node.x + 10} y={node.y + 20} className="wf-node-name">
        {fit(node.name, 20)}
      </text>
      <text x={node.x + 10} y={node.y + 39} className="wf-node-event">
        {second}
      </text>
    </>
  );
  const common = {
    className: `wf-node wf-status-${status ?? "none"}${problem ? " wf-problem" : ""}`,
    "data-node": node.name,
    "data-status": status,
    "data-problem": problem || undefined,
  };
  if (href === null) {
    return (
      <g {...common} role="img" aria-label={name}>
        {box}
      </g>
    );
  }
  function open(event: MouseEvent) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return; // a new tab: the browser's
    event.preventDefault();
    navigate(href as string);
  }
  return (
    <a {...common} href={href} aria-label={name} onClick={open}>
      {box}
    </a>
  );
}
