// The caller's API tokens: create one (its secret shown once), list them, revoke.
import { useState, type FormEvent } from "react";
import { ApiError, del, post } from "../../lib/api";
import { useAction, useGet } from "../../lib/hooks";
import type { Token, TokenIssued, User } from "../../lib/types";
import { useSession } from "../../lib/session";
import { ErrorBanner, FieldError, Loading, ShownOnce } from "../../components/common";
import { when } from "../../lib/format";

const SCOPES = ["read", "run", "write", "admin"] as const;
type Scope = (typeof SCOPES)[number];

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

// what each role may give a token (the server's rule: never more than the role allows)
const ROLE_SCOPES: Record<User["role"], readonly Scope[]> = {
  viewer: ["read"],
  user: ["read", "run", "write"],
  admin: SCOPES,
};

/** The days a token lasts, from the form: null (never) for empty; a refusal under the field for
 * anything but a whole number, before anything is sent. */
export function expiryDays(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (!/^\d+$/.test(trimmed)) {
    throw new ApiError(
      422,
      "invalid_input",
      `expires_in_days: '${trimmed}' is not a whole number of days: give 1 to 3650, or nothing for a token that never expires`,
    );
  }
  return Number(trimmed);
}

function TokenForm({ onIssued }: { onIssued: (token: TokenIssued) => void }) {
  const { user } = useSession();
  const offered = ROLE_SCOPES[user.role];
  const [name, setName] = useState("");
  const [days, setDays] = useState("30");
  const [scopes, setScopes] = useState<string[]>(offered.filter((scope) => scope !== "admin"));
  const { error, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      const body = { name, scopes, expires_in_days: expiryDays(days) };
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
          <div className="hint">1 to 3650</div>
          <FieldError error={error} field="expires_in_days" />
        </div>
      </div>
      <fieldset className="field row">
        <legend>Scopes</legend>
        {offered.map((scope) => (
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
      <FieldError error={error} field="scopes" />
      <ErrorBanner error={error} fields={["name", "expires_in_days", "scopes"]} />
      <button className="primary" type="submit">
        Create token
      </button>
    </form>
  );
}
