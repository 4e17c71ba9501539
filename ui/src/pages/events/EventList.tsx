// The events the user can see, with each one's last result; filters kept in the address.
import { Link, useSearchParams } from "react-router";
import { useGet } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import type { Event, Execution } from "../../lib/types";
import { ago } from "../../lib/format";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import { allTags, filterEvents, filterOf, kindOf, lastByEvent, paramsOf, type ListFilter } from "./list";
import { STATUSES } from "./model";
import { scheduleSummary } from "./schedule";
import "./events.css";

export default function EventList() {
  const { canWrite } = useSession();
  const events = useGet<Event[]>("/events", 15_000);
  const latest = useGet<Execution[]>("/executions/latest?limit=1000", 5_000);
  const [params, setParams] = useSearchParams();
  const filter = filterOf(params);
  const change = (to: Partial<ListFilter>) => setParams(paramsOf({ ...filter, ...to }), { replace: true });
  const last = lastByEvent(latest.data ?? []);
  const shown = filterEvents(events.data ?? [], filter);

  return (
    <>
      <div className="spread">
        <h1>Events</h1>
        {canWrite ? (
          <Link className="button primary" to="/events/new">
            New event
          </Link>
        ) : null}
      </div>
      <form className="events-filters row" role="search" aria-label="Filter the events" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="events-q">Search by name</label>
          <input id="events-q" type="search" value={filter.q} onChange={(e) => change({ q: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="events-tag">Tag</label>
          <select id="events-tag" value={filter.tag} onChange={(e) => change({ tag: e.target.value })}>
            <option value="">any</option>
            {allTags(events.data ?? []).map((tag) => (
              <option key={tag}>{tag}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="events-status">Status</label>
          <select id="events-status" value={filter.status} onChange={(e) => change({ status: e.target.value })}>
            <option value="">any</option>
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBanner error={events.error ?? latest.error} all />
      {events.data === undefined ? (
        <Loading />
      ) : shown.length === 0 ? (
        <p>{events.data.length === 0 ? "No events yet." : "No event matches these filters."}</p>
      ) : (
        <div className="table-wrap">
          <table className="events-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col" className="events-col-tags">Tags</th>
                <th scope="col">Status</th>
                <th scope="col" className="events-col-schedule">Schedule</th>
                <th scope="col">Last result</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((event) => (
                <EventRow key={event.id} event={event} last={last.get(event.id)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function EventRow({ event, last }: { event: Event; last: Execution | undefined }) {
  return (
    <tr>
      <td>
        <Link to={`/events/${event.id}`}>{event.name}</Link>
      </td>
      <td>{kindOf(event)}</td>
      <td className="events-col-tags">
        {event.tags.map((tag) => (
          <span key={tag} className="events-tag">
            {tag}
          </span>
        ))}
      </td>
      <td>
        <StatusBadge status={event.status} />
      </td>
      <td className="events-col-schedule">{scheduleSummary(event.schedule)}</td>
      <td>
        {last ? (
          <Link to={`/executions/${last.id}`} className="events-last" aria-label={`Execution ${last.id}: ${last.status}`}>
            <StatusBadge status={last.status} /> <span className="muted">{ago(last.finished_at ?? last.queued_at)}</span>
          </Link>
        ) : (
          <span className="muted">never ran</span>
        )}
      </td>
    </tr>
  );
}
