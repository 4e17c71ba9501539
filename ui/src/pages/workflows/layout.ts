// Where a workflow's nodes and edges go on the page: a layered layout (dagre), left to right,
// each edge with a label naming its kind. Pure: the same graph gives the same drawing.
import dagre from "@dagrejs/dagre";
import type { components } from "../../lib/schema";

export type EdgeKind = components["schemas"]["EdgeKind"];
export type NodeIn = components["schemas"]["NodeIn"];
export type EdgeIn = components["schemas"]["EdgeIn"];
/** An edge as the API gives and takes it: its kind and value may be left out. */
export type GraphEdge = Pick<EdgeIn, "source" | "target"> & Partial<Pick<EdgeIn, "kind" | "value">>;
export interface WorkflowGraphIn {
  nodes: NodeIn[];
  edges: GraphEdge[];
}

export interface Point {
  x: number;
  y: number;
}

export interface PlacedNode {
  name: string;
  /** The text in its box: the event it runs. */
  label: string;
  /** The box's top-left corner and size. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  source: string;
  target: string;
  kind: EdgeKind;
  value: boolean;
  label: string;
  points: Point[];
  labelAt: Point;
}

export interface Layout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  /** What is wrong with the graph (a cycle, an edge to an unknown node): drawn anyway. */
  problems: string[];
}

export const NODE_WIDTH = 168;
export const NODE_HEIGHT = 52;
export const LABEL_HEIGHT = 18;
const CHAR_WIDTH = 7; // about the width of a character of the 12 px labels
const MARGIN = 12;

/** How an edge's kind reads on its label. */
export function edgeLabel(kind: EdgeKind = "always", value = true): string {
  switch (kind) {
    case "on_success":
      return "on success";
    case "on_failure":
      return "on failure";
    case "on_condition":
      return value ? "if true" : "if false";
    default:
      return "always";
  }
}

/** The width of an edge's label box. */
export function labelWidth(label: string): number {
  return label.length * CHAR_WIDTH + 10;
}

/** Lay out `graph`; `labelOf` gives the text of a node's box (default: its name). */
export function layoutGraph(graph: WorkflowGraphIn, labelOf: (node: NodeIn) => string = (n) => n.name): Layout {
  const names = new Set(graph.nodes.map((node) => node.name));
  const problems: string[] = [];
  const drawn = graph.edges.filter((edge) => {
    const unknown = [edge.source, edge.target].filter((end) => !names.has(end));
    for (const end of unknown) problems.push(`edge ${edge.source} -> ${edge.target}: no node is named '${end}'`);
    if (edge.source === edge.target) problems.push(`edge ${edge.source} -> ${edge.target} links a node to itself`);
    // dagre would make a node of an unknown end; a loop on one node has no rank to follow
    return unknown.length === 0 && edge.source !== edge.target;
  });
  for (const cycle of cycles(graph.nodes.map((n) => n.name), drawn)) {
    problems.push(`it has a cycle: ${[...cycle, cycle[0]].join(" -> ")}`);
  }
  if (graph.nodes.length === 0) return { width: 0, height: 0, nodes: [], edges: [], problems };

  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 56, edgesep: 14, marginx: MARGIN, marginy: MARGIN });
  for (const node of graph.nodes) g.setNode(node.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  drawn.forEach((edge, index) => {
    const label = edgeLabel(edge.kind, edge.value);
    g.setEdge(edge.source, edge.target, { width: labelWidth(label), height: LABEL_HEIGHT, labelpos: "c" }, String(index));
  });
  dagre.layout(g);

  const nodes = graph.nodes.map((node) => {
    const placed = g.node(node.name);
    const x = placed.x ?? 0;
    const y = placed.y ?? 0;
    return { name: node.name, label: labelOf(node), x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2, width: NODE_WIDTH, height: NODE_HEIGHT };
  });
  const edges = drawn.map((edge, index) => {
    const placed = g.edge(edge.source, edge.target, String(index));
    const kind = edge.kind ?? "always";
    const value = edge.value ?? true;
    return {
      source: edge.source,
      target: edge.target,
      kind,
      value,
      label: edgeLabel(kind, value),
      points: (placed.points ?? []).map(({ x, y }: Point) => ({ x, y })),
      labelAt: { x: placed.x ?? 0, y: placed.y ?? 0 },
    };
  });
  const size = g.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges, problems };
}

/** One path through each group of nodes that lead back to themselves (as the API names
 * cycles: "a -> b -> a"), found by a depth-first walk. */
export function cycles(names: string[], edges: Pick<EdgeIn, "source" | "target">[]): string[][] {
  const next = new Map<string, string[]>(names.map((name) => [name, []]));
  for (const edge of edges) next.get(edge.source)?.push(edge.target);
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const found: string[][] = [];
  const onFound = new Set<string>();

  function walk(name: string): void {
    state.set(name, "open");
    path.push(name);
    for (const target of next.get(name) ?? []) {
      if (state.get(target) === "open") {
        const cycle = path.slice(path.indexOf(target));
        // one cycle per group: a second loop through the same nodes is not news
        if (!cycle.some((n) => onFound.has(n))) {
          found.push(cycle);
          cycle.forEach((n) => onFound.add(n));
        }
      } else if (!state.has(target)) {
        walk(target);
      }
    }
    path.pop();
    state.set(name, "done");
  }

  for (const name of names) if (!state.has(name)) walk(name);
  return found;
}

/** An SVG path through `points`. */
export function pathOf(points: Point[]): string {
  return points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
}
