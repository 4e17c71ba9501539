// How nodes are named and read: a node named after its event, the event a node runs.
import type { Event } from "../../lib/types";
import type { NodeIn } from "./layout";

/** A node name (letters, digits, _ . -) made from an event's name, not yet taken in `nodes`. */
export function nodeNameFor(eventName: string, nodes: NodeIn[]): string {
  const base = eventName.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[.-]+/, "").slice(0, 90) || "node";
  const taken = new Set(nodes.map((n) => n.name));
  if (!taken.has(base)) return base;
  let n = 2;
  while (taken.has(`${base}-${n}`)) n += 1;
  return `${base}-${n}`;
}

/** The name of the event a node runs, or its id when the caller cannot read that event. */
export function eventNamer(events: Event[] | undefined): (node: NodeIn) => string {
  const names = new Map((events ?? []).map((e) => [e.id, e.name]));
  return (node) => names.get(node.event_id) ?? `event ${node.event_id}`;
}
