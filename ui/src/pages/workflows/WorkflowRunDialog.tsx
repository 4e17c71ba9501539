// Run a workflow now, with an input for its start nodes: JSON checked here before it is sent,
// then the run's page.
import { lazy, Suspense, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { post } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import type { Event } from "../../lib/types";
import { Dialog, ErrorBanner, FieldError, Loading } from "../../components/common";
import type { RunAccepted } from "./graph";
import { runBody } from "./runs";

const CodeEditor = lazy(() => import("../../components/CodeEditor"));

export default function WorkflowRunDialog({ workflow, onClose }: { workflow: Pick<Event, "id" | "name">; onClose: () => void }) {
  const navigate = useNavigate();
  const [input, setInput] = useState("{}");
  const { error, run } = useAction();

  async function submit(form: FormEvent) {
    form.preventDefault();
    await run(async () => {
      const started = await post<RunAccepted>(`/workflows/${workflow.id}/run`, runBody(input));
      navigate(`/workflows/runs/${started.execution_id}`);
    });
  }

  return (
    <Dialog title={`Run ${workflow.name} now`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Run now">
        <p className="muted">The input is any JSON value, given to every start node (a node no edge leads to). Empty: no input.</p>
        <div className="wf-run-input">
          <Suspense fallback={<Loading what="Loading the editor" />}>
            <CodeEditor value={input} onChange={setInput} language="json" label="Input (JSON)" minHeight="8rem" />
          </Suspense>
        </div>
        <FieldError error={error} field="input" />
        <ErrorBanner error={error} fields={["input"]} />
        <div className="row wf-dialog-buttons">
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
