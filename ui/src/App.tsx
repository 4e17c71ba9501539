// The app's shell: who is logged in, the routes, the navigation, the connection banner.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { BrowserRouter, NavLink, Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { get, onConnection, onSessionExpired, post } from "./lib/api";
import { SessionContext, type Session } from "./lib/session";
import type { User } from "./lib/types";
import { Loading } from "./components/common";
import Login from "./pages/Login";
// the first page after logging in comes with the app: no wait for another file to reveal it
import Dashboard from "./pages/Dashboard";

const EventList = lazy(() => import("./pages/events/EventList"));
const EventNew = lazy(() => import("./pages/events/EventNew"));
const EventPage = lazy(() => import("./pages/events/EventPage"));
const ExecutionList = lazy(() => import("./pages/executions/ExecutionList"));
const ExecutionPage = lazy(() => import("./pages/executions/ExecutionPage"));
const WorkflowList = lazy(() => import("./pages/workflows/WorkflowList"));
const WorkflowNew = lazy(() => import("./pages/workflows/WorkflowNew"));
const WorkflowPage = lazy(() => import("./pages/workflows/WorkflowPage"));
const WorkflowRunPage = lazy(() => import("./pages/workflows/WorkflowRunPage"));
const Variables = lazy(() => import("./pages/settings/Variables"));
const Tools = lazy(() => import("./pages/settings/Tools"));
const Tokens = lazy(() => import("./pages/settings/Tokens"));
const Users = lazy(() => import("./pages/settings/Users"));
const Audit = lazy(() => import("./pages/settings/Audit"));
const Account = lazy(() => import("./pages/settings/Account"));

export default function App() {
  return (
    <BrowserRouter>
      <Shell />
    </BrowserRouter>
  );
}

function here(location: { pathname: string; search: string }): string {
  return location.pathname + location.search;
}

function Shell() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const location = useLocation();
  const navigate = useNavigate();

  const load = useCallback(() => {
    get<User>("/users/me", { quiet401: true })
      .then(setUser)
      .catch(() => setUser(null));
  }, []);
  useEffect(load, [load]);

  // A session that expires (any call answering 401) asks to log in again, then comes back here.
  const [expired, setExpired] = useState(false);
  useEffect(
    () =>
      onSessionExpired(() => {
        setExpired(true);
        setUser(null);
      }),
    [],
  );

  if (user === undefined) return <Loading />;
  if (location.pathname === "/login") {
    return (
      <Login
        onLogin={(u) => {
          setExpired(false);
          setUser(u);
        }}
      />
    );
  }
  if (user === null) {
    const next = `/login?next=${encodeURIComponent(here(location))}${expired ? "&expired=1" : ""}`;
    return <Navigate to={next} replace />;
  }
  const session: Session = {
    user,
    canWrite: user.role !== "viewer",
    isAdmin: user.role === "admin",
    logout: async () => {
      await post("/auth/logout").catch(() => undefined);
      setUser(null);
      navigate("/login", { replace: true });
    },
  };
  return (
    <SessionContext.Provider value={session}>
      <Layout />
    </SessionContext.Provider>
  );
}

function Layout() {
  return (
    <SessionContext.Consumer>
      {(session) => (
        <div className="app">
          <a className="skip-link" href="#main">
            Skip to the page
          </a>
          <nav aria-label="Main">
            <NavLink to="/" className="brand" end>
              <img src="/favicon.svg" alt="" width="22" height="22" /> Cronium
            </NavLink>
            <Link to="/" end>Dashboard</Link>
            <Link to="/events">Events</Link>
            <Link to="/workflows">Workflows</Link>
            <Link to="/executions">Executions</Link>
            <Link to="/variables">Variables</Link>
            <Link to="/tools">Tools</Link>
            <Link to="/tokens">API tokens</Link>
            {session?.isAdmin ? <Link to="/users">Users</Link> : null}
            {session?.isAdmin ? <Link to="/audit">Audit log</Link> : null}
            <div className="who">
              <NavLink to="/account">{session?.user.name}</NavLink> ({session?.user.role}){" "}
              <button type="button" onClick={() => void session?.logout()}>
                Log out
              </button>
            </div>
          </nav>
          <main id="main" tabIndex={-1}>
            <ConnectionBanner />
            <Suspense fallback={<Loading />}>
              <Routes>
                <Route path="/" element={<Dashboard />} />
                <Route path="/events" element={<EventList />} />
                <Route path="/events/new" element={<EventNew />} />
                <Route path="/events/:id/*" element={<EventPage />} />
                <Route path="/executions" element={<ExecutionList />} />
                <Route path="/executions/:id" element={<ExecutionPage />} />
                <Route path="/workflows" element={<WorkflowList />} />
                <Route path="/workflows/new" element={<WorkflowNew />} />
                <Route path="/workflows/runs/:runId" element={<WorkflowRunPage />} />
                <Route path="/workflows/:id/*" element={<WorkflowPage />} />
                <Route path="/variables" element={<Variables />} />
                <Route path="/tools" element={<Tools />} />
                <Route path="/tokens" element={<Tokens />} />
                <Route path="/users" element={<Users />} />
                <Route path="/audit" element={<Audit />} />
                <Route path="/account" element={<Account />} />
                <Route path="*" element={<NotFound />} />
              </Routes>
            </Suspense>
          </main>
        </div>
      )}
    </SessionContext.Consumer>
  );
}

function Link({ to, end, children }: { to: string; end?: boolean; children: string }) {
  return (
    <NavLink to={to} end={end} className={({ isActive }) => `link${isActive ? " active" : ""}`}>
      {children}
    </NavLink>
  );
}

function ConnectionBanner() {
  const [online, setOnline] = useState(true);
  useEffect(() => onConnection(setOnline), []);
  if (online) return null;
  return (
    <div className="banner warn" role="alert" data-testid="connection-lost">
      The connection to the server is lost. Retrying every few seconds; the page catches up by
      itself when it is back.
    </div>
  );
}

function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>There is no page at this address.</p>
    </>
  );
}
