import { describe, expect, it } from "vitest";
import { cycles, edgeLabel, layoutGraph, pathOf, type PlacedNode } from "./layout";

const nodes = (...names: string[]) => names.map((name, i) => ({ name, event_id: i + 1 }));

function overlap(a: PlacedNode, b: PlacedNode): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

describe("layoutGraph", () => {
  it("puts each edge's target in a later rank than its source", () => {
    const layout = layoutGraph({
      nodes: nodes("fetch", "load", "alert", "report"),
      edges: [
        { source: "fetch", target: "load", kind: "on_success" },
        { source: "fetch", target: "alert", kind: "on_failure" },
        { source: "load", target: "report" },
      ],
    });
    const at = new Map(layout.nodes.map((n) => [n.name, n]));
    for (const edge of layout.edges) {
      const source = at.get(edge.source)!;
      const target = at.get(edge.target)!;
      expect(source.x + source.width).toBeLessThan(target.x);
    }
    expect(layout.problems).toEqual([]);
  });

  it("places no two nodes over each other, and all inside the drawing", () => {
    const layout = layoutGraph({
      nodes: nodes("a", "b", "c", "d", "e", "f"),
      edges: [
        { source: "a", target: "b" },
        { source: "a", target: "c" },
        { source: "a", target: "d" },
        { source: "b", target: "e" },
        { source: "c", target: "e" },
      ],
    });
    layout.nodes.forEach((a, i) =>
      layout.nodes.slice(i + 1).forEach((b) => expect(overlap(a, b), `${a.name} and ${b.name}`).toBe(false)),
    );
    for (const node of layout.nodes) {
      expect(node.x).toBeGreaterThanOrEqual(0);
      expect(node.y).toBeGreaterThanOrEqual(0);
      expect(node.x + node.width).toBeLessThanOrEqual(layout.width);
      expect(node.y + node.height).toBeLessThanOrEqual(layout.height);
    }
  });

  it("labels each edge with its kind and gives it a path and a label position", () => {
    const layout = layoutGraph({
      nodes: nodes("a", "b", "c", "d"),
      edges: [
        { source: "a", target: "b", kind: "on_condition", value: true },
        { source: "a", target: "c", kind: "on_condition", value: false },
        { source: "a", target: "d" },
      ],
    });
    expect(layout.edges.map((e) => e.label)).toEqual(["if true", "if false", "always"]);
    for (const edge of layout.edges) {
      expect(edge.points.length).toBeGreaterThanOrEqual(2);
      expect(edge.labelAt.x).toBeGreaterThan(0);
    }
    expect(layout.edges[2].kind).toBe("always");
    expect(layout.edges[2].value).toBe(true);
  });

  it("reports a cycle as the API names it, and still draws every node and edge", () => {
    const layout = layoutGraph({
      nodes: nodes("a", "b", "c"),
      edges: [
        { source: "a", target: "b" },
        { source: "b", target: "c" },
        { source: "c", target: "b" },
      ],
    });
    expect(layout.problems).toEqual(["it has a cycle: b -> c -> b"]);
    expect(layout.nodes).toHaveLength(3);
    expect(layout.edges).toHaveLength(3);
  });

  it("reports an edge to an unknown node or to its own source and leaves it out", () => {
    const layout = layoutGraph({
      nodes: nodes("a", "b"),
      edges: [
        { source: "a", target: "nowhere" },
        { source: "b", target: "b" },
        { source: "a", target: "b" },
      ],
    });
    expect(layout.problems).toEqual([
      "edge a -> nowhere: no node is named 'nowhere'",
      "edge b -> b links a node to itself",
    ]);
    expect(layout.nodes.map((n) => n.name)).toEqual(["a", "b"]);
    expect(layout.edges.map((e) => `${e.source}->${e.target}`)).toEqual(["a->b"]);
  });

  it("gives an empty drawing for an empty graph", () => {
    expect(layoutGraph({ nodes: [], edges: [] })).toEqual({ width: 0, height: 0, nodes: [], edges: [], problems: [] });
  });

  it("writes the label of a node's box with the given function", () => {
    const layout = layoutGraph({ nodes: nodes("a"), edges: [] }, (node) => `event ${node.event_id}`);
    expect(layout.nodes[0].label).toBe("event 1");
  });
});

describe("cycles", () => {
  it("finds one path per group of nodes leading back to themselves", () => {
    const found = cycles(["a", "b", "c", "d", "e"], [
      { source: "a", target: "b" },
      { source: "b", target: "a" },
      { source: "b", target: "c" },
      { source: "d", target: "e" },
      { source: "e", target: "d" },
    ]);
    expect(found).toEqual([
      ["a", "b"],
      ["d", "e"],
    ]);
  });

  it("finds none in a DAG", () => {
    expect(cycles(["a", "b", "c"], [{ source: "a", target: "b" }, { source: "a", target: "c" }, { source: "b", target: "c" }])).toEqual([]);
  });
});

describe("edgeLabel and pathOf", () => {
  it("reads every kind", () => {
    expect(["always", "on_success", "on_failure"].map((k) => edgeLabel(k as "always"))).toEqual(["always", "on success", "on failure"]);
    expect(edgeLabel("on_condition", false)).toBe("if false");
  });

  it("draws a path through the points", () => {
    expect(pathOf([{ x: 0, y: 1 }, { x: 2.25, y: 3 }])).toBe("M0.0,1.0 L2.3,3.0");
  });
});
