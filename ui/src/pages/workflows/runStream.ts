// A workflow run followed live: its Server-Sent Events stream (same-origin, the session's
// cookie) says each node's status as it changes; see src/cronium/api/routers/workflows.py.
import { useEffect, useRef, useState } from "react";
import { API } from "../../lib/api";

export interface NodeChange {
  node: string;
  status: string;
  execution_id?: number | null;
}

/** The node changes the stream has told while `follow` is true. `onChange` is called at each
 * change and at the run's end; `onFail` when the stream cannot be kept (the page polls then). */
export function useRunStream(runId: string, follow: boolean, onChange: () => void, onFail: () => void): Record<string, NodeChange> {
  const [changes, setChanges] = useState<Record<string, NodeChange>>({});
  const handlers = useRef({ onChange, onFail });
  handlers.current = { onChange, onFail };

  useEffect(() => {
    if (!follow) return;
    const source = new EventSource(`${API}/workflows/runs/${encodeURIComponent(runId)}/stream`);
    source.addEventListener("node", (event) => {
      const change = JSON.parse((event as MessageEvent<string>).data) as NodeChange;
      setChanges((all) => ({ ...all, [change.node]: change }));
      handlers.current.onChange();
    });
    source.addEventListener("end", () => {
      source.close(); // else the browser reconnects to a stream that has ended
      handlers.current.onChange();
    });
    source.onerror = () => {
      source.close();
      setChanges({}); // what polling reads from now on is newer
      handlers.current.onFail();
    };
    return () => source.close();
  }, [runId, follow]);
  return changes;
}
