// Run an event now, with an input: JSON checked here before it is sent.
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { post } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import type { Event } from "../../lib/types";
import { Dialog, ErrorBanner, FieldError } from "../../components/common";
import type { components } from "../../lib/schema";
import Editor from "./Editor";
import { runBody } from "./model";

type RunAccepted = components["schemas"]["RunAccepted"];

export default function RunDialog({ event, onClose }: { event: Event; onClose: () => void }) {
  const navigate = useNavigate();
  const [input, setInput] = useState("{}");
  const { error, run } = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    await run(async () => {
      const accepted = await post<RunAccepted>(`/events/${event.id}/run`, runBody(input));
      navigate(`/executions/${accepted.execution_id}`);
    });
  }

  return (
    <Dialog title={`Run ${event.name} now`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Run now">
        <p className="muted">The input is any JSON value; the script reads it with the input helper. Empty: no input.</p>
        <div className="events-run-input">
          <Editor value={input} onChange={setInput} language="json" label="Input (JSON)" minHeight="8rem" tabIndents={false} />
        </div>
        <FieldError error={error} field="input" />
        <ErrorBanner error={error} fields={["input"]} />
        <div className="row events-dialog-buttons">
          {/* focused first: Enter runs it with the input as it is */}
          <button type="submit" className="primary" autoFocus>
            Run
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
