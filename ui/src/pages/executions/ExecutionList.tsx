// Every execution the user may see, newest first, filtered by status and event (kept in the
// address, so a reload or a shared link shows the same list). Pages of 200 are fetched back by
// id as the reader scrolls, and only the rows in view are drawn: ten thousand scroll smoothly.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useVirtualizer } from "@tanstack/react-virtual";
import { get } from "../../lib/api";
import { useGet } from "../../lib/hooks";
import type { Event, Execution, ExecutionStatus } from "../../lib/types";
import { ago, duration } from "../../lib/format";
import { eventName, eventPath, executionPath, knownEvents, type Known } from "../../lib/links";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";

const PAGE = 200;
const ROW_PX = 37;
const STATUSES: ExecutionStatus[] = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "skipped"];

function listPath(statuses: readonly string[], eventId: string | null): string {
  const query = new URLSearchParams({ limit: String(PAGE) });
  for (const status of statuses) query.append("status", status);
  if (eventId) query.set("event_id", eventId);
  return `/executions?${query.toString()}`;
}

export default function ExecutionList() {
  const [params, setParams] = useSearchParams();
  const statuses = params.getAll("status");
  const eventId = params.get("event");
  const events = useGet<Event[]>("/events");
  const known = useMemo(() => knownEvents(events.data), [events.data]);
  const { rows, more, error, loadMore, loading } = usePagedExecutions(listPath(statuses, eventId));

  function toggle(status: string) {
    const next = new URLSearchParams(params);
    next.delete("status");
    const chosen = statuses.includes(status) ? statuses.filter((s) => s !== status) : [...statuses, status];
    for (const s of chosen) next.append("status", s);
    setParams(next, { replace: true });
  }

  function chooseEvent(value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set("event", value);
    else next.delete("event");
    setParams(next, { replace: true });
  }

  return (
    <>
      <h1>Executions</h1>
      <div className="row" role="group" aria-label="Filters">
        <fieldset className="row chips">
          <legend className="sr-only">Status</legend>
          {STATUSES.map((status) => (
            <label key={status} className="chip">
              <input type="checkbox" checked={statuses.includes(status)} onChange={() => toggle(status)} />{" "}
              {status.replace("_", " ")}
            </label>
          ))}
        </fieldset>
        <label className="sr-only" htmlFor="executions-event">
          Event
        </label>
        <select id="executions-event" value={eventId ?? ""} onChange={(e) => chooseEvent(e.target.value)}>
          <option value="">All events</option>
          {(events.data ?? []).map((event) => (
            <option key={event.id} value={event.id}>
              {event.name}
            </option>
          ))}
        </select>
      </div>
      <ErrorBanner error={error} all />
      {rows.length === 0 && loading ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p>No executions{statuses.length || eventId ? " match these filters" : " yet"}.</p>
      ) : (
        <Rows rows={rows} known={known} more={more} loadMore={loadMore} />
      )}
    </>
  );
}

interface Paged {
  rows: Execution[];
  more: boolean;
  loading: boolean;
  error: unknown;
  loadMore: () => void;
}

/** The executions of `path`, a page at a time: the next page starts before the last id. */
function usePagedExecutions(path: string): Paged {
  const [rows, setRows] = useState<Execution[]>([]);
  const [more, setMore] = useState(true);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const busy = useRef(false);
  const generation = useRef(0);

  const fetchPage = useCallback(
    async (beforeId: number | undefined, mine: number) => {
      busy.current = true;
      setLoading(true);
      try {
        const page = await get<Execution[]>(beforeId === undefined ? path : `${path}&before_id=${beforeId}`);
        if (generation.current !== mine) return;
        setRows((kept) => (beforeId === undefined ? page : [...kept, ...page]));
        setMore(page.length === PAGE);
        setError(null);
      } catch (failure) {
        if (generation.current === mine) setError(failure);
      } finally {
        if (generation.current === mine) {
          busy.current = false;
          setLoading(false);
        }
      }
    },
    [path],
  );

  useEffect(() => {
    generation.current += 1;
    setRows([]);
    setMore(true);
    void fetchPage(undefined, generation.current);
  }, [fetchPage]);

  const last = rows.length ? rows[rows.length - 1].id : undefined;
  const loadMore = useCallback(() => {
    if (busy.current || !more || last === undefined) return;
    void fetchPage(last, generation.current);
  }, [fetchPage, more, last]);
  return { rows, more, loading, error, loadMore };
}

function Rows(props: { rows: Execution[]; known: Known; more: boolean; loadMore: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: props.rows.length,
    getScrollElement: () => box.current,
    estimateSize: () => ROW_PX,
    overscan: 15,
  });
  const items = virtual.getVirtualItems();
  const lastShown = items.length ? items[items.length - 1].index : 0;
  const { more, loadMore } = props;
  useEffect(() => {
    if (more && lastShown >= props.rows.length - 40) loadMore();
  }, [lastShown, props.rows.length, more, loadMore]);

  const top = items.length ? items[0].start : 0;
  const bottom = items.length ? virtual.getTotalSize() - items[items.length - 1].end : 0;
  const now = Date.now();
  return (
    <div className="table-wrap executions-scroll" ref={box} data-testid="executions-scroll">
      <table aria-label="Executions" aria-rowcount={props.rows.length + 1}>
        <thead>
          <tr>
            <th>#</th>
            <th>Event</th>
            <th>Status</th>
            <th>Trigger</th>
            <th>Queued</th>
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {top > 0 ? <tr aria-hidden="true" style={{ height: top }} /> : null}
          {items.map((item) => {
            const execution = props.rows[item.index];
            return (
              <tr key={execution.id} aria-rowindex={item.index + 2} style={{ height: ROW_PX }}>
                <td>
                  <Link to={executionPath(execution, props.known)}>#{execution.id}</Link>
                </td>
                <td>
                  <Link to={eventPath(execution.event_id, props.known)}>
                    {eventName(execution.event_id, props.known)}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={execution.status} />
                </td>
                <td>{execution.trigger}</td>
                <td>{ago(execution.queued_at, now)}</td>
                <td>{duration(execution.run_seconds)}</td>
              </tr>
            );
          })}
          {bottom > 0 ? <tr aria-hidden="true" style={{ height: bottom }} /> : null}
        </tbody>
      </table>
      <p className="muted" aria-live="polite">
        {props.rows.length} shown{props.more ? ", more as you scroll" : ""}
      </p>
    </div>
  );
}
