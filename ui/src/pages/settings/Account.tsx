// The logged-in user: name and role, and changing one's own password.
import { useState, type FormEvent } from "react";
import { put } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import { useSession } from "../../lib/session";
import { ErrorBanner, FieldError } from "../../components/common";

export default function Account() {
  const { user } = useSession();
  const [current, setCurrent] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const { error, setError, run } = useAction();
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(false);
    if (password !== again) {
      setError(new Error("The two new passwords differ: type the same one twice."));
      return;
    }
    await run(async () => {
      await put("/users/me/password", { current_password: current, password });
      setCurrent("");
      setPassword("");
      setAgain("");
      setDone(true);
    });
  }

  return (
    <>
      <h1>Account</h1>
      <p>
        Logged in as <strong>{user.name}</strong>, role <strong>{user.role}</strong>.
      </p>
      <form className="card" onSubmit={submit} aria-label="Change the password">
        <h2>Change the password</h2>
        <div className="field">
          <label htmlFor="current-password">Current password</label>
          <input id="current-password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
          <FieldError error={error} field="current_password" />
        </div>
        <div className="field">
          <label htmlFor="new-password">New password</label>
          <input id="new-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          <FieldError error={error} field="password" />
        </div>
        <div className="field">
          <label htmlFor="new-password-again">New password, again</label>
          <input id="new-password-again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} required />
        </div>
        <ErrorBanner error={error} fields={["current_password", "password"]} />
        {done ? (
          <div className="banner ok" role="status">
            The password is changed.
          </div>
        ) : null}
        <button className="primary" type="submit">
          Change the password
        </button>
      </form>
    </>
  );
}
