// Follow an execution's log live over Server-Sent Events: the lines so far, then each as it is
// stored, until the execution ends. A dropped stream resumes after the last line it got (the
// browser sends Last-Event-ID; a stream the server closed is opened again after a pause).
import { useEffect, useRef, useState } from "react";
import { API } from "../../lib/api";
import type { LogLine } from "../../lib/types";
import { merged } from "./logs";

export type StreamState = "connecting" | "live" | "reconnecting" | "ended";

export interface LogEnd {
  status: string;
  exit_code?: number | null;
  signal?: number | null;
  error?: string | null;
}

export interface LogStream {
  lines: LogLine[];
  state: StreamState;
  end: LogEnd | null;
}

const FLUSH_MS = 100; // lines arriving in a flood are drawn together, ten times a second
const RETRY_MS = 3000;

export function useLogStream(executionId: number): LogStream {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<StreamState>("connecting");
  const [end, setEnd] = useState<LogEnd | null>(null);
  const pending = useRef<LogLine[]>([]);
  const lastSeq = useRef(-1);

  useEffect(() => {
    setLines([]);
    setEnd(null);
    setState("connecting");
    pending.current = [];
    lastSeq.current = -1;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let finished = false;

    const flush = () => {
      if (pending.current.length === 0) return;
      const batch = pending.current;
      pending.current = [];
      setLines((kept) => merged(kept, batch));
    };
    const timer = setInterval(flush, FLUSH_MS);

    const open = () => {
      source = new EventSource(`${API}/executions/${executionId}/logs/stream?after_seq=${lastSeq.current}`);
      source.onopen = () => setState("live");
      source.addEventListener("line", (message) => {
        const line = JSON.parse((message as MessageEvent<string>).data) as LogLine;
        lastSeq.current = Math.max(lastSeq.current, line.seq);
        pending.current.push({ seq: line.seq, stream: line.stream, at: line.at, line: line.line });
      });
      source.addEventListener("end", (message) => {
        finished = true;
        source?.close();
        flush();
        setEnd(JSON.parse((message as MessageEvent<string>).data) as LogEnd);
        setState("ended");
      });
      source.onerror = () => {
        if (finished) return;
        setState("reconnecting");
        // the browser retries by itself while the stream is only interrupted; a refusal closes it
        if (source?.readyState === EventSource.CLOSED) retry = setTimeout(open, RETRY_MS);
      };
    };
    open();
    return () => {
      finished = true;
      source?.close();
      clearTimeout(retry);
      clearInterval(timer);
    };
  }, [executionId]);

  return { lines, state, end };
}
