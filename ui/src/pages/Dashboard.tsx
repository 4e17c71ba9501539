// What an operator keeps open: what ran lately, what fails, what waits, who works and with how
// much room, and what fires next. Refreshed every few seconds while the page is in view.
import { Link } from "react-router";
import { useGet } from "../lib/hooks";
import { useSession } from "../lib/session";
import type { Event, Execution, QueueState, UpcomingFire, Worker } from "../lib/types";
import { ago, duration, when } from "../lib/format";
import { eventName, eventPath, executionPath, knownEvents } from "../lib/links";
import { ErrorBanner, Loading, StatusBadge } from "../components/common";

const REFRESH_MS = 5000;
const FAILING: ReadonlySet<string> = new Set(["failed", "timed_out"]);

export default function Dashboard() {
  const { isAdmin } = useSession();
  const recent = useGet<Execution[]>("/executions?limit=12", REFRESH_MS);
  const latest = useGet<Execution[]>("/executions/latest?limit=100", REFRESH_MS);
  const queue = useGet<QueueState>("/queue", REFRESH_MS);
  const fires = useGet<UpcomingFire[]>("/schedules/upcoming?limit=8", REFRESH_MS);
  const events = useGet<Event[]>("/events", REFRESH_MS * 6);
  const known = knownEvents(events.data);
  const name = (id: number) => eventName(id, known);
  const failing = (latest.data ?? []).filter((execution) => FAILING.has(execution.status));
  const now = Date.now();

  return (
    <>
      <h1>Dashboard</h1>
      <ErrorBanner error={recent.error ?? queue.error} all />
      <div className="cards">
        <section className="card" aria-label="Queue">
          <h2>Queue</h2>
          <div className="stat" data-testid="queue-depth">
            {queue.data?.queued ?? "…"}
          </div>
          <div className="muted">
            waiting, {queue.data?.running ?? "…"} running
            {queue.data?.oldest_wait_seconds != null
              ? `; the oldest has waited ${duration(queue.data.oldest_wait_seconds)}`
              : ""}
          </div>
        </section>
        {isAdmin ? <Workers /> : null}
        <section className="card" aria-label="Failing events">
          <h2>Failing events</h2>
          <div className="stat" data-testid="failing-count">
            {latest.data ? failing.length : "…"}
          </div>
          <div className="muted">whose last run failed</div>
        </section>
      </div>

      <div className="dashboard-grid">
        <section aria-label="Recent executions">
          <div className="spread">
            <h2>Recent executions</h2>
            <Link to="/executions">All executions</Link>
          </div>
          {recent.data === undefined ? (
            <Loading />
          ) : recent.data.length === 0 ? (
            <p className="muted">
              Nothing has run yet. <Link to="/events/new">Make an event</Link> and run it.
            </p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Event</th>
                    <th>Status</th>
                    <th>Queued</th>
                    <th>Run</th>
                  </tr>
                </thead>
                <tbody>
                  {recent.data.map((execution) => (
                    <tr key={execution.id}>
                      <td>
                        <Link to={executionPath(execution, known)}>#{execution.id}</Link>
                      </td>
                      <td>{name(execution.event_id)}</td>
                      <td>
                        <StatusBadge status={execution.status} />
                      </td>
                      <td>{ago(execution.queued_at, now)}</td>
                      <td>{duration(execution.run_seconds)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <div>
          <section aria-label="Failing">
            <h2>Last run failed</h2>
            {latest.data === undefined ? (
              <Loading />
            ) : failing.length === 0 ? (
              <p className="muted">No event's last run failed.</p>
            ) : (
              <ul className="plain">
                {failing.map((execution) => (
                  <li key={execution.id}>
                    <Link to={eventPath(execution.event_id, known)}>{name(execution.event_id)}</Link>{" "}
                    <StatusBadge status={execution.status} />{" "}
                    <Link to={executionPath(execution, known)} className="muted">
                      #{execution.id}, {ago(execution.finished_at ?? execution.queued_at, now)}
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-label="Next fires">
            <h2>Next fires</h2>
            {fires.data === undefined ? (
              <Loading />
            ) : fires.data.length === 0 ? (
              <p className="muted">No event is scheduled.</p>
            ) : (
              <ul className="plain">
                {fires.data.map((fire) => (
                  <li key={`${fire.event_id}-${fire.at}`}>
                    <time dateTime={fire.at}>{when(fire.at)}</time>{" "}
                    <Link to={eventPath(fire.event_id, known)}>{fire.event_name}</Link>{" "}
                    <span className="muted">({ago(fire.at, now)})</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      </div>
    </>
  );
}

/** Workers (administrators see the fleet): how many are alive and how much room they have. */
function Workers() {
  const workers = useGet<Worker[]>("/workers", REFRESH_MS);
  const alive = (workers.data ?? []).filter((worker) => worker.state === "alive");
  const capacity = alive.reduce((sum, worker) => sum + worker.capacity, 0);
  const running = alive.reduce((sum, worker) => sum + worker.running, 0);
  return (
    <section className="card" aria-label="Workers">
      <h2>Workers</h2>
      <div className="stat" data-testid="workers-alive">
        {workers.data ? alive.length : "…"}
      </div>
      <div className="muted">
        alive, {Math.max(capacity - running, 0)} of {capacity} slots free
      </div>
      {alive.length ? (
        <ul className="plain small">
          {alive.map((worker) => (
            <li key={worker.id}>
              <span className="mono">{worker.host}</span> ({worker.backend}): {worker.running}/{worker.capacity}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
