// The log of one execution: stdout and stderr told apart, following the end as lines come
// (until the reader scrolls up), filtered by stream and search, downloadable. Drawn virtually:
// only the lines in view are in the page, so a log of a million lines scrolls like ten.
import { useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { LogLine } from "../../lib/types";
import { asText, pieces, shown, type StreamChoice } from "./logs";
import type { StreamState } from "./useLogStream";

const STATE_TEXT: Record<StreamState, string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "connection lost, reconnecting…",
  ended: "ended",
};

export default function LogView(props: { lines: LogLine[]; state: StreamState; fileName: string }) {
  const [stream, setStream] = useState<StreamChoice>("all");
  const [search, setSearch] = useState("");
  const [follow, setFollow] = useState(true);
  const visible = useMemo(() => shown(props.lines, stream, search), [props.lines, stream, search]);
  const box = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: visible.length,
    getScrollElement: () => box.current,
    estimateSize: () => 20,
    overscan: 20,
  });

  useEffect(() => {
    if (follow && visible.length) rows.scrollToIndex(visible.length - 1, { align: "end" });
  }, [follow, visible.length, rows]);

  function scrolled() {
    const element = box.current;
    if (!element) return;
    const atEnd = element.scrollHeight - element.scrollTop - element.clientHeight < 30;
    if (atEnd !== follow) setFollow(atEnd);
  }

  function download() {
    const url = URL.createObjectURL(new Blob([asText(props.lines)], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = props.fileName;
    link.click();
    URL.revokeObjectURL(url);
  }

  const stderrCount = props.lines.filter((line) => line.stream === "stderr").length;
  return (
    <section aria-label="Log">
      <div className="spread">
        <h2>
          Log <span className="muted" data-testid="log-state">({STATE_TEXT[props.state]})</span>
        </h2>
        <div className="row">
          <label className="sr-only" htmlFor="log-stream">
            Stream
          </label>
          <select id="log-stream" value={stream} onChange={(e) => setStream(e.target.value as StreamChoice)}>
            <option value="all">stdout and stderr ({props.lines.length})</option>
            <option value="stdout">stdout only ({props.lines.length - stderrCount})</option>
            <option value="stderr">stderr only ({stderrCount})</option>
          </select>
          <label className="sr-only" htmlFor="log-search">
            Search the log
          </label>
          <input
            id="log-search"
            type="search"
            placeholder="Search the log"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <label className="row">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
          <button type="button" onClick={download} disabled={props.lines.length === 0}>
            Download
          </button>
        </div>
      </div>
      {search ? (
        <p className="muted" aria-live="polite">
          {visible.length} matching line{visible.length === 1 ? "" : "s"}
        </p>
      ) : null}
      <div className="log" ref={box} onScroll={scrolled} tabIndex={0} role="log" aria-label="Output lines">
        {visible.length === 0 ? (
          <div className="line muted">{props.lines.length ? "No line matches." : "No output yet."}</div>
        ) : (
          <div style={{ height: rows.getTotalSize(), position: "relative" }}>
            {rows.getVirtualItems().map((item) => {
              const line = visible[item.index];
              return (
                <div
                  key={line.seq}
                  ref={rows.measureElement}
                  data-index={item.index}
                  data-stream={line.stream}
                  className={`line ${line.stream}`}
                  style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${item.start}px)` }}
                >
                  <span className="seq">{line.seq + 1}</span>
                  <span>
                    {pieces(line.line, search).map((piece, i) =>
                      piece.match ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>,
                    )}
                  </span>
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}
