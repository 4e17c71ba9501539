import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import WorkflowGraph from "./WorkflowGraph";

const graph = {
  nodes: [
    { name: "A", event_id: 1 },
    { name: "B", event_id: 2 },
    { name: "C", event_id: 3 },
  ],
  edges: [
    { source: "A", target: "B", kind: "on_condition" as const, value: true },
    { source: "A", target: "C", kind: "on_condition" as const, value: false },
  ],
};

afterEach(cleanup);

function draw(props: Partial<Parameters<typeof WorkflowGraph>[0]> = {}) {
  return render(
    <MemoryRouter initialEntries={["/run"]}>
      <Routes>
        <Route path="/run" element={<WorkflowGraph graph={graph} label="The run" eventOf={(n) => `event ${n.event_id}`} {...props} />} />
        <Route path="/executions/:id" element={<p>execution page</p>} />
      </Routes>
    </MemoryRouter>,
  );
}

describe("WorkflowGraph", () => {
  it("draws each node with its event and each edge labelled with its kind", () => {
    const { container } = draw();
    expect(screen.getByRole("group", { name: "The run" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "node A: runs event 1" })).toBeTruthy();
    expect(container.querySelector('[data-edge="A->B"]')?.getAttribute("data-kind")).toBe("if true");
    expect(container.querySelector('[data-edge="A->C"]')?.classList.contains("wf-kind-if_false")).toBe(true);
  });

  it("colours nodes by status and makes the ones with a page links that open it", () => {
    const { container } = draw({
      statuses: { A: "succeeded", B: "running", C: "skipped" },
      hrefOf: (node) => (node === "C" ? null : `/executions/${node === "A" ? 7 : 8}`),
    });
    expect(container.querySelector('[data-node="C"]')?.getAttribute("data-status")).toBe("skipped");
    expect(screen.queryByRole("link", { name: /^node C:/ })).toBeNull();
    const link = screen.getByRole("link", { name: "node A: runs event 1, succeeded" });
    expect(link.getAttribute("href")).toBe("/executions/7");
    fireEvent.click(link, { button: 0 });
    expect(screen.getByText("execution page")).toBeTruthy();
  });

  it("names every node link by its node and its event, also in its tooltip", () => {
    draw({ eventOf: (n) => `check-${n.event_id}`, hrefOf: (node) => `/events/${node}` });
    const names = screen.getAllByRole("link").map((link) => link.getAttribute("aria-label"));
    expect(names).toEqual(["node A: runs check-1", "node B: runs check-2", "node C: runs check-3"]);
    expect(screen.getByRole("link", { name: "node B: runs check-2" }).querySelector("title")?.textContent).toBe("node B: runs check-2");
  });

  it("lets a narrow box shrink the drawing to seven tenths of its width, no further", () => {
    const { container } = draw();
    const svg = container.querySelector("svg") as SVGSVGElement;
    const width = Number(svg.getAttribute("width"));
    expect(width).toBeGreaterThan(0);
    expect(svg.style.minWidth).toBe(`${Math.round(width * 0.7)}px`);
  });

  it("marks the nodes and edges a refusal names, and only those", () => {
    const { container } = draw({ problems: [{ text: "it has a cycle", nodes: ["B"], edges: ["A->C"] }] });
    const marked = [...container.querySelectorAll("[data-problem]")].map((e) => e.getAttribute("data-node") ?? e.getAttribute("data-edge"));
    expect(marked).toEqual(["A->C", "B"]);
  });

  it("says so when there is nothing to draw", () => {
    draw({ graph: { nodes: [], edges: [] } });
    expect(screen.getByText("No nodes yet.")).toBeTruthy();
  });
});
