import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { post } from "../lib/api";
import type { LoginAnswer, User } from "../lib/types";
import { ErrorBanner } from "../components/common";

/** Only a path of this site (never another origin) is a place to come back to. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/login")) return "/";
  return next;
}

export default function Login({ onLogin }: { onLogin: (user: User) => void }) {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await post<LoginAnswer>("/auth/login", { name, password }, { quiet401: true });
      onLogin(answer.user);
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login card" id="main">
      <h1>
        <img src="/favicon.svg" alt="" width="24" height="24" /> Log in to Cronium
      </h1>
      {params.get("expired") ? (
        <div className="banner info" role="status">
          Your session has ended. Log in again to go back to where you were.
        </div>
      ) : null}
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="login-name">Name</label>
          <input id="login-name" autoComplete="username" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input id="login-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </div>
        <ErrorBanner error={error} all />
        <button className="primary" type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      <p className="muted">
        On a new server, the administrator <code>admin</code> and its first password are printed
        by the server's first start.
      </p>
    </main>
  );
}
