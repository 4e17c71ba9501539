// The one form of an event, for a new one and for the edit tab: what it runs, when, with what
// limits, and what happens after. A refusal is shown under the field it names.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useAction } from "../../lib/hooks";
import { ErrorBanner } from "../../components/common";
import Editor from "./Editor";
import ActionsEditor from "./ActionsEditor";
import Rows from "./Rows";
import ScheduleEditor from "./ScheduleEditor";
import {
  BOUNDS,
  changeAnswers,
  eventBody,
  isTemplate,
  KINDS,
  LANGUAGES,
  METHODS,
  rangeText,
  refusalUnder,
  TEMPLATES,
  type Bounds,
  type EventCreate,
  type EventForm as Form,
  type EventUpdate,
  type FormKind,
  type Language,
} from "./model";

// The input a schedule's refusal is about, by the schedule's kind.
const SCHEDULE_INPUT = { none: "schedule-kind", cron: "schedule-cron", interval: "schedule-every", once: "schedule-at" };

// Every field a refusal may name: those are shown under their field, anything else above the button.
const FIELDS = [
  "name", "description", "tags", "kind", "language", "script", "global_helpers", "http", "tool_action",
  "env", "secrets", "cpus", "memory_mb", "pids", "timeout_seconds", "network", "max_attempts",
  "retry_backoff_seconds", "retry_backoff_max_seconds", "pool", "schedule", "missed_runs",
  "catch_up_seconds", "concurrency", "max_concurrent", "max_executions", "actions",
];

interface Props {
  initial: Form;
  creating: boolean;
  /** The event's id when editing (an action may not run the event itself). */
  self?: number;
  submit: (body: EventCreate | EventUpdate) => Promise<void>;
}

export default function EventForm({ initial, creating, self, submit }: Props) {
  const [form, setForm] = useState<Form>(initial);
  const { error, setError, run } = useAction();
  const [saving, setSaving] = useState(false);
  const [failures, setFailures] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);

  // a refusal about a field is out of date once the field changes
  const changed = (...keys: (keyof Form)[]) => {
    if (keys.some((key) => changeAnswers(error, key))) setError(null);
  };
  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setForm((now) => ({ ...now, [key]: value }));
    changed(key);
  };

  function pickLanguage(language: Language) {
    // a template follows the language; code of the user's own is kept
    setForm((now) => ({ ...now, language, script: isTemplate(now.script) ? TEMPLATES[language] : now.script }));
    changed("language", "script");
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    const saved = await run(() => submit(eventBody(form, creating)));
    setSaving(false);
    if (!saved) setFailures((count) => count + 1);
  }

  // after a failed save, once its refusal is drawn: the first one, and its field, to the user
  useEffect(() => {
    if (failures > 0 && formRef.current) showFirstRefusal(formRef.current);
  }, [failures]);

  const underField = FIELDS.some((name) => refusalUnder(error, name) !== null);
  const field = (name: string, input?: string) => <Refusal error={error} field={name} input={input} />;

  // noValidate: the API's refusals, under their fields, say what is wrong, the bounds included
  return (
    <form ref={formRef} onSubmit={save} aria-label={creating ? "New event" : "Edit the event"} className="events-form" noValidate>
      <Section title="The event">
        <div className="form-grid">
          <Input id="event-name" label="Name" value={form.name} onChange={(v) => set("name", v)} required>
            {field("name")}
          </Input>
          <Input id="event-tags" label="Tags (comma-separated)" value={form.tags} onChange={(v) => set("tags", v)}>
            {field("tags")}
          </Input>
          <div className="field">
            <label htmlFor="event-kind">Kind</label>
            <select id="event-kind" value={form.kind} disabled={!creating} onChange={(e) => set("kind", e.target.value as FormKind)}>
              {KINDS.map((kind) => (
                <option key={kind.value} value={kind.value}>
                  {kind.label}
                </option>
              ))}
            </select>
            {creating ? null : <div className="hint">An event&apos;s kind is set when it is made.</div>}
            {field("kind")}
          </div>
        </div>
        <div className="field">
          <label htmlFor="event-description">Description</label>
          <textarea id="event-description" rows={2} className="events-prose" value={form.description} onChange={(e) => set("description", e.target.value)} />
          {field("description")}
        </div>
      </Section>

      <Section title="What it runs">
        {form.kind === "script" ? <ScriptFields form={form} set={set} pickLanguage={pickLanguage} error={error} /> : null}
        {form.kind === "http" ? <HttpFields form={form} set={set} error={error} /> : null}
        {form.kind === "tool" ? <ToolFields form={form} set={set} error={error} /> : null}
      </Section>

      <Section title="When it runs">
        <ScheduleEditor value={form.schedule} onChange={(schedule) => set("schedule", schedule)} />
        {field("schedule", SCHEDULE_INPUT[form.schedule.kind])}
        <div className="form-grid">
          <Choice id="event-missed" label="Fires missed while nothing ran" value={form.missed_runs} onChange={(v) => set("missed_runs", v as Form["missed_runs"])}
            options={[["run_once", "run once"], ["run_all", "run them all"], ["skip", "skip them"]]}>
            {field("missed_runs")}
          </Choice>
          <Input id="event-catch-up" bounds={BOUNDS.catch_up_seconds} label="Catch up at most (seconds back)" value={form.catch_up_seconds} onChange={(v) => set("catch_up_seconds", v)}>
            {field("catch_up_seconds")}
          </Input>
          <Choice id="event-concurrency" label="A fire while a run has not ended" value={form.concurrency} onChange={(v) => set("concurrency", v as Form["concurrency"])}
            options={[["allow", "runs beside it"], ["forbid", "is skipped"], ["replace", "cancels it"]]}>
            {field("concurrency")}
          </Choice>
          <Input id="event-max-concurrent" bounds={BOUNDS.max_concurrent} label="Runs at once at most (empty: no limit)" value={form.max_concurrent} onChange={(v) => set("max_concurrent", v)}>
            {field("max_concurrent")}
          </Input>
          <Input id="event-max-executions" bounds={BOUNDS.max_executions} label="Pause after this many runs (empty: never)" value={form.max_executions} onChange={(v) => set("max_executions", v)}>
            {field("max_executions")}
          </Input>
        </div>
      </Section>

      {form.kind === "script" ? (
        <Section title="Sandbox">
          <div className="form-grid">
            <Input id="event-cpus" bounds={BOUNDS.cpus} label="CPUs" value={form.cpus} onChange={(v) => set("cpus", v)}>{field("cpus")}</Input>
            <Input id="event-memory" bounds={BOUNDS.memory_mb} label="Memory (MiB)" value={form.memory_mb} onChange={(v) => set("memory_mb", v)}>{field("memory_mb")}</Input>
            <Input id="event-pids" bounds={BOUNDS.pids} label="Processes" value={form.pids} onChange={(v) => set("pids", v)}>{field("pids")}</Input>
            <Input id="event-timeout" bounds={BOUNDS.timeout_seconds} label="Timeout (seconds)" value={form.timeout_seconds} onChange={(v) => set("timeout_seconds", v)}>{field("timeout_seconds")}</Input>
            <Choice id="event-network" label="Network" value={form.network} onChange={(v) => set("network", v as Form["network"])}
              options={[["none", "none"], ["egress", "out to the internet (where the server allows it)"]]}>
              {field("network")}
            </Choice>
          </div>
          <Rows noun="environment variable" legend="Environment variables" rows={form.env} onChange={(env) => set("env", env)} />
          {field("env")}
          <Rows
            noun="secret"
            legend="Secrets"
            keyLabel="variable key"
            hint="Which of your secret variables the sandbox gets: as a file /run/secrets/KEY, or as the environment variable KEY."
            rows={form.secrets}
            newValue="file"
            onChange={(secrets) => set("secrets", secrets)}
            valueInput={(row, setValue, label) => (
              <select aria-label={label} value={row.value} onChange={(e) => setValue(e.target.value)}>
                <option value="file">as a file</option>
                <option value="env">as an environment variable</option>
              </select>
            )}
          />
          {field("secrets")}
        </Section>
      ) : null}

      <Section title="Retries and workers">
        <div className="form-grid">
          <Input id="event-attempts" bounds={BOUNDS.max_attempts} label="Attempts in all" value={form.max_attempts} onChange={(v) => set("max_attempts", v)}>{field("max_attempts")}</Input>
          <Input id="event-backoff" bounds={BOUNDS.retry_backoff_seconds} label="Wait before a retry (seconds, doubled each time)" value={form.retry_backoff_seconds} onChange={(v) => set("retry_backoff_seconds", v)}>{field("retry_backoff_seconds")}</Input>
          <Input id="event-backoff-max" bounds={BOUNDS.retry_backoff_max_seconds} label="Longest wait (seconds)" value={form.retry_backoff_max_seconds} onChange={(v) => set("retry_backoff_max_seconds", v)}>{field("retry_backoff_max_seconds")}</Input>
          <Input id="event-pool" label="Pool (worker tag; empty: any worker)" value={form.pool} onChange={(v) => set("pool", v)}>{field("pool")}</Input>
        </div>
      </Section>

      <Section title="After a run">
        <ActionsEditor actions={form.actions} onChange={(actions) => set("actions", actions)} self={self} />
        {field("actions")}
      </Section>

      {underField ? <p className="field-error">Not saved: see the message under its field above.</p> : <ErrorBanner error={error} all />}
      <button className="primary" type="submit" disabled={saving}>
        {creating ? "Create event" : "Save changes"}
      </button>
    </form>
  );
}

type Set = <K extends keyof Form>(key: K, value: Form[K]) => void;

function ScriptFields({ form, set, pickLanguage, error }: { form: Form; set: Set; pickLanguage: (l: Language) => void; error: unknown }) {
  return (
    <>
      <div className="form-grid">
        <div className="field">
          <label htmlFor="event-language">Language</label>
          <select id="event-language" value={form.language} onChange={(e) => pickLanguage(e.target.value as Language)}>
            {LANGUAGES.map((language) => (
              <option key={language.value} value={language.value}>
                {language.label}
              </option>
            ))}
          </select>
          <Refusal error={error} field="language" />
        </div>
        {/* Bash has its helpers defined in any case */}
        {form.language === "bash" ? null : (
          <div className="field">
            <label htmlFor="event-global">
              <input id="event-global" type="checkbox" checked={form.global_helpers} onChange={(e) => set("global_helpers", e.target.checked)} />{" "}
              The helpers as a global <code>cronium</code> (no import)
            </label>
            <Refusal error={error} field="global_helpers" />
          </div>
        )}
      </div>
      <div className="field">
        <p className="events-label" id="event-script-label">Script</p>
        <Editor value={form.script} onChange={(script) => set("script", script)} language={form.language} label="Script" minHeight="16rem" />
        <div className="hint">A new script starts from a template showing the helpers; it follows the language until you change it.</div>
        <Refusal error={error} field="script" />
      </div>
    </>
  );
}

function HttpFields({ form, set, error }: { form: Form; set: Set; error: unknown }) {
  const http = form.http;
  const change = (to: Partial<Form["http"]>) => set("http", { ...http, ...to });
  return (
    <>
      <div className="form-grid">
        <Choice id="http-method" label="Method" value={http.method} onChange={(method) => change({ method })} options={METHODS.map((m) => [m, m])} />
        <Input id="http-url" label="URL" value={http.url} onChange={(url) => change({ url })} required />
      </div>
      <Rows noun="header" legend="Headers" rows={http.headers} onChange={(headers) => change({ headers })} />
      <div className="field">
        <label htmlFor="http-body">Body (empty: the run&apos;s input, as JSON)</label>
        <textarea id="http-body" rows={4} value={http.body} onChange={(e) => change({ body: e.target.value })} />
      </div>
      <div className="field row">
        <label htmlFor="http-json">
          <input id="http-json" type="checkbox" checked={http.bodyIsJson} onChange={(e) => change({ bodyIsJson: e.target.checked })} /> Send the body as JSON
        </label>
        <label htmlFor="http-fail">
          <input id="http-fail" type="checkbox" checked={http.fail_on_status} onChange={(e) => change({ fail_on_status: e.target.checked })} /> A 4xx or 5xx
          answer fails the run
        </label>
      </div>
      <Refusal error={error} field="http" input="http-url" />
    </>
  );
}

function ToolFields({ form, set, error }: { form: Form; set: Set; error: unknown }) {
  const tool = form.tool;
  const change = (to: Partial<Form["tool"]>) => set("tool", { ...tool, ...to });
  return (
    <>
      <div className="form-grid">
        <Input id="tool-name" label="Tool (one of yours, or a kind: slack, email…)" value={tool.tool} onChange={(name) => change({ tool: name })} required />
        <Input id="tool-action" label="Action (send_message, send_email, send)" value={tool.action} onChange={(action) => change({ action })} required />
      </div>
      <div className="field">
        <label htmlFor="tool-params">Params (JSON object; strings may be templates)</label>
        <textarea id="tool-params" rows={5} value={tool.params} onChange={(e) => change({ params: e.target.value })} />
      </div>
      <Refusal error={error} field="tool_action" input="tool-name" />
    </>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

interface InputProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** A number's bounds, as the API has them: a number input, its range told beneath. */
  bounds?: Bounds;
  required?: boolean;
  children?: ReactNode;
}

function Input({ id, label, value, onChange, bounds, required, children }: InputProps) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={bounds ? "number" : "text"}
        min={bounds?.min}
        max={bounds?.max}
        step={bounds ? (bounds.whole ? 1 : "any") : undefined}
        value={value}
        required={required}
        aria-describedby={bounds ? `${id}-range` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {bounds ? (
        <div className="hint" id={`${id}-range`}>
          {rangeText(bounds)}
        </div>
      ) : null}
      {children}
    </div>
  );
}

function Choice(props: { id: string; label: string; value: string; onChange: (value: string) => void; options: string[][]; children?: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      {props.children}
    </div>
  );
}

/** The API's message under the field it is about (see refusalUnder); `input` is the id of the
 * input to focus when the refusal is not inside its field's `.field`. */
function Refusal({ error, field, input }: { error: unknown; field: string; input?: string }) {
  const message = refusalUnder(error, field);
  if (message === null) return null;
  return (
    <div className="field-error" role="alert" data-field={field} data-refusal={input ?? ""}>
      {message}
    </div>
  );
}

/** Scroll the form's first refusal into view and focus its input. */
function showFirstRefusal(form: HTMLFormElement) {
  const refusal = form.querySelector<HTMLElement>("[data-refusal]");
  if (!refusal) return;
  refusal.scrollIntoView({ block: "center" });
  inputOf(refusal)?.focus({ preventScroll: true });
}

// A refusal is inside its field's .field, or right after a group of inputs (rows, actions).
function inputOf(refusal: HTMLElement): HTMLElement | null {
  const named = refusal.dataset.refusal;
  if (named) return document.getElementById(named);
  const around = refusal.closest(".field") ?? refusal.previousElementSibling;
  return around?.querySelector<HTMLElement>("input, textarea, select, [contenteditable='true'], button") ?? null;
}
