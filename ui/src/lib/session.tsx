import { createContext, useContext } from "react";
import type { User } from "./types";

export interface Session {
  user: User;
  /** Whether the user may change things (events, workflows...): not a viewer. */
  canWrite: boolean;
  isAdmin: boolean;
  logout: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

/** The logged-in user; only used under the app's layout, where there always is one. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error("useSession outside a session");
  return session;
}
