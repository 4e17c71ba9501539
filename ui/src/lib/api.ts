// The one way the UI talks to the server: the public REST API under /api/v1, with the browser
// session (HttpOnly cookie) and its CSRF token on every request that changes something.

export const API = "/api/v1";

/** A failed call: the API's `error` code and `message`, and the field the message names. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = fieldOf(message);
  }
}

/** The server could not be reached at all (the connection is lost). */
export class ConnectionLost extends Error {
  constructor() {
    super("The server cannot be reached: check that it runs; this page retries by itself.");
  }
}

/** The field an API message is about: "cpus: Input should be..." names `cpus`;
 * "schedule.cron: ..." names `schedule.cron`. None when the message names no field. */
export function fieldOf(message: string): string | null {
  const match = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): /.exec(message);
  return match ? match[1] : null;
}

/** The message for `field` (or one of its sub-fields) if `error` is about it: it names the
 * field ("cpus: ...") or speaks of it ("the password is too short...", for `password`). */
export function errorFor(error: unknown, field: string): string | null {
  if (!(error instanceof ApiError)) return null;
  // a name already taken (409) is about the name, whatever the object: "a user named 'x'..."
  if (field === "name" && error.status === 409 && / named .* (already exists|exists already)/.test(error.message)) {
    return error.message;
  }
  if (error.field === null) {
    const words = field.replace(/_/g, " ").toLowerCase();
    const text = error.message.toLowerCase();
    return text.startsWith(`the ${words} `) || text.startsWith(`${words} `) ? error.message : null;
  }
  return error.field === field || error.field.startsWith(`${field}.`) ? error.message : null;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function csrfToken(): string | null {
  return cookie("cronium_csrf");
}

type Listener = () => void;
const sessionListeners = new Set<Listener>();
const connectionListeners = new Set<(online: boolean) => void>();
let online = true;

/** Called when a call answers 401: the session expired or was ended. */
export function onSessionExpired(listener: Listener): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

/** Called when the server stops or starts answering. */
export function onConnection(listener: (online: boolean) => void): () => void {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}

export function isOnline(): boolean {
  return online;
}

function setOnline(value: boolean): void {
  if (online === value) return;
  online = value;
  for (const listener of connectionListeners) listener(value);
  if (!value) void watchForReturn();
}

/** Resolves when the server answers again (at once if it does now). */
export function whenOnline(): Promise<void> {
  if (online) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = onConnection((back) => {
      if (!back) return;
      stop();
      resolve();
    });
  });
}

/** A file of the app could not be fetched: the connection is lost as for a failed call. */
export function markOffline(): void {
  setOnline(false);
}

async function watchForReturn(): Promise<void> {
  while (!online) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      if (response.ok) setOnline(true);
    } catch {
      // still away
    }
  }
}

export interface CallOptions {
  /** A body sent as it is (text), with this content type, instead of JSON. */
  text?: string;
  contentType?: string;
  /** Answer the body as text instead of parsing JSON. */
  asText?: boolean;
  /** Don't announce a 401 as an expired session (the login form itself). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

/** Call the API: `path` is under /api/v1 ("/events/3"). Answers the parsed JSON body (or
 * undefined for 204); throws ApiError with the API's message, or ConnectionLost. */
export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let payload: string | undefined;
  if (options.text !== undefined) {
    payload = options.text;
    headers["Content-Type"] = options.contentType ?? "text/plain";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  if (!["GET", "HEAD"].includes(method)) {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  let response: Response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: payload,
      credentials: "same-origin",
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    setOnline(false);
    throw new ConnectionLost();
  }
  setOnline(true);
  if (response.status === 401 && !options.quiet401) {
    for (const listener of sessionListeners) listener();
  }
  if (!response.ok) {
    let code = "error";
    let message = `${response.status} ${response.statusText}`;
    try {
      const answer = await response.json();
      code = String(answer.error ?? code);
      message = String(answer.message ?? message);
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, code, message);
  }
  if (response.status === 204) return undefined as T;
  if (options.asText) return (await response.text()) as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string, options?: CallOptions) => api<T>("GET", path, undefined, options);
export const post = <T>(path: string, body?: unknown, options?: CallOptions) =>
  api<T>("POST", path, body, options);
export const patch = <T>(path: string, body?: unknown) => api<T>("PATCH", path, body);
export const put = <T>(path: string, body?: unknown) => api<T>("PUT", path, body);
export const del = <T = void>(path: string) => api<T>("DELETE", path);
