import { useCallback, useEffect, useRef, useState } from "react";
import { get, onConnection } from "./api";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** GET `path` (under /api/v1) and keep the answer; `refreshMs` polls it (live pages); it loads
 * again when the connection comes back. `path` null: nothing to load yet. */
export function useGet<T>(path: string | null, refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const current = useRef(path);
  current.current = path;

  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    setLoading(true);
    get<T>(path, { signal: abort.signal })
      .then((answer) => {
        if (current.current !== path) return;
        setData(answer);
        setError(null);
      })
      .catch((failure: unknown) => {
        if (failure instanceof DOMException && failure.name === "AbortError") return;
        setError(failure);
      })
      .finally(() => setLoading(false));
    return () => abort.abort();
  }, [path, tick]);

  useEffect(() => {
    if (!refreshMs || path === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, path, reload]);

  useEffect(() => onConnection((online) => online && reload()), [reload]);
  return { data, error, loading, reload };
}

export interface Action {
  /** The last call's failure, for the page to show (null after a call that worked). */
  error: unknown;
  setError: (error: unknown) => void;
  /** Make the call, keeping its failure as `error`; whether it worked. */
  run: (call: () => Promise<void>) => Promise<boolean>;
}

/** What a form or a button does: one call at a time, its error kept for the page. */
export function useAction(): Action {
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (call: () => Promise<void>) => {
    setError(null);
    try {
      await call();
      return true;
    } catch (failure) {
      setError(failure);
      return false;
    }
  }, []);
  return { error, setError, run };
}
