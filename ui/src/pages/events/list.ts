// What the events list shows: its filters (kept in the address) applied to the events.
import type { Event, Execution } from "../../lib/types";

export interface ListFilter {
  q: string;
  tag: string;
  status: string;
}

export function filterOf(params: URLSearchParams): ListFilter {
  return { q: params.get("q") ?? "", tag: params.get("tag") ?? "", status: params.get("status") ?? "" };
}

/** The address's query for `filter`: empty ones left out, so a plain list has a plain URL. */
export function paramsOf(filter: ListFilter): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value !== "") params.set(name, value);
  return params;
}

/** The events the filter keeps; workflows have their own page. */
export function filterEvents(events: Event[], filter: ListFilter): Event[] {
  const words = filter.q.trim().toLowerCase();
  return events.filter(
    (event) =>
      event.kind !== "workflow" &&
      (words === "" || event.name.toLowerCase().includes(words)) &&
      (filter.tag === "" || event.tags.includes(filter.tag)) &&
      (filter.status === "" || event.status === filter.status),
  );
}

export function allTags(events: Event[]): string[] {
  return [...new Set(events.flatMap((event) => event.tags))].sort();
}

/** The last execution of each event, by event id. */
export function lastByEvent(executions: Execution[]): Map<number, Execution> {
  const last = new Map<number, Execution>();
  for (const execution of executions) {
    const known = last.get(execution.event_id);
    if (!known || known.id < execution.id) last.set(execution.event_id, execution);
  }
  return last;
}

export function kindOf(event: Event): string {
  if (event.kind === "script") return event.language ?? "script";
  return event.kind === "http" ? "HTTP request" : event.kind === "tool" ? "tool action" : event.kind;
}
