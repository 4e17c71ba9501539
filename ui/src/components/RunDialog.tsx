// Run an event or a workflow now, with an input: JSON checked here before it is sent, then the
// page of what started.
import { lazy, Suspense, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { ApiError, post } from "../lib/api";
import { useAction } from "../lib/hooks";
import { Dialog, ErrorBanner, FieldError, Loading } from "./common";

const CodeEditor = lazy(() => import("./CodeEditor"));

/** The body of a run for the JSON typed in: none for empty text (no input); text that is not
 * JSON is refused here, as the API would, about the field `input`. */
export function runBody(source: string): { input: unknown } | undefined {
  if (source.trim() === "") return undefined;
  try {
    return { input: JSON.parse(source) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError(422, "invalid_input", `input: is not valid JSON (${why})`);
  }
}

export interface RunDialogProps {
  title: string;
  /** What the input is given to. */
  about: string;
  /** Where the run is asked for (POST), under /api/v1. */
  path: string;
  /** The page of the execution that started. */
  pageOf: (executionId: number) => string;
  onClose: () => void;
}

export default function RunDialog(props: RunDialogProps) {
  const navigate = useNavigate();
  const [input, setInput] = useState("{}");
  const { error, run } = useAction();

  async function submit(form: FormEvent) {
    form.preventDefault();
    await run(async () => {
      const started = await post<{ execution_id: number }>(props.path, runBody(input));
      navigate(props.pageOf(started.execution_id));
    });
  }

  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form onSubmit={submit} aria-label="Run now">
        <p className="muted">{props.about} Empty: no input.</p>
        <div className="run-input">
          <Suspense fallback={<Loading what="Loading the editor" />}>
            <CodeEditor value={input} onChange={setInput} language="json" label="Input (JSON)" minHeight="8rem" tabIndents={false} />
          </Suspense>
        </div>
        <FieldError error={error} field="input" />
        <ErrorBanner error={error} fields={["input"]} />
        <div className="row dialog-buttons">
          {/* focused first: Enter runs it with the input as it is */}
          <button type="submit" className="primary" autoFocus>
            Run
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
