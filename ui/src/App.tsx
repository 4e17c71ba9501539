// The app's shell: who is logged in, the routes, the navigation, the connection banner.
import { lazy, Suspense, useCallback, useContext, useEffect, useRef, useState, type ComponentType, type ReactNode } from "react";
import { BrowserRouter, NavLink, Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { get, markOffline, onConnection, onSessionExpired, post, whenOnline } from "./lib/api";
import { SessionContext, type Session } from "./lib/session";
import type { User } from "./lib/types";
import { Loading } from "./components/common";
import Login from "./pages/Login";
// the first page after logging in comes with the app: no wait for another file to reveal it
import Dashboard from "./pages/Dashboard";

const EventList = page(() => import("./pages/events/EventList"));
const EventNew = page(() => import("./pages/events/EventNew"));
const EventPage = page(() => import("./pages/events/EventPage"));
const ExecutionList = page(() => import("./pages/executions/ExecutionList"));
const ExecutionPage = page(() => import("./pages/executions/ExecutionPage"));
const WorkflowList = page(() => import("./pages/workflows/WorkflowList"));
const WorkflowNew = page(() => import("./pages/workflows/WorkflowNew"));
const WorkflowPage = page(() => import("./pages/workflows/WorkflowPage"));
const WorkflowRunPage = page(() => import("./pages/workflows/WorkflowRunPage"));
const Variables = page(() => import("./pages/settings/Variables"));
const Tools = page(() => import("./pages/settings/Tools"));
const Tokens = page(() => import("./pages/settings/Tokens"));
const Users = page(() => import("./pages/settings/Users"));
const Audit = page(() => import("./pages/settings/Audit"));
const Account = page(() => import("./pages/settings/Account"));

/** A page in a file of its own, fetched when first shown. When the connection is lost, the
 * page waits for it (the banner says so) and tries again; a second failure reloads the app,
 * since a browser keeps a module that failed to load as failed. */
function page<P extends object>(load: () => Promise<{ default: ComponentType<P> }>) {
  return lazy(async () => {
    try {
      return await load();
    } catch {
      markOffline();
      await whenOnline();
      try {
        return await load();
      } catch {
        window.location.reload();
        return await new Promise<never>(() => undefined);
      }
    }
  });
}

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
  const session = useContext(SessionContext);
  // on a phone the navigation folds behind a Menu button; it folds again on each navigation
  const [menuOpen, setMenuOpen] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const location = useLocation();
  useEffect(() => setMenuOpen(false), [location.pathname]);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to the page
      </a>
      <nav
        aria-label="Main"
        className={menuOpen ? "open" : undefined}
        onKeyDown={(event) => {
          if (event.key !== "Escape" || !menuOpen) return;
          setMenuOpen(false);
          toggle.current?.focus();
        }}
      >
        <div className="nav-head">
          <NavLink to="/" className="brand" end>
            <img src="/favicon.svg" alt="" width="22" height="22" /> Cronium
          </NavLink>
          <button
            ref={toggle}
            type="button"
            className="nav-toggle"
            aria-expanded={menuOpen}
            aria-controls="nav-links"
            onClick={() => setMenuOpen((open) => !open)}
          >
            Menu
          </button>
        </div>
        <div className="nav-links" id="nav-links">
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
            <Route path="/users" element={<AdminOnly><Users /></AdminOnly>} />
            <Route path="/audit" element={<AdminOnly><Audit /></AdminOnly>} />
            <Route path="/account" element={<Account />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </div>
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

/** A page for administrators: anyone else is told so, and sees nothing of it. */
function AdminOnly({ children }: { children: ReactNode }) {
  const session = useContext(SessionContext);
  if (session?.isAdmin) return <>{children}</>;
  return (
    <div className="banner error" role="alert">
      This page is only for administrators; your role is {session?.user.role}.
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
