// Small pieces every page uses: statuses, errors next to their field, a banner for the rest.
import type { ReactNode } from "react";
import { errorFor, messageOf } from "../lib/api";

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span className="muted">—</span>;
  return <span className={`badge ${status}`}>{status.replace("_", " ")}</span>;
}

/** The API's message when `error` is about `field`: put it right under that field. */
export function FieldError({ error, field, id }: { error: unknown; field: string; id?: string }) {
  const message = errorFor(error, field);
  if (!message) return null;
  return (
    <div className="field-error" role="alert" id={id} data-field={field}>
      {message}
    </div>
  );
}

/** An error that is not about one field of the form (or any error, with `all`). */
export function ErrorBanner({ error, fields = [], all = false }: { error: unknown; fields?: string[]; all?: boolean }) {
  if (!error) return null;
  if (!all && fields.some((f) => errorFor(error, f))) return null;
  return (
    <div className="banner error" role="alert">
      {messageOf(error)}
    </div>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return <p className="muted" aria-live="polite">{what}…</p>;
}

export function Field(props: { label: string; htmlFor: string; hint?: ReactNode; error?: unknown; field?: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={props.htmlFor}>{props.label}</label>
      {props.children}
      {props.hint ? <div className="hint">{props.hint}</div> : null}
      {props.field ? <FieldError error={props.error} field={props.field} /> : null}
    </div>
  );
}

/** A secret the server shows once (a token, a webhook key): copy it now. */
export function ShownOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  return (
    <div className="banner ok" role="status">
      <p>
        <strong>{label}</strong>: shown this once, copy it now.
      </p>
      <div className="row">
        <code data-testid="shown-once">{value}</code>
        <button type="button" onClick={() => void navigator.clipboard?.writeText(value)}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function Dialog({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  return (
    <div className="dialog-backdrop" onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label={title}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}
