// One event: its header (status, run, pause, delete) and its tabs, each a route of its own.
import { useState } from "react";
import { Navigate, NavLink, Route, Routes, useNavigate, useParams } from "react-router";
import { del, patch, post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Event } from "../../lib/types";
import { ErrorBanner, Loading, StatusBadge } from "../../components/common";
import EventForm from "./EventForm";
import { eventForm } from "./model";
import Overview from "./Overview";
import RunDialog from "../../components/RunDialog";
import Sharing from "./Sharing";
import Versions from "./Versions";
import Webhook from "./Webhook";
import "./events.css";

export default function EventPage() {
  const { id } = useParams();
  const loaded = useGet<Event>(`/events/${id}`);
  const event = loaded.data;

  if (event === undefined) {
    return loaded.error ? <ErrorBanner error={loaded.error} all /> : <Loading />;
  }
  // a workflow is an event too, but its page is the workflow editor's
  if (event.kind === "workflow") return <Navigate to={`/workflows/${event.id}`} replace />;
  // the server says what the caller may do: the owner (or an admin) changes an event; a share
  // lets others see it, or also run it
  const may = event.may ?? [];
  const owns = may.includes("write");
  return (
    <>
      <Header event={event} owns={owns} canRun={may.includes("run")} reload={loaded.reload} />
      <nav className="tabs" aria-label="The event">
        <Tab to={`/events/${event.id}`} end>Overview</Tab>
        {owns ? <Tab to={`/events/${event.id}/edit`}>Edit</Tab> : null}
        <Tab to={`/events/${event.id}/versions`}>Versions</Tab>
        {owns ? <Tab to={`/events/${event.id}/webhook`}>Webhook</Tab> : null}
        {owns ? <Tab to={`/events/${event.id}/sharing`}>Sharing</Tab> : null}
      </nav>
      <div className="events-tab">
        <Routes>
          <Route index element={<Overview event={event} />} />
          <Route path="versions" element={<Versions event={event} owns={owns} onRestored={loaded.reload} />} />
          {owns ? (
            <>
              <Route path="edit" element={<Edit event={event} onSaved={loaded.reload} />} />
              <Route path="webhook" element={<Webhook event={event} onChanged={loaded.reload} />} />
              <Route path="sharing" element={<Sharing event={event} />} />
            </>
          ) : null}
          <Route path="*" element={<p>There is nothing here for you: see the Overview.</p>} />
        </Routes>
      </div>
    </>
  );
}

function Tab({ to, end, children }: { to: string; end?: boolean; children: string }) {
  return (
    <NavLink to={to} end={end} className={({ isActive }) => (isActive ? "active" : "")}>
      {children}
    </NavLink>
  );
}

function Header({ event, owns, canRun, reload }: { event: Event; owns: boolean; canRun: boolean; reload: () => void }) {
  const navigate = useNavigate();
  const { error, run } = useAction();
  const [running, setRunning] = useState(false);
  const paused = event.status === "paused";

  async function toggle() {
    await run(async () => {
      await post(`/events/${event.id}/${paused ? "resume" : "pause"}`);
      reload();
    });
  }

  async function remove() {
    if (!window.confirm(`Delete the event ${event.name}? Its executions and versions go with it.`)) return;
    await run(async () => {
      await del(`/events/${event.id}`);
      navigate("/events");
    });
  }

  return (
    <header className="events-header">
      <div className="spread">
        <h1>
          {event.name} <StatusBadge status={event.status} />
        </h1>
        <div className="row">
          {canRun ? (
            <button type="button" className="primary" onClick={() => setRunning(true)}>
              Run now
            </button>
          ) : null}
          {owns ? (
            <>
              <button type="button" onClick={() => void toggle()}>
                {paused ? "Resume" : "Pause"}
              </button>
              <button type="button" className="danger" onClick={() => void remove()}>
                Delete
              </button>
            </>
          ) : null}
        </div>
      </div>
      {event.paused_reason ? <div className="banner warn">Paused by the scheduler: {event.paused_reason}</div> : null}
      <ErrorBanner error={error} all />
      {running ? (
        <RunDialog
          title={`Run ${event.name} now`}
          about="The input is any JSON value; the script reads it with the input helper."
          path={`/events/${event.id}/run`}
          pageOf={(id) => `/executions/${id}`}
          onClose={() => setRunning(false)}
        />
      ) : null}
    </header>
  );
}

function Edit({ event, onSaved }: { event: Event; onSaved: () => void }) {
  const navigate = useNavigate();
  return (
    <EventForm
      key={event.version}
      initial={eventForm(event)}
      creating={false}
      self={event.id}
      submit={async (body) => {
        await patch<Event>(`/events/${event.id}`, body);
        onSaved();
        navigate(`/events/${event.id}`);
      }}
    />
  );
}
