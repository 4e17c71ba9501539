// An event at a glance: what it runs (read-only), when it fires next, its recent executions.
import { Link } from "react-router";
import { useGet } from "../../lib/hooks";
import type { Event, Execution, NextFires } from "../../lib/types";
import { ago, duration, json } from "../../lib/format";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import Editor from "./Editor";
import { FireTable } from "./ScheduleEditor";
import { kindOf } from "./list";
import { scheduleForm, scheduleSummary } from "./schedule";

export default function Overview({ event }: { event: Event }) {
  return (
    <div className="events-overview">
      {event.description ? <p>{event.description}</p> : null}
      <section className="card" aria-label="What it runs">
        <h2>What it runs</h2>
        <Settings event={event} />
        {event.kind === "script" ? (
          <Editor key={event.version} value={event.script} language={event.language ?? "bash"} label="Script (read-only)" readOnly />
        ) : (
          <pre>{json(event.kind === "http" ? event.http : event.tool_action)}</pre>
        )}
      </section>
      <Schedule event={event} />
      <Recent event={event} />
    </div>
  );
}

function Settings({ event }: { event: Event }) {
  const items: [string, string][] = [
    ["Kind", kindOf(event)],
    ["Version", String(event.version)],
    ["Tags", event.tags.join(", ") || "—"],
    ["Webhook", event.has_webhook ? "on" : "off"],
  ];
  // the count toward max_executions: kept only while there is such a limit
  if (event.max_executions !== null) {
    items.push(["Scheduled runs", `${event.fire_count} of ${event.max_executions}, then it pauses`]);
  }
  if (event.kind === "script") {
    items.push(
      ["Limits", `${event.cpus} CPU, ${event.memory_mb} MiB, ${event.pids} processes, ${duration(event.timeout_seconds)}`],
      ["Network", event.network],
      ["Environment", Object.keys(event.env).join(", ") || "—"],
      ["Secrets", Object.entries(event.secrets).map(([key, mode]) => `${key} (${mode})`).join(", ") || "—"],
    );
  }
  items.push(["Attempts", String(event.max_attempts)], ["Pool", event.pool ?? "any worker"], ["Actions", String(event.actions.length)]);
  return (
    <dl className="events-settings">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Schedule({ event }: { event: Event }) {
  const next = useGet<NextFires>(event.schedule ? `/events/${event.id}/next?count=5` : null);
  const zone = scheduleForm(event.schedule).timezone;
  return (
    <section className="card" aria-label="Schedule">
      <h2>Schedule</h2>
      <p>{event.schedule ? scheduleSummary(event.schedule) : "No schedule: it runs by hand, by webhook or as an action."}</p>
      {event.schedule && event.status !== "active" ? <p className="muted">It is {event.status}: these fire once it is active again.</p> : null}
      <ErrorBanner error={next.error} all />
      {next.data ? <FireTable fires={next.data.fires} zone={zone} /> : null}
    </section>
  );
}

function Recent({ event }: { event: Event }) {
  const runs = useGet<Execution[]>(`/executions?event_id=${event.id}&limit=20`, 5_000);
  return (
    <section className="card" aria-label="Recent executions">
      <h2>Recent executions</h2>
      <ErrorBanner error={runs.error} all />
      {runs.data === undefined ? (
        <Loading />
      ) : runs.data.length === 0 ? (
        <p className="muted">It has not run yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Execution</th>
                <th scope="col">Status</th>
                <th scope="col">Trigger</th>
                <th scope="col">Queued</th>
                <th scope="col">Took</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((run) => (
                <tr key={run.id}>
                  <td>
                    <Link to={`/executions/${run.id}`}>#{run.id}</Link>
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{run.trigger}</td>
                  <td>{ago(run.queued_at)}</td>
                  <td>{duration(run.run_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
