// A new event: the event form, then the event's page.
import { useNavigate } from "react-router";
import { post } from "../../lib/api";
import { useSession } from "../../lib/session";
import type { Event } from "../../lib/types";
import EventForm from "./EventForm";
import { blankEvent } from "./model";
import "./events.css";

export default function EventNew() {
  const { canWrite } = useSession();
  const navigate = useNavigate();
  if (!canWrite) {
    return (
      <>
        <h1>New event</h1>
        <p>Your role may read events shared with you, not make new ones.</p>
      </>
    );
  }
  return (
    <>
      <h1>New event</h1>
      <EventForm
        initial={blankEvent()}
        creating
        submit={async (body) => {
          const made = await post<Event>("/events", body);
          navigate(`/events/${made.id}`);
        }}
      />
    </>
  );
}
