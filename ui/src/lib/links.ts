// Where a link to an event or an execution goes: a workflow and its runs have pages of their
// own (the graph), everything else the event's and the execution's.
import type { Event, Execution } from "./types";

export type Known = ReadonlyMap<number, Pick<Event, "name" | "kind">>;

export function knownEvents(events: readonly Event[] | undefined): Known {
  return new Map((events ?? []).map((event) => [event.id, event]));
}

export function eventPath(eventId: number, known: Known): string {
  return known.get(eventId)?.kind === "workflow" ? `/workflows/${eventId}` : `/events/${eventId}`;
}

export function executionPath(execution: Pick<Execution, "id" | "event_id">, known: Known): string {
  return known.get(execution.event_id)?.kind === "workflow"
    ? `/workflows/runs/${execution.id}`
    : `/executions/${execution.id}`;
}

export function eventName(eventId: number, known: Known): string {
  return known.get(eventId)?.name ?? `event ${eventId}`;
}
