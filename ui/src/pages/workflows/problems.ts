// What the API's refusal of a workflow names: its nodes and edges, so the graph can mark them.
// The messages are those of the server's graph check (src/cronium/domain/workflow.py) and of
// its node check (service.py), and field paths of request validation ("workflow.edges.2.kind").
import type { WorkflowGraphIn } from "./layout";

export interface Problem {
  text: string;
  nodes: string[];
  /** "source->target" */
  edges: string[];
}

export const edgeKey = (source: string, target: string) => `${source}->${target}`;

const PREFIX = /^the workflow is not valid: /;

/** The problems of an API message about `graph`, each with the nodes and edges it names. */
export function problemsOf(message: string, graph: WorkflowGraphIn): Problem[] {
  return message
    .replace(PREFIX, "")
    .split("; ")
    .map((text) => ({ text, ...named(text, graph) }));
}

function named(text: string, graph: WorkflowGraphIn): Omit<Problem, "text"> {
  let match = /^it has a cycle: (.+)$/.exec(text);
  if (match) {
    const path = match[1].split(" -> ");
    return { nodes: [...new Set(path)], edges: path.slice(1).map((target, i) => edgeKey(path[i], target)) };
  }
  match = /^edge ([\w.-]+) -> ([\w.-]+)/.exec(text) ?? /^two edges go from ([\w.-]+) to ([\w.-]+):/.exec(text);
  // a loop on one node is not drawn as an edge: its node is marked instead
  if (match) return { nodes: match[1] === match[2] ? [match[1]] : [], edges: [edgeKey(match[1], match[2])] };
  match = /^(.+) can never run \(/.exec(text);
  if (match) return { nodes: match[1].split(", "), edges: [] };
  match = /^(?:node name|two nodes are named|workflow node) '([^']*)'/.exec(text);
  if (match) return { nodes: [match[1]], edges: [] };
  match = /^workflow node runs event (\d+),/.exec(text);
  if (match) {
    const id = Number(match[1]);
    return { nodes: graph.nodes.filter((n) => n.event_id === id).map((n) => n.name), edges: [] };
  }
  match = /^workflow\.(nodes|edges)\.(\d+)[.:]/.exec(text);
  if (match) {
    const index = Number(match[2]);
    if (match[1] === "nodes") {
      const node = graph.nodes[index];
      return { nodes: node ? [node.name] : [], edges: [] };
    }
    const edge = graph.edges[index];
    return { nodes: [], edges: edge ? [edgeKey(edge.source, edge.target)] : [] };
  }
  return { nodes: [], edges: [] };
}

/** Whether an API message is about the workflow's graph (rather than its name or the call). */
export function isAboutGraph(message: string): boolean {
  return PREFIX.test(message) || /^workflow[.: ]/.test(message);
}
