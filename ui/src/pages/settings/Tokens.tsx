// The caller's API tokens: create one (its secret shown once), list them, revoke.
import { useState, type FormEvent } from "react";
import { del, post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Token, TokenIssued } from "../../lib/types";
import { ErrorBanner, FieldError, Loading, ShownOnce } from "../../components/common";
import { when } from "../../lib/format";

const SCOPES = ["read", "run", "write", "admin"] as const;

export default function Tokens() {
  const list = useGet<Token[]>("/tokens");
  const [issued, setIssued] = useState<TokenIssued | null>(null);
  const { error, run } = useAction();

  async function revoke(token: Token) {
    if (!window.confirm(`Revoke the token ${token.name}? It stops working at once.`)) return;
    await run(async () => {
      await del(`/tokens/${token.id}`);
      list.reload();
    });
  }

  return (
    <>
      <h1>API tokens</h1>
      <p className="muted">
        For the command line and other programs: <code>export CRONIUM_TOKEN=…</code>. A token is
        shown once, when it is made; the server keeps only its hash.
      </p>
      {issued ? (
        <ShownOnce label={`Token ${issued.name}`} value={issued.token} onDone={() => setIssued(null)} />
      ) : null}
      <ErrorBanner error={error ?? list.error} all />
      <TokenForm
        onIssued={(token) => {
          setIssued(token);
          list.reload();
        }}
      />
      {list.data === undefined ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Scopes</th>
                <th>Last used</th>
                <th>Expires</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.data.map((token) => (
                <tr key={token.id}>
                  <td>{token.name}</td>
                  <td className="mono">{token.prefix}…</td>
                  <td>{token.scopes.join(", ")}</td>
                  <td>{when(token.last_used_at)}</td>
                  <td>{token.revoked_at ? `revoked ${when(token.revoked_at)}` : when(token.expires_at)}</td>
                  <td>
                    {token.revoked_at ? null : (
                      <button type="button" className="danger" onClick={() => void revoke(token)}>
                        Revoke
                      </button>
                    )}
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

function TokenForm({ onIssued }: { onIssued: (token: TokenIssued) => void }) {
  const [name, setName] = useState("");
  const [days, setDays] = useState("30");
  const [scopes, setScopes] = useState<string[]>(["read", "run"]);
  const { error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      const body = { name, scopes, expires_in_days: days === "" ? null : Number(days) };
      onIssued(await post<TokenIssued>("/tokens", body));
      setName("");
    });
  }

  return (
    <form className="card" onSubmit={submit} aria-label="Create a token">
      <div className="form-grid">
        <div className="field">
          <label htmlFor="token-name">Name</label>
          <input id="token-name" value={name} onChange={(e) => setName(e.target.value)} required />
          <FieldError error={error} field="name" />
        </div>
        <div className="field">
          <label htmlFor="token-days">Expires in (days; empty: never)</label>
          <input id="token-days" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
          <FieldError error={error} field="expires_in_days" />
        </div>
      </div>
      <fieldset className="field row">
        <legend>Scopes</legend>
        {SCOPES.map((scope) => (
          <label key={scope} className="row">
            <input
              type="checkbox"
              checked={scopes.includes(scope)}
              onChange={(e) =>
                setScopes((now) => (e.target.checked ? [...now, scope] : now.filter((s) => s !== scope)))
              }
            />
            {scope}
          </label>
        ))}
      </fieldset>
      <ErrorBanner error={error} fields={["name", "expires_in_days"]} />
      <button className="primary" type="submit">
        Create token
      </button>
    </form>
  );
}
