// A workflow's graph as the API gives it (an event's `workflow` setting is typed loosely in the
// generated schema), and the answers of the workflow routes the generated types lack names for.
import type { components } from "../../lib/schema";
import type { Event } from "../../lib/types";
import type { EdgeIn, NodeIn } from "./layout";

export type RunAccepted = components["schemas"]["RunAccepted"];
export type WorkflowImported = components["schemas"]["WorkflowImported"];
export type ImportReport = components["schemas"]["ImportReport"];

export interface Graph {
  nodes: NodeIn[];
  edges: EdgeIn[];
}

/** The graph of a workflow's `workflow` setting (an event's, or a version's settings). */
export function graphOf(workflow: Event["workflow"] | undefined): Graph {
  const given = (workflow ?? {}) as Partial<Graph>;
  return { nodes: given.nodes ?? [], edges: given.edges ?? [] };
}
