// The caller's variables: plain ones shown, secrets never (only revealed through the audited
// call, on request); create or replace, delete.
import { useState, type FormEvent } from "react";
import { del, post, put } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Variable } from "../../lib/types";
import { ErrorBanner, FieldError, Loading } from "../../components/common";
import { useSession } from "../../lib/session";
import { when } from "../../lib/format";

export default function Variables() {
  const { canWrite } = useSession();
  const list = useGet<Variable[]>("/variables");
  const [revealed, setRevealed] = useState<Record<string, string>>({});
  const { error, run } = useAction();

  async function reveal(key: string) {
    await run(async () => {
      const shown = await post<Variable>(`/variables/${encodeURIComponent(key)}/reveal`);
      setRevealed((r) => ({ ...r, [key]: JSON.stringify(shown.value) }));
    });
  }

  function hide(key: string) {
    setRevealed(({ [key]: _hidden, ...rest }) => rest);
  }

  async function remove(key: string) {
    if (!window.confirm(`Delete the variable ${key}?`)) return;
    await run(async () => {
      await del(`/variables/${encodeURIComponent(key)}`);
      list.reload();
    });
  }

  return (
    <>
      <h1>Variables</h1>
      <p className="muted">
        What your scripts read and write with <code>get_variable</code> and <code>set_variable</code>.
        A secret is stored encrypted and never shown here unless you reveal it (the reveal is audited).
      </p>
      <ErrorBanner error={error ?? list.error} all />
      {canWrite ? <VariableForm onSaved={list.reload} /> : null}
      {list.data === undefined ? (
        <Loading />
      ) : list.data.length === 0 ? (
        <p>No variables yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Key</th>
                <th>Value</th>
                <th>Updated</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.data.map((variable) => (
                <tr key={variable.key}>
                  <td className="mono">{variable.key}</td>
                  <td className="mono variable-value">
                    {variable.secret ? (
                      revealed[variable.key] !== undefined ? (
                        <Shown text={revealed[variable.key]} />
                      ) : (
                        <span className="secret">secret ••••••</span>
                      )
                    ) : (
                      <Shown text={JSON.stringify(variable.value)} />
                    )}
                  </td>
                  <td>{when(variable.updated_at)}</td>
                  <td className="row">
                    {variable.secret && canWrite && !(variable.key in revealed) ? (
                      <button type="button" onClick={() => void reveal(variable.key)}>
                        Reveal
                      </button>
                    ) : null}
                    {variable.key in revealed ? (
                      <button type="button" onClick={() => hide(variable.key)}>
                        Hide
                      </button>
                    ) : null}
                    {canWrite ? (
                      <button type="button" className="danger" onClick={() => void remove(variable.key)}>
                        Delete
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const SHOWN = 300; // characters of a value in the table; the rest on request

/** A value in the table: a long one cut, with a button to see it whole. */
function Shown({ text }: { text: string }) {
  const [whole, setWhole] = useState(false);
  if (text.length <= SHOWN || whole) return <span className="variable-text">{text}</span>;
  return (
    <>
      <span className="variable-text">{text.slice(0, SHOWN)}…</span>{" "}
      <button type="button" className="link-button" onClick={() => setWhole(true)}>
        all {text.length.toLocaleString()} characters
      </button>
    </>
  );
}

function VariableForm({ onSaved }: { onSaved: () => void }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [secret, setSecret] = useState(false);
  const { error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = value; // not JSON: kept as a string
    }
    await run(async () => {
      await put(`/variables/${encodeURIComponent(key)}`, { value: parsed, secret });
      setKey("");
      setValue("");
      setSecret(false);
      onSaved();
    });
  }

  return (
    <form className="card" onSubmit={submit} aria-label="Set a variable">
      <div className="form-grid">
        <div className="field">
          <label htmlFor="variable-key">Key</label>
          <input id="variable-key" value={key} onChange={(e) => setKey(e.target.value)} required />
          <FieldError error={error} field="key" />
        </div>
        <div className="field">
          <label htmlFor="variable-value">Value (JSON, or text)</label>
          <input
            id="variable-value"
            type={secret ? "password" : "text"}
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
          <FieldError error={error} field="value" />
        </div>
        <div className="field">
          <label htmlFor="variable-secret">
            <input id="variable-secret" type="checkbox" checked={secret} onChange={(e) => setSecret(e.target.checked)} />{" "}
            Secret (stored encrypted)
          </label>
        </div>
      </div>
      <ErrorBanner error={error} fields={["key", "value"]} />
      <button className="primary" type="submit">
        Save
      </button>
    </form>
  );
}
