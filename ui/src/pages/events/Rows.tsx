// Key/value rows (environment variables, secrets, HTTP headers): add, edit, remove.
import type { ReactNode } from "react";
import type { Row } from "./model";

interface RowsProps {
  /** What one row is, for labels: "environment variable". */
  noun: string;
  legend: string;
  rows: Row[];
  onChange: (rows: Row[]) => void;
  keyLabel?: string;
  /** The value's input; a text input when not given. */
  valueInput?: (row: Row, set: (value: string) => void, label: string) => ReactNode;
  newValue?: string;
  hint?: ReactNode;
}

export default function Rows({ noun, legend, rows, onChange, keyLabel = "name", valueInput, newValue = "", hint }: RowsProps) {
  const update = (index: number, change: Partial<Row>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <fieldset className="events-rows">
      <legend>{legend}</legend>
      {hint ? <div className="hint">{hint}</div> : null}
      {rows.map((row, index) => {
        const label = `${noun} ${index + 1}`;
        return (
          <div className="events-row" key={index}>
            <input
              aria-label={`${label} ${keyLabel}`}
              className="mono"
              value={row.key}
              placeholder={keyLabel}
              onChange={(e) => update(index, { key: e.target.value })}
            />
            {valueInput ? (
              valueInput(row, (value) => update(index, { value }), `${label} value`)
            ) : (
              <input
                aria-label={`${label} value`}
                className="mono"
                value={row.value}
                placeholder="value"
                onChange={(e) => update(index, { value: e.target.value })}
              />
            )}
            <button type="button" onClick={() => onChange(rows.filter((_, i) => i !== index))} aria-label={`Remove ${label}`}>
              Remove
            </button>
          </div>
        );
      })}
      <button type="button" onClick={() => onChange([...rows, { key: "", value: newValue }])}>
        Add {noun}
      </button>
    </fieldset>
  );
}
