// Small pieces every page uses: statuses, errors next to their field, a banner for the rest.
import { useEffect, useRef, type KeyboardEvent, type ReactNode } from "react";
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

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';

/** A modal dialog: the focus moves into it, stays in it (Tab and Shift+Tab go round), Escape
 * closes it, and the focus goes back where it was. */
export function Dialog({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  // what had the focus when it opened, read as it is first drawn (before anything in it, such
  // as an autofocused button, takes the focus)
  const opener = useRef(document.activeElement as HTMLElement | null);
  useEffect(() => {
    if (!box.current?.contains(document.activeElement)) {
      (box.current?.querySelector<HTMLElement>(FOCUSABLE) ?? box.current)?.focus();
    }
    const back = opener.current;
    return () => back?.focus();
  }, []);

  function keep(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === "Escape") {
      onClose();
      return;
    }
    if (event.key !== "Tab" || !box.current) return;
    const inside = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (inside.length === 0) return;
    const [first, last] = [inside[0], inside[inside.length - 1]];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  return (
    <div className="dialog-backdrop" onKeyDown={keep}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label={title} ref={box} tabIndex={-1}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}
